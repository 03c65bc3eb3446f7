"""Sessions and tokens: issue, authenticate, rotate refresh tokens, revoke."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.auth.errors import InvalidToken
from relaypacs.auth.models import AuthSession, User
from relaypacs.auth.schemas import TokenPair
from relaypacs.core import export, security
from relaypacs.core.config import CoreSettings
from relaypacs.core.database import execute_dml, utcnow
from relaypacs.core.dependencies import ClientInfo
from relaypacs.core.permissions import Role

# last_seen_at is written at most this often, so reads don't each cost a write.
_TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    session: AuthSession

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    @property
    def role(self) -> Role:
        return self.user.role


def _refresh_jti(settings: CoreSettings, session_id: uuid.UUID, generation: int) -> str:
    # Deterministic per (session, generation): a racing refresh can be answered
    # with the very token the winner received.
    return security.keyed_digest(settings, f"refresh:{session_id}:{generation}")[:32]


def _mint_refresh(settings: CoreSettings, auth_session: AuthSession) -> str:
    return security.encode_token(
        settings,
        subject=str(auth_session.user_id),
        token_type="refresh",
        issued_at=auth_session.refresh_issued_at,
        ttl=settings.refresh_token_ttl,
        jti=_refresh_jti(settings, auth_session.id, auth_session.refresh_generation),
        sid=str(auth_session.id),
        gen=auth_session.refresh_generation,
    )


def _token_pair(settings: CoreSettings, auth_session: AuthSession, refresh_token: str) -> TokenPair:
    now = utcnow()
    access = security.encode_token(
        settings,
        subject=str(auth_session.user_id),
        token_type="access",
        issued_at=now,
        ttl=settings.access_token_ttl,
        sid=str(auth_session.id),
    )
    return TokenPair(
        access_token=access,
        refresh_token=refresh_token,
        expires_in=int(settings.access_token_ttl.total_seconds()),
        refresh_expires_at=auth_session.refresh_issued_at + settings.refresh_token_ttl,
    )


async def create(
    session: AsyncSession, *, settings: CoreSettings, user: User, client: ClientInfo
) -> TokenPair:
    """Open a session for a user who has just proven who they are."""
    from user_agents import parse as parse_user_agent

    now = utcnow()
    agent = parse_user_agent(client.user_agent or "")
    auth_session = AuthSession(
        id=uuid.uuid4(),
        user_id=user.id,
        refresh_generation=0,
        refresh_issued_at=now.replace(microsecond=0),
        refresh_token_hash="",
        expires_at=now + settings.refresh_token_ttl,
        created_at=now,
        last_seen_at=now,
        ip=client.ip,
        user_agent=(client.user_agent or "")[:400] or None,
        device=(agent.get_device() if client.user_agent else None),
        browser=(agent.get_browser() if client.user_agent else None),
    )
    refresh = _mint_refresh(settings, auth_session)
    auth_session.refresh_token_hash = security.token_hash(refresh)
    session.add(auth_session)
    audit.record(
        session,
        action="login",
        actor_id=user.id,
        target_type="session",
        target_id=auth_session.id,
        ip=client.ip,
    )
    await session.commit()
    return _token_pair(settings, auth_session, refresh)


def _idle_expired(settings: CoreSettings, auth_session: AuthSession, now: datetime) -> bool:
    return auth_session.last_seen_at + settings.session_idle_timeout < now


def _is_live(settings: CoreSettings, auth_session: AuthSession, user: User, now: datetime) -> bool:
    """An active user's session, not revoked, expired or idle, opened after the last
    password change."""
    return (
        user.is_active
        and auth_session.revoked_at is None
        and auth_session.expires_at > now
        and not _idle_expired(settings, auth_session, now)
        and auth_session.created_at >= user.password_changed_at
    )


async def authenticate(session: AsyncSession, *, settings: CoreSettings, token: str) -> Principal:
    """Resolve an access token to a live session of an active user, or raise InvalidToken."""
    try:
        claims = security.decode_token(settings, token, "access")
        session_id = uuid.UUID(str(claims.extra.get("sid")))
        user_id = uuid.UUID(claims.sub)
    except (security.InvalidToken, ValueError):
        raise InvalidToken() from None
    return await authenticate_session(
        session, settings=settings, session_id=session_id, user_id=user_id
    )


async def authenticate_session(
    session: AsyncSession, *, settings: CoreSettings, session_id: uuid.UUID, user_id: uuid.UUID
) -> Principal:
    """The live session `session_id` of active user `user_id`, or raise InvalidToken."""
    row = (
        await session.execute(
            select(AuthSession, User)
            .join(User, User.id == AuthSession.user_id)
            .where(AuthSession.id == session_id)
        )
    ).first()
    if row is None:
        raise InvalidToken()
    auth_session, user = row
    now = utcnow()
    if user.id != user_id or not _is_live(settings, auth_session, user, now):
        raise InvalidToken()
    if now - auth_session.last_seen_at > _TOUCH_INTERVAL:
        auth_session.last_seen_at = now
        await session.commit()
    return Principal(user=user, session=auth_session)


async def live_roles(
    session: AsyncSession, *, settings: CoreSettings, session_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Role]:
    """Of `session_ids`, those still live (the rule of `authenticate_session`), each with
    its user's current role: one light query per 500 ids, nothing written."""
    now = utcnow()
    live: dict[uuid.UUID, Role] = {}
    ids = list(dict.fromkeys(session_ids))
    for start in range(0, len(ids), 500):
        rows = await session.execute(
            select(AuthSession.id, User.role)
            .join(User, User.id == AuthSession.user_id)
            .where(
                AuthSession.id.in_(ids[start : start + 500]),
                User.is_active.is_(True),
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > now,
                AuthSession.last_seen_at >= now - settings.session_idle_timeout,
                AuthSession.created_at >= User.password_changed_at,
            )
        )
        live.update({session_id: role for session_id, role in rows.tuples()})
    return live


async def refresh(
    session: AsyncSession, *, settings: CoreSettings, token: str, client: ClientInfo
) -> TokenPair:
    """Rotate the refresh token. Replaying a rotated one revokes the whole session."""
    try:
        claims = security.decode_token(settings, token, "refresh")
        session_id = uuid.UUID(str(claims.extra.get("sid")))
        generation = int(claims.extra.get("gen", -1))
    except (security.InvalidToken, ValueError, TypeError):
        raise InvalidToken() from None
    auth_session = await session.get(AuthSession, session_id)
    if auth_session is None or str(auth_session.user_id) != claims.sub:
        raise InvalidToken()
    user = await session.get(User, auth_session.user_id)
    now = utcnow()
    if (
        user is None
        or not user.is_active
        or auth_session.revoked_at is not None
        or auth_session.expires_at <= now
        or _idle_expired(settings, auth_session, now)
    ):
        raise InvalidToken()

    presented = security.token_hash(token)
    if (
        generation == auth_session.refresh_generation
        and presented == auth_session.refresh_token_hash
    ):
        issued_at = now.replace(microsecond=0)
        next_generation = generation + 1
        next_token = _mint_refresh(
            settings,
            AuthSession(
                id=auth_session.id,
                user_id=auth_session.user_id,
                refresh_generation=next_generation,
                refresh_issued_at=issued_at,
            ),
        )
        # A compare-and-set on the generation: of two racing refreshes exactly one rotates.
        rotated = await execute_dml(
            session,
            update(AuthSession)
            .where(AuthSession.id == auth_session.id, AuthSession.refresh_generation == generation)
            .values(
                refresh_generation=next_generation,
                refresh_token_hash=security.token_hash(next_token),
                previous_refresh_hash=presented,
                refresh_issued_at=issued_at,
                last_seen_at=now,
            )
            .execution_options(synchronize_session=False),
        )
        await session.commit()
        if rotated == 1:
            await session.refresh(auth_session)
            return _token_pair(settings, auth_session, next_token)
        await session.refresh(auth_session)

    within_grace = (
        generation == auth_session.refresh_generation - 1
        and presented == auth_session.previous_refresh_hash
        and now - auth_session.refresh_issued_at
        <= timedelta(seconds=settings.refresh_reuse_grace_seconds + 1)
    )
    if within_grace:
        current = _mint_refresh(settings, auth_session)
        if security.token_hash(current) == auth_session.refresh_token_hash:
            return _token_pair(settings, auth_session, current)

    await _revoke(session, auth_session, reason="refresh_reuse")
    audit.record(
        session,
        action="refresh_token_reuse",
        outcome="denied",
        actor_id=user.id,
        target_type="session",
        target_id=auth_session.id,
        ip=client.ip,
        details={"generation": generation},
    )
    await session.commit()
    raise InvalidToken()


async def _revoke(session: AsyncSession, auth_session: AuthSession, *, reason: str) -> None:
    if auth_session.revoked_at is None:
        auth_session.revoked_at = utcnow()
        auth_session.revoked_reason = reason


async def revoke(
    session: AsyncSession,
    *,
    auth_session: AuthSession,
    actor: User,
    reason: str,
    client: ClientInfo,
) -> None:
    """Revoke one session (logout, or the user closing one of their devices)."""
    await _revoke(session, auth_session, reason=reason)
    audit.record(
        session,
        action="session_revoked",
        actor_id=actor.id,
        target_type="session",
        target_id=auth_session.id,
        ip=client.ip,
        details={"reason": reason},
    )
    await session.commit()


async def revoke_all(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    reason: str,
    except_session_id: uuid.UUID | None = None,
) -> int:
    """Revoke every live session of a user (optionally keeping one); caller commits."""
    query = (
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if except_session_id is not None:
        query = query.where(AuthSession.id != except_session_id)
    return await execute_dml(session, query)


async def list_active(
    session: AsyncSession, *, settings: CoreSettings, user_id: uuid.UUID
) -> Sequence[AuthSession]:
    now = utcnow()
    rows = await session.scalars(
        select(AuthSession)
        .where(
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
            AuthSession.last_seen_at > now - settings.session_idle_timeout,
        )
        .order_by(AuthSession.last_seen_at.desc())
    )
    return rows.all()


async def get_owned(
    session: AsyncSession, *, session_id: uuid.UUID, user_id: uuid.UUID
) -> AuthSession | None:
    auth_session = await session.get(AuthSession, session_id)
    if auth_session is None or auth_session.user_id != user_id or auth_session.revoked_at:
        return None
    return auth_session


async def revoke_all_with_audit(
    session: AsyncSession, *, user: User, keep: uuid.UUID | None, client: ClientInfo
) -> int:
    revoked = await revoke_all(
        session, user_id=user.id, reason="revoke_all", except_session_id=keep
    )
    audit.record(
        session,
        action="sessions_revoked",
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
        ip=client.ip,
        details={"count": revoked},
    )
    await session.commit()
    return revoked


@export.section("sessions")
async def _export_sessions(session: AsyncSession, user_id: uuid.UUID) -> list[dict[str, object]]:
    rows = await session.scalars(
        select(AuthSession).where(AuthSession.user_id == user_id).order_by(AuthSession.created_at)
    )
    return [
        {
            "id": str(s.id),
            "created_at": s.created_at.isoformat(),
            "last_seen_at": s.last_seen_at.isoformat(),
            "ip": s.ip,
            "device": s.device,
            "browser": s.browser,
            "user_agent": s.user_agent,
            "revoked_at": s.revoked_at.isoformat() if s.revoked_at else None,
            "revoked_reason": s.revoked_reason,
        }
        for s in rows
    ]
