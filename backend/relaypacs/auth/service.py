"""Sign-up, sign-in (with lockout, rate limit and 2FA), password change."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.auth import accounts, mfa, passwords, verification
from relaypacs.auth import sessions as auth_sessions
from relaypacs.auth.errors import (
    EmailNotVerified,
    EmailTaken,
    InvalidCredentials,
    InvalidMfaCode,
    WrongPassword,
)
from relaypacs.auth.models import User
from relaypacs.auth.schemas import (
    ChangePasswordRequest,
    LoginRequest,
    MfaChallenge,
    RegisterRequest,
    TokenPair,
    UserCreate,
)
from relaypacs.core import rate_limit, security
from relaypacs.core.cache import Cache
from relaypacs.core.config import CoreSettings
from relaypacs.core.database import execute_dml, utcnow
from relaypacs.core.dependencies import ClientInfo
from relaypacs.core.errors import AppError
from relaypacs.core.logging import get_logger
from relaypacs.core.permissions import Role
from relaypacs.facilities import service as facilities

log = get_logger("relaypacs.auth")

MFA_TOKEN_TTL = timedelta(minutes=5)
REGISTERED_MESSAGE = (
    "If the address can be used, a verification link has been sent to it; "
    "open it to activate the account."
)


async def register(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    hasher: security.PasswordHasher,
    cache: Cache,
    data: RegisterRequest,
    client: ClientInfo,
) -> str:
    """Create an unverified clinician account with no facility access and mail the link;
    the facility and role asked for wait, as a request, for an admin's approval."""
    await rate_limit.limit_ip(cache, settings, "register", ip=client.ip)
    await rate_limit.limit_account(cache, settings, "register", account=data.email)
    requested = (
        await facilities.get_open_or_raise(session, facility_id=data.facility_id)
        if data.facility_id is not None
        else None
    )
    wants_more = requested is not None or data.role != Role.clinician
    create = UserCreate(
        email=data.email,
        username=data.username,
        full_name=data.full_name,
        role=Role.clinician,
        password=data.password,
    )
    try:
        user = await accounts.create(
            session,
            hasher=hasher,
            data=create,
            verified=False,
            actor_id=None,
            ip=client.ip,
            requested_facility=requested,
            requested_role=data.role if wants_more else None,
        )
    except EmailTaken:
        # Don't reveal which addresses have accounts: the same answer after the same work
        # (a bcrypt hash, a row written and committed, one mail), and the owner is told.
        await hasher.hash(data.password)
        await _record_existing_email_attempt(session, email=create.email, client=client)
        await verification.send_existing_account_notice(settings, email=create.email)
        return REGISTERED_MESSAGE
    token = await verification.issue(session, settings=settings, user=user, email=user.email)
    await session.commit()
    await verification.send(settings, email=user.email, full_name=user.full_name, token=token)
    return REGISTERED_MESSAGE


async def _record_existing_email_attempt(
    session: AsyncSession, *, email: str, client: ClientInfo
) -> None:
    owner = await accounts.get_by_login(session, login=email)
    audit.record(
        session,
        action="registration_with_existing_email",
        outcome="denied",
        target_type="user",
        target_id=owner.id if owner else None,
        ip=client.ip,
    )
    await session.commit()


async def resend_verification(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    cache: Cache,
    email: str,
    client: ClientInfo,
) -> str:
    await rate_limit.limit_ip(cache, settings, "verify_resend", ip=client.ip)
    await rate_limit.limit_account(cache, settings, "verify_resend", account=email)
    user = await accounts.get_by_login(session, login=email)
    if user is not None and user.email_verified_at is None and user.is_active:
        token = await verification.issue(session, settings=settings, user=user, email=user.email)
        await session.commit()
        await verification.send(settings, email=user.email, full_name=user.full_name, token=token)
    return REGISTERED_MESSAGE


async def _count_failure(session: AsyncSession, settings: CoreSettings, user: User) -> bool:
    """Count a failed attempt in one atomic UPDATE (parallel attempts all count); True when
    this one locks the account (the count then starts again)."""
    count = await session.scalar(
        update(User)
        .where(User.id == user.id)
        .values(failed_login_count=User.failed_login_count + 1)
        .returning(User.failed_login_count)
        .execution_options(synchronize_session=False)
    )
    if count is None or count < settings.login_max_failures:
        return False
    locked = await execute_dml(
        session,
        update(User)
        .where(User.id == user.id, User.failed_login_count >= settings.login_max_failures)
        .values(
            failed_login_count=0,
            locked_until=utcnow() + timedelta(minutes=settings.login_lockout_minutes),
        )
        .execution_options(synchronize_session=False),
    )
    return locked == 1


async def _reset_failures(session: AsyncSession, user: User) -> None:
    """A completed sign-in starts the count again (in the database, not a stale copy)."""
    await session.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_login_count=0, locked_until=None)
        .execution_options(synchronize_session=False)
    )


async def _record_failure(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    user: User | None,
    client: ClientInfo,
    reason: str,
) -> None:
    if user is not None and reason != "locked" and await _count_failure(session, settings, user):
        audit.record(
            session,
            action="account_locked",
            outcome="denied",
            actor_id=user.id,
            target_type="user",
            target_id=user.id,
            ip=client.ip,
            details={"minutes": settings.login_lockout_minutes},
        )
    audit.record(
        session,
        action="login",
        outcome="failure",
        actor_id=user.id if user else None,
        ip=client.ip,
        details={"reason": reason},
    )
    await session.commit()


def _is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


async def login(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    hasher: security.PasswordHasher,
    cache: Cache,
    data: LoginRequest,
    client: ClientInfo,
) -> TokenPair | MfaChallenge:
    """Password step: tokens, or an MFA challenge when 2FA is on."""
    await rate_limit.limit_ip(cache, settings, "login", ip=client.ip)
    user = await accounts.get_by_login(session, login=data.login)
    # Per account, whichever name it was given by (unknown names are counted alike).
    await rate_limit.limit_account(
        cache, settings, "login", account=str(user.id) if user else data.login
    )
    # Always one bcrypt verification, so unknown and locked accounts take as long.
    password_ok = await hasher.verify(data.password, user.password_hash if user else None)
    if user is None:
        await _record_failure(
            session, settings=settings, user=None, client=client, reason="unknown_account"
        )
        raise InvalidCredentials()
    if _is_locked(user):
        await _record_failure(session, settings=settings, user=user, client=client, reason="locked")
        raise InvalidCredentials()
    if not password_ok:
        await _record_failure(
            session, settings=settings, user=user, client=client, reason="bad_password"
        )
        raise InvalidCredentials()
    if not user.is_active:
        await _record_failure(
            session, settings=settings, user=user, client=client, reason="disabled"
        )
        raise InvalidCredentials()
    if user.email_verified_at is None:
        raise EmailNotVerified()
    if user.mfa_enabled:
        # The failure count is reset only once the second factor succeeds: a known
        # password must not wipe out the wrong codes tried before it.
        token = security.encode_token(
            settings, subject=str(user.id), token_type="mfa", issued_at=utcnow(), ttl=MFA_TOKEN_TTL
        )
        return MfaChallenge(mfa_token=token, expires_in=int(MFA_TOKEN_TTL.total_seconds()))
    await _reset_failures(session, user)
    return await auth_sessions.create(session, settings=settings, user=user, client=client)


async def login_second_factor(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    cache: Cache,
    mfa_token: str,
    code: str,
    client: ClientInfo,
) -> TokenPair:
    """Second step: a TOTP code (once per time step) or an unused backup code."""
    await rate_limit.limit_ip(cache, settings, "login_2fa", ip=client.ip)
    try:
        claims = security.decode_token(settings, mfa_token, "mfa")
        user_id = uuid.UUID(claims.sub)
    except (security.InvalidToken, ValueError):
        raise InvalidMfaCode("The sign-in step expired; enter your password again.") from None
    await rate_limit.limit_account(cache, settings, "login_2fa", account=str(user_id))
    user = await accounts.get(session, user_id=user_id)
    if user is None or not user.is_active or not user.mfa_enabled or _is_locked(user):
        raise InvalidMfaCode()
    factor = await mfa.verify_second_factor(session, settings=settings, user=user, code=code)
    if factor is None:
        await _record_failure(
            session, settings=settings, user=user, client=client, reason="bad_mfa_code"
        )
        raise InvalidMfaCode()
    # The challenge is single-use: a second success with it is refused.
    if not await cache.add(f"mfa-used:{claims.jti}", "1", int(MFA_TOKEN_TTL.total_seconds())):
        await session.rollback()
        raise InvalidMfaCode()
    await _reset_failures(session, user)
    if factor == "backup_code":
        audit.record(
            session,
            action="backup_code_used",
            actor_id=user.id,
            target_type="user",
            target_id=user.id,
            ip=client.ip,
        )
    return await auth_sessions.create(session, settings=settings, user=user, client=client)


async def change_password(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    hasher: security.PasswordHasher,
    cache: Cache,
    user: User,
    data: ChangePasswordRequest,
    client: ClientInfo,
) -> int:
    """Change the password; every session, this one included, must sign in again."""
    await rate_limit.limit_ip(cache, settings, "password_change", ip=client.ip)
    await rate_limit.limit_account(cache, settings, "password_change", account=str(user.id))
    if not await hasher.verify(data.current_password, user.password_hash):
        audit.record(
            session,
            action="password_change",
            outcome="failure",
            actor_id=user.id,
            target_type="user",
            target_id=user.id,
            ip=client.ip,
        )
        await session.commit()
        raise WrongPassword()
    passwords.check_strength(
        data.new_password, username=user.username, email=user.email, full_name=user.full_name
    )
    user.password_hash = await hasher.hash(data.new_password)
    # Sessions opened before this instant stop working (also checked per request).
    user.password_changed_at = utcnow()
    revoked = await auth_sessions.revoke_all(session, user_id=user.id, reason="password_changed")
    audit.record(
        session,
        action="password_changed",
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
        ip=client.ip,
        details={"sessions_revoked": revoked},
    )
    await session.commit()
    return revoked


async def ensure_bootstrap_admin(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    hasher: security.PasswordHasher,
) -> User | None:
    """Create the first admin from RELAYPACS_BOOTSTRAP_ADMIN_* when no admin exists yet."""
    if not settings.bootstrap_admin_email or settings.bootstrap_admin_password is None:
        return None
    if await accounts.count_admins(session):
        return None
    email = accounts.normalize_email(settings.bootstrap_admin_email)
    data = UserCreate(
        email=email,
        username=email.split("@")[0][:64] or "admin",
        full_name="Administrator",
        role=Role.admin,
        password=settings.bootstrap_admin_password.get_secret_value(),
    )
    try:
        user = await accounts.create(
            session, hasher=hasher, data=data, verified=True, actor_id=None
        )
        await session.commit()
    except AppError as exc:
        await session.rollback()
        log.error("bootstrap_admin_not_created", code=exc.code, reason=exc.message)
        return None
    log.info("bootstrap_admin_created", user_id=str(user.id))
    return user
