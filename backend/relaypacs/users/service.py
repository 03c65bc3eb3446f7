"""Account management above auth: the user list, profiles, preferences and the GDPR
export. Changes to the account rows themselves are `relaypacs.auth.accounts`."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.auth import sessions as auth_sessions
from relaypacs.auth.models import User
from relaypacs.auth.schemas import SessionList, SessionRead, membership_of
from relaypacs.core import export
from relaypacs.core.config import CoreSettings
from relaypacs.core.database import utcnow
from relaypacs.core.dependencies import ClientInfo
from relaypacs.core.pagination import Rows, Window, paginate
from relaypacs.core.permissions import Role
from relaypacs.users.models import UserPreference
from relaypacs.users.schemas import (
    NotificationPreference,
    Preferences,
    PreferencesUpdate,
    ProfileRead,
    UserRead,
)


async def list(
    session: AsyncSession,
    *,
    window: Window,
    role: Role | None,
    facility_id: uuid.UUID | None,
    pending: bool | None,
    active: bool | None,
    q: str | None = None,
) -> Rows:
    query = select(User)
    if q and q.strip():
        text = q.strip()
        query = query.where(
            or_(
                User.username.icontains(text, autoescape=True),
                User.email.icontains(text, autoescape=True),
                User.full_name.icontains(text, autoescape=True),
            )
        )
    if role is not None:
        query = query.where(User.role == role)
    if facility_id is not None:
        query = query.where(User.facility_id == facility_id)
    if pending is not None:
        query = query.where(
            User.membership_requested_at.is_not(None)
            if pending
            else User.membership_requested_at.is_(None)
        )
    if active is not None:
        query = query.where(User.is_active.is_(active))
    return await paginate(session, query, window, User.created_at, User.id)


async def sessions_of(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    user: User,
    actor: User,
    client: ClientInfo,
) -> SessionList:
    """A user's active sessions, as an admin sees them (the viewing is audited)."""
    rows = await auth_sessions.list_active(session, settings=settings, user_id=user.id)
    audit.record(
        session,
        action="user_sessions_viewed",
        actor_id=actor.id,
        target_type="user",
        target_id=user.id,
        ip=client.ip,
        details={"count": len(rows)},
    )
    await session.commit()
    return SessionList(items=[SessionRead.of(s, current=False) for s in rows])


def profile(user: User) -> ProfileRead:
    return ProfileRead(
        email=user.email,
        pending_email=user.pending_email,
        username=user.username,
        full_name=user.full_name,
        facility=user.facility,
        role=user.role,
        membership=membership_of(user),
    )


async def get_preferences(session: AsyncSession, *, user_id: uuid.UUID) -> Preferences:
    row = await session.get(UserPreference, user_id)
    if row is None:
        return Preferences()
    return Preferences(
        default_service_level=row.default_service_level,
        chunk_size=row.chunk_size,
        duplicate_check=row.duplicate_check,
        notifications=Preferences().notifications | dict(row.notifications or {}),
    )


async def update_preferences(
    session: AsyncSession, *, user: User, changes: PreferencesUpdate
) -> Preferences:
    current = await get_preferences(session, user_id=user.id)
    merged = current.model_copy(
        update=changes.model_dump(exclude_none=True, exclude={"notifications"})
    )
    if changes.notifications:
        merged.notifications = current.notifications | changes.notifications
    row = await session.get(UserPreference, user.id) or UserPreference(user_id=user.id)
    row.default_service_level = merged.default_service_level
    row.chunk_size = merged.chunk_size
    row.duplicate_check = merged.duplicate_check
    row.notifications = {k: v.model_dump() for k, v in merged.notifications.items()}
    session.add(row)
    await session.commit()
    return merged


async def build_export(session: AsyncSession, *, user: User, client: ClientInfo) -> dict[str, Any]:
    """Everything stored about the user, from every domain (GDPR Art. 15/20)."""
    audit.record(
        session,
        action="data_exported",
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
        ip=client.ip,
    )
    await session.commit()
    return {
        "generated_at": utcnow(),
        "user": UserRead.model_validate(user).model_dump(mode="json")
        | {"pending_email": user.pending_email},
        "sections": await export.build(session, user.id),
    }


@export.section("preferences")
async def _export_preferences(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    return (await get_preferences(session, user_id=user_id)).model_dump()


async def notification_channels(
    session: AsyncSession, *, user_ids: Sequence[uuid.UUID], type: str
) -> dict[uuid.UUID, NotificationPreference]:
    """How each user wants notifications of `type` (in-app, push, email); defaults if unset."""
    rows = await session.scalars(select(UserPreference).where(UserPreference.user_id.in_(user_ids)))
    chosen = {
        row.user_id: NotificationPreference.model_validate((row.notifications or {}).get(type, {}))
        for row in rows
    }
    return {user_id: chosen.get(user_id, NotificationPreference()) for user_id in user_ids}


async def active_user_ids(session: AsyncSession, *, role: Role) -> builtins.list[uuid.UUID]:
    """Every enabled account with `role`."""
    rows = await session.scalars(select(User.id).where(User.role == role, User.is_active.is_(True)))
    return builtins.list(rows)


async def emails_of(
    session: AsyncSession, *, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Verified email addresses of enabled accounts."""
    rows = await session.execute(
        select(User.id, User.email).where(
            User.id.in_(user_ids), User.is_active.is_(True), User.email_verified_at.is_not(None)
        )
    )
    return {row.id: row.email for row in rows}
