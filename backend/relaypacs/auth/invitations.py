"""Invitations: an admin creates an account without a password and mails a single-use,
expiring link (the token is stored hashed); the invitee sets their password with it,
which also verifies the address it was sent to. Until then the account cannot sign in:
its password is a random secret nobody holds."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.auth import accounts, passwords
from relaypacs.auth.errors import InvalidInvitation, NoPendingInvitation
from relaypacs.auth.models import Invitation, User
from relaypacs.auth.schemas import InvitationCreate, UserCreate
from relaypacs.core import mail, security
from relaypacs.core.config import CoreSettings
from relaypacs.core.database import execute_dml, utcnow
from relaypacs.core.dependencies import ClientInfo
from relaypacs.core.security import PasswordHasher


def invitation_link(settings: CoreSettings, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/accept-invitation?token={token}"


async def invite(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    hasher: PasswordHasher,
    data: InvitationCreate,
    actor: User,
    client: ClientInfo,
) -> User:
    """Create the account (unverified, no usable password), mail the link, commit."""
    user = await accounts.create(
        session,
        hasher=hasher,
        data=UserCreate(**data.model_dump(), password=security.new_opaque_token()),
        verified=False,
        actor_id=actor.id,
        ip=client.ip,
    )
    await _issue(
        session, settings=settings, user=user, actor=actor, client=client, action="user_invited"
    )
    return user


async def reissue(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    user: User,
    actor: User,
    client: ClientInfo,
) -> User:
    """A new link for an invited account that has not used its invitation (lost or expired):
    every earlier link stops working. 409 no_pending_invitation for any other account."""
    invited = await session.scalar(
        select(Invitation.id).where(Invitation.user_id == user.id).limit(1)
    )
    accepted = await session.scalar(
        select(Invitation.id)
        .where(Invitation.user_id == user.id, Invitation.used_at.is_not(None))
        .limit(1)
    )
    if invited is None or accepted is not None or not user.is_active:
        raise NoPendingInvitation()
    now = utcnow()
    await execute_dml(
        session,
        update(Invitation)
        .where(Invitation.user_id == user.id, Invitation.used_at.is_(None))
        .values(expires_at=now),
    )
    await _issue(
        session, settings=settings, user=user, actor=actor, client=client, action="user_reinvited"
    )
    return user


async def _issue(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    user: User,
    actor: User,
    client: ClientInfo,
    action: str,
) -> None:
    """Store a new link's hash, audit `action`, commit, then mail the link."""
    token = security.new_opaque_token()
    session.add(
        Invitation(
            user_id=user.id,
            token_hash=security.token_hash(token),
            invited_by=actor.id,
            expires_at=utcnow() + timedelta(hours=settings.invitation_ttl_hours),
        )
    )
    audit.record(
        session,
        action=action,
        actor_id=actor.id,
        target_type="user",
        target_id=user.id,
        ip=client.ip,
        details={"role": user.role.value, "ttl_hours": settings.invitation_ttl_hours},
    )
    await session.commit()
    await session.refresh(user)
    await mail.send(
        settings,
        to=user.email,
        subject="You are invited to RelayPACS",
        body=(
            f"Hello {user.full_name},\n\n{actor.full_name} created a RelayPACS account for you "
            f"(username {user.username}). Choose your password by opening:\n\n"
            f"{invitation_link(settings, token)}\n\nThe link works once and expires in "
            f"{settings.invitation_ttl_hours} hours. If you did not expect it, ignore this "
            "message.\n"
        ),
    )


async def accept(
    session: AsyncSession,
    *,
    hasher: PasswordHasher,
    token: str,
    password: str,
    client: ClientInfo,
) -> User:
    """Consume the link: the account gets its password and a verified address."""
    now = utcnow()
    record = await session.scalar(
        select(Invitation).where(Invitation.token_hash == security.token_hash(token))
    )
    if record is None or record.used_at is not None or record.expires_at <= now:
        raise InvalidInvitation()
    user = await session.get(User, record.user_id)
    if user is None or not user.is_active:
        raise InvalidInvitation()
    passwords.check_strength(
        password, username=user.username, email=user.email, full_name=user.full_name
    )
    password_hash = await hasher.hash(password)
    claimed = await execute_dml(
        session,
        update(Invitation)
        .where(Invitation.id == record.id, Invitation.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False),
    )
    if claimed != 1:  # a concurrent use won
        await session.rollback()
        raise InvalidInvitation()
    user.password_hash = password_hash
    user.password_changed_at = now
    user.email_verified_at = user.email_verified_at or now
    audit.record(
        session,
        action="invitation_accepted",
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
        ip=client.ip,
    )
    await session.commit()
    return user
