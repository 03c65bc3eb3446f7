"""TOTP two-factor authentication (RFC 6238) with single-use backup codes."""

from __future__ import annotations

import hmac
import io
import re
import secrets

import pyotp
import segno
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.auth.errors import MfaAlreadyEnabled, MfaNotEnabled, MfaSetupMissing, WrongMfaCode
from relaypacs.auth.models import BackupCode, User
from relaypacs.auth.schemas import BackupCodes, MfaSetup, MfaStatus
from relaypacs.core import security
from relaypacs.core.config import CoreSettings
from relaypacs.core.database import execute_dml, utcnow
from relaypacs.core.dependencies import ClientInfo

ISSUER = "RelayPACS"
BACKUP_CODE_COUNT = 10
_BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_TOTP_CODE = re.compile(r"^\d{6}$")


def _backup_digest(settings: CoreSettings, code: str) -> str:
    normalized = re.sub(r"[\s-]", "", code).lower()
    return security.keyed_digest(settings, f"backup:{normalized}")


def _new_backup_code() -> str:
    raw = "".join(secrets.choice(_BACKUP_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


async def consume_totp(session: AsyncSession, *, user: User, code: str) -> bool:
    """Accept a TOTP code once: ±1 step of drift, never a step at or before the last used."""
    if not user.totp_secret or not _TOTP_CODE.match(code):
        return False
    totp = pyotp.TOTP(user.totp_secret)
    now_step = totp.timecode(utcnow())
    for step in (now_step - 1, now_step, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            # Compare-and-set so a replay, even a concurrent one, finds the step used.
            updated = await execute_dml(
                session,
                update(User)
                .where(
                    User.id == user.id,
                    or_(User.totp_last_step.is_(None), User.totp_last_step < step),
                )
                .values(totp_last_step=step)
                .execution_options(synchronize_session=False),
            )
            if updated == 1:
                user.totp_last_step = step
                return True
            return False
    return False


async def consume_backup_code(
    session: AsyncSession, *, settings: CoreSettings, user: User, code: str
) -> bool:
    used = await execute_dml(
        session,
        update(BackupCode)
        .where(
            BackupCode.user_id == user.id,
            BackupCode.code_hash == _backup_digest(settings, code),
            BackupCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False),
    )
    return used == 1


async def verify_second_factor(
    session: AsyncSession, *, settings: CoreSettings, user: User, code: str
) -> str | None:
    """Return the factor used ("totp" or "backup_code"), or None; caller commits."""
    if _TOTP_CODE.match(code.strip()):
        return "totp" if await consume_totp(session, user=user, code=code.strip()) else None
    if await consume_backup_code(session, settings=settings, user=user, code=code):
        return "backup_code"
    return None


async def _replace_backup_codes(
    session: AsyncSession, *, settings: CoreSettings, user: User
) -> list[str]:
    """A new set of backup codes; every earlier one stops working. Caller commits."""
    codes = [_new_backup_code() for _ in range(BACKUP_CODE_COUNT)]
    await session.execute(delete(BackupCode).where(BackupCode.user_id == user.id))
    session.add_all(
        BackupCode(user_id=user.id, code_hash=_backup_digest(settings, c)) for c in codes
    )
    return codes


async def regenerate_backup_codes(
    session: AsyncSession, *, settings: CoreSettings, user: User, client: ClientInfo
) -> BackupCodes:
    """Replace the backup codes (e.g. when they are used up or may have been seen)."""
    if not user.mfa_enabled:
        raise MfaNotEnabled()
    codes = await _replace_backup_codes(session, settings=settings, user=user)
    audit.record(
        session,
        action="backup_codes_regenerated",
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
        ip=client.ip,
    )
    await session.commit()
    return BackupCodes(backup_codes=codes)


async def setup(session: AsyncSession, *, user: User, client: ClientInfo) -> MfaSetup:
    """Start enrolment: a fresh secret, not active until confirmed by `enable`."""
    if user.mfa_enabled:
        raise MfaAlreadyEnabled()
    user.totp_secret = pyotp.random_base32()
    user.totp_last_step = None
    audit.record(
        session,
        action="mfa_setup",
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
        ip=client.ip,
    )
    await session.commit()
    uri = pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return MfaSetup(secret=user.totp_secret, otpauth_uri=uri, qr_svg=_qr_svg(uri))


def _qr_svg(uri: str) -> str:
    """The QR code as a standalone SVG document (with its namespace, so it also renders as
    an image, e.g. an <img> with a data: URL, not only inline in HTML)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, xmldecl=False, svgns=True, nl=False)
    return out.getvalue().decode()


async def enable(
    session: AsyncSession, *, settings: CoreSettings, user: User, code: str, client: ClientInfo
) -> BackupCodes:
    """Confirm enrolment with a valid code; returns backup codes, shown only this once."""
    if user.mfa_enabled:
        raise MfaAlreadyEnabled()
    if not user.totp_secret:
        raise MfaSetupMissing()
    if not await consume_totp(session, user=user, code=code.strip()):
        audit.record(
            session,
            action="mfa_enable",
            outcome="failure",
            actor_id=user.id,
            target_type="user",
            target_id=user.id,
            ip=client.ip,
        )
        await session.commit()
        raise WrongMfaCode()
    codes = await _replace_backup_codes(session, settings=settings, user=user)
    user.totp_enabled_at = utcnow()
    audit.record(
        session,
        action="mfa_enabled",
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
        ip=client.ip,
    )
    await session.commit()
    return BackupCodes(backup_codes=codes)


async def disable(session: AsyncSession, *, user: User, code: str, client: ClientInfo) -> None:
    """Turn 2FA off; needs a current TOTP code (not a backup code)."""
    if not user.mfa_enabled:
        raise MfaNotEnabled()
    if not await consume_totp(session, user=user, code=code.strip()):
        audit.record(
            session,
            action="mfa_disable",
            outcome="failure",
            actor_id=user.id,
            target_type="user",
            target_id=user.id,
            ip=client.ip,
        )
        await session.commit()
        raise WrongMfaCode()
    user.totp_secret = None
    user.totp_enabled_at = None
    await session.execute(delete(BackupCode).where(BackupCode.user_id == user.id))
    audit.record(
        session,
        action="mfa_disabled",
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
        ip=client.ip,
    )
    await session.commit()


async def remaining_backup_codes(session: AsyncSession, *, user: User) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(BackupCode)
        .where(BackupCode.user_id == user.id, BackupCode.used_at.is_(None))
    )
    return count or 0


async def status(session: AsyncSession, *, user: User) -> MfaStatus:
    """Whether 2FA is on and how many backup codes are left."""
    remaining = await remaining_backup_codes(session, user=user) if user.mfa_enabled else 0
    return MfaStatus(
        enabled=user.mfa_enabled, enabled_at=user.totp_enabled_at, backup_codes_remaining=remaining
    )
