"""Email verification: single-use random tokens (stored hashed), valid 24 h by default.

A token is bound to the address it was mailed to: it verifies that address and no other.
For an email change, only the token of the latest request works (an earlier request's
token is withdrawn when a new one is made, and refused if its address is no longer the
pending one), and the previous address is told once the change is made."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.auth.errors import EmailTaken, InvalidVerificationToken
from relaypacs.auth.models import EmailToken, User
from relaypacs.core import mail, security
from relaypacs.core.config import CoreSettings
from relaypacs.core.database import execute_dml, utcnow


def verification_link(settings: CoreSettings, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/api/auth/verify-email?token={token}"


async def issue(session: AsyncSession, *, settings: CoreSettings, user: User, email: str) -> str:
    """Create a token for `email` (the account's, or a new one being confirmed); caller commits."""
    token = security.new_opaque_token()
    session.add(
        EmailToken(
            user_id=user.id,
            token_hash=security.token_hash(token),
            email=email,
            expires_at=utcnow() + timedelta(hours=settings.email_verification_ttl_hours),
        )
    )
    return token


async def withdraw_email_changes(session: AsyncSession, *, user: User) -> None:
    """Unused tokens of earlier email-change requests stop working; caller commits."""
    await session.execute(
        delete(EmailToken)
        .where(
            EmailToken.user_id == user.id,
            EmailToken.used_at.is_(None),
            EmailToken.email != user.email,
        )
        .execution_options(synchronize_session=False)
    )


def _masked(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


async def send_email_changed_notice(
    settings: CoreSettings, *, old_email: str, new_email: str, full_name: str
) -> None:
    await mail.send(
        settings,
        to=old_email,
        subject="Your RelayPACS email address was changed",
        body=(
            f"Hello {full_name},\n\nThe email address of your RelayPACS account was changed "
            f"from this address to {_masked(new_email)}. Messages about your account now go "
            "there. If you did not make this change, contact your administrator at once.\n"
        ),
    )


async def send(settings: CoreSettings, *, email: str, full_name: str, token: str) -> None:
    link = verification_link(settings, token)
    await mail.send(
        settings,
        to=email,
        subject="Confirm your RelayPACS email address",
        body=(
            f"Hello {full_name},\n\nConfirm this email address for RelayPACS by opening:\n\n"
            f"{link}\n\nThe link works once and expires in "
            f"{settings.email_verification_ttl_hours} hours. If you did not ask for it, "
            "ignore this message.\n"
        ),
    )


async def send_existing_account_notice(settings: CoreSettings, *, email: str) -> None:
    await mail.send(
        settings,
        to=email,
        subject="RelayPACS registration attempt",
        body=(
            "Someone (perhaps you) tried to register a RelayPACS account with this email "
            "address, which already has an account. Sign in instead, or ask an "
            "administrator to reset your password. If it was not you, ignore this message.\n"
        ),
    )


async def verify(
    session: AsyncSession, *, settings: CoreSettings, token: str, ip: str | None
) -> User:
    """Consume a token: the account (or its new address) becomes verified."""
    now = utcnow()
    record = await session.scalar(
        select(EmailToken).where(EmailToken.token_hash == security.token_hash(token))
    )
    if record is None or record.used_at is not None or record.expires_at <= now:
        raise InvalidVerificationToken()
    claimed = await execute_dml(
        session,
        update(EmailToken)
        .where(EmailToken.id == record.id, EmailToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False),
    )
    if claimed != 1:
        raise InvalidVerificationToken()
    user = await session.get(User, record.user_id)
    if user is None:
        raise InvalidVerificationToken()
    old_email: str | None = None
    if record.email != user.email:
        if record.email != user.pending_email:  # superseded by a later change request
            await session.rollback()
            raise InvalidVerificationToken()
        taken = await session.scalar(
            select(func.count()).select_from(User).where(User.email == record.email)
        )
        if taken:
            await session.rollback()
            raise EmailTaken()
        audit.record(
            session,
            action="email_changed",
            actor_id=user.id,
            target_type="user",
            target_id=user.id,
            ip=ip,
        )
        old_email = user.email
        user.email = record.email
        user.pending_email = None
    user.email_verified_at = user.email_verified_at or now
    audit.record(
        session,
        action="email_verified",
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
        ip=ip,
    )
    await session.commit()
    if old_email is not None:
        await send_email_changed_notice(
            settings, old_email=old_email, new_email=user.email, full_name=user.full_name
        )
    return user
