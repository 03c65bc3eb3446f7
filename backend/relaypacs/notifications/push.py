"""Web Push (RFC 8030/8291/8292) with pywebpush. Being written; interface fixed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.core.config import Settings
from relaypacs.core.database import Database
from relaypacs.notifications.models import PushSubscription
from relaypacs.notifications.schemas import PushSubscriptionCreate
from relaypacs.users.models import User


def enabled(settings: Settings) -> bool:
    return bool(settings.vapid_private_key.get_secret_value() and settings.vapid_public_key)


async def subscribe(
    session: AsyncSession,
    *,
    settings: Settings,
    user: User,
    data: PushSubscriptionCreate,
    user_agent: str | None,
) -> PushSubscription:
    raise NotImplementedError


async def unsubscribe(session: AsyncSession, *, user: User, endpoint: str) -> None:
    raise NotImplementedError


async def list_for_user(session: AsyncSession, *, user: User) -> Sequence[PushSubscription]:
    raise NotImplementedError


async def send_to_user(
    *, settings: Settings, database: Database, user_id: uuid.UUID, payload: dict[str, Any]
) -> None:
    raise NotImplementedError
