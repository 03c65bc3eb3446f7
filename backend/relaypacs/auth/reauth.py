"""Recent authentication for account changes.

Changing the email address, setting up, enabling or disabling 2FA, regenerating backup
codes and revoking all sessions need the user to have proven who they are in the last
REAUTH_WINDOW_MINUTES: by signing in (the session was opened then), or by
`POST /api/auth/reauth`, which checks the password, and with 2FA on a TOTP or backup
code too (the same proof as signing in), and stamps this session. Otherwise those
operations answer 403 `reauthentication_required`. The stamp lives in the shared cache
(Redis across replicas), keyed by the session, and expires with the window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.auth import mfa
from relaypacs.auth.errors import (
    MfaCodeRequired,
    ReauthenticationRequired,
    WrongMfaCode,
    WrongPassword,
)
from relaypacs.auth.sessions import Principal
from relaypacs.core import rate_limit
from relaypacs.core.cache import Cache
from relaypacs.core.config import CoreSettings
from relaypacs.core.database import utcnow
from relaypacs.core.dependencies import ClientInfo
from relaypacs.core.security import PasswordHasher


def _key(principal: Principal) -> str:
    return f"reauth:{principal.session.id}"


def _window(settings: CoreSettings) -> timedelta:
    return timedelta(minutes=settings.reauth_window_minutes)


async def is_recent(cache: Cache, *, settings: CoreSettings, principal: Principal) -> bool:
    """Did this session sign in, or re-authenticate, within the window?"""
    if principal.session.created_at >= utcnow() - _window(settings):
        return True
    return await cache.get(_key(principal)) is not None


async def ensure_recent(cache: Cache, *, settings: CoreSettings, principal: Principal) -> None:
    if not await is_recent(cache, settings=settings, principal=principal):
        raise ReauthenticationRequired(window_minutes=settings.reauth_window_minutes)


async def _failed(
    session: AsyncSession, *, principal: Principal, client: ClientInfo, reason: str
) -> None:
    audit.record(
        session,
        action="reauth",
        outcome="failure",
        actor_id=principal.user.id,
        target_type="session",
        target_id=principal.session.id,
        ip=client.ip,
        details={"reason": reason},
    )
    await session.commit()


async def reauthenticate(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    hasher: PasswordHasher,
    cache: Cache,
    principal: Principal,
    password: str,
    code: str | None,
    client: ClientInfo,
) -> datetime:
    """Check the password (and the second factor when 2FA is on); the session counts as
    recently authenticated until the returned time."""
    user = principal.user
    await rate_limit.limit_ip(cache, settings, "reauth", ip=client.ip)
    await rate_limit.limit_account(cache, settings, "reauth", account=str(user.id))
    if not await hasher.verify(password, user.password_hash):
        await _failed(session, principal=principal, client=client, reason="bad_password")
        raise WrongPassword()
    if user.mfa_enabled:
        if not code:
            raise MfaCodeRequired()
        factor = await mfa.verify_second_factor(session, settings=settings, user=user, code=code)
        if factor is None:
            await _failed(session, principal=principal, client=client, reason="bad_mfa_code")
            raise WrongMfaCode()
    window = _window(settings)
    await cache.set(_key(principal), utcnow().isoformat(), int(window.total_seconds()))
    audit.record(
        session,
        action="reauth",
        actor_id=user.id,
        target_type="session",
        target_id=principal.session.id,
        ip=client.ip,
        details={"second_factor": user.mfa_enabled},
    )
    await session.commit()
    return utcnow() + window
