"""Notifications: stored per user, streamed (SSE), pushed (Web Push) and optionally mailed.

Producers call `notify` / `broadcast` inside their own transaction and get back a
`Dispatch`; after their commit they hand it to `Notifier.deliver`. So a notification exists
exactly when the change that caused it was committed, and live delivery never runs ahead
of the database (a client that connects later replays from `stream_event`).
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.auth import sessions as auth_sessions
from relaypacs.auth.models import User
from relaypacs.core import export, mail
from relaypacs.core.config import CoreSettings
from relaypacs.core.database import Database, utcnow
from relaypacs.core.logging import get_logger
from relaypacs.core.pagination import Rows, Window, paginate
from relaypacs.core.permissions import Role
from relaypacs.notifications import push
from relaypacs.notifications.errors import NotificationNotFound
from relaypacs.notifications.hub import READ_BATCH, Hub, StreamMessage
from relaypacs.notifications.models import Notification, StreamEvent
from relaypacs.notifications.schemas import NotificationRead
from relaypacs.users import service as users_service

log = get_logger("relaypacs.notifications")

NOTIFICATION_EVENT = "notification"


@dataclass
class Dispatch:
    """What to deliver once the producing transaction has committed."""

    events: builtins.list[StreamEvent] = field(default_factory=builtins.list)
    pushes: builtins.list[tuple[uuid.UUID, dict[str, Any]]] = field(default_factory=builtins.list)
    emails: builtins.list[tuple[uuid.UUID, str, str]] = field(default_factory=builtins.list)

    def extend(self, other: Dispatch) -> Dispatch:
        self.events += other.events
        self.pushes += other.pushes
        self.emails += other.emails
        return self


def to_read(notification: Notification) -> NotificationRead:
    return NotificationRead(
        id=notification.id,
        type=notification.type,
        title=notification.title,
        body=notification.body,
        upload_id=notification.upload_id,
        report_id=notification.report_id,
        read=notification.read_at is not None,
        read_at=notification.read_at,
        created_at=notification.created_at,
    )


async def notify(
    session: AsyncSession,
    *,
    user_ids: Iterable[uuid.UUID],
    type: str,
    title: str,
    body: str,
    upload_id: uuid.UUID | None = None,
    report_id: uuid.UUID | None = None,
) -> Dispatch:
    """Create a notification for each user, as their preferences for `type` allow."""
    recipients = builtins.list(dict.fromkeys(user_ids))
    dispatch = Dispatch()
    if not recipients:
        return dispatch
    channels = await users_service.notification_channels(session, user_ids=recipients, type=type)
    created: builtins.list[Notification] = []
    for user_id in recipients:
        wanted = channels[user_id]
        if wanted.in_app:
            notification = Notification(
                user_id=user_id,
                type=type,
                title=title,
                body=body,
                upload_id=upload_id,
                report_id=report_id,
                created_at=utcnow(),
            )
            session.add(notification)
            created.append(notification)
        link = {"upload_id": str(upload_id) if upload_id else None}
        link["report_id"] = str(report_id) if report_id else None
        if wanted.push:
            dispatch.pushes.append((user_id, {"type": type, "title": title, "body": body, **link}))
        if wanted.email:
            dispatch.emails.append((user_id, title, body))
    if created:
        await serialize_event_ids(session)
        await session.flush()
        for notification in created:
            event = StreamEvent(
                user_id=notification.user_id,
                type=NOTIFICATION_EVENT,
                data=to_read(notification).model_dump(mode="json"),
                created_at=notification.created_at,
            )
            session.add(event)
            dispatch.events.append(event)
        await session.flush()
    return dispatch


async def broadcast(
    session: AsyncSession,
    *,
    type: str,
    data: dict[str, Any],
    user_ids: Iterable[uuid.UUID] = (),
    roles: Iterable[Role] = (),
) -> Dispatch:
    """A live-only event (e.g. `report_updated`) for some users and/or everyone with a role;
    it is replayable but not a stored notification."""
    dispatch = Dispatch()
    await serialize_event_ids(session)
    now = utcnow()
    for user_id in dict.fromkeys(user_ids):
        dispatch.events.append(StreamEvent(user_id=user_id, type=type, data=data, created_at=now))
    for role in dict.fromkeys(roles):
        dispatch.events.append(StreamEvent(role=role.value, type=type, data=data, created_at=now))
    session.add_all(dispatch.events)
    await session.flush()
    return dispatch


# Any constant: the advisory lock that orders stream event ids by commit (PostgreSQL).
_EVENT_ID_LOCK = 0x5245_4C41_5950  # "RELAYP"


async def serialize_event_ids(session: AsyncSession) -> None:
    """Make stream event ids commit-ordered: an event with a higher id is never visible
    before one with a lower id, so "everything above my Last-Event-ID" misses nothing.

    PostgreSQL hands out sequence values at INSERT time, so two transactions could commit
    ids 11 then 10; a transaction-scoped advisory lock, taken before the first event is
    inserted and held until commit, orders them. SQLite already has a single writer."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _EVENT_ID_LOCK})


def _message(event: StreamEvent) -> StreamMessage:
    return StreamMessage(
        id=event.id, type=event.type, data=event.data, user_id=event.user_id, role=event.role
    )


class Notifier:
    """Delivers committed dispatches: stream hub now, push and email in the background."""

    def __init__(self, *, settings: CoreSettings, database: Database, hub: Hub) -> None:
        self.settings = settings
        self.database = database
        self.hub = hub
        self._background: set[asyncio.Task[None]] = set()

    async def deliver(self, dispatch: Dispatch) -> None:
        await self.hub.publish([_message(event) for event in dispatch.events])
        if dispatch.pushes and push.enabled(self.settings):
            self._spawn(self._push(dispatch.pushes))
        if dispatch.emails:
            self._spawn(self._mail(dispatch.emails))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Wait for background deliveries (shutdown and tests)."""
        while self._background:
            await asyncio.gather(*builtins.list(self._background), return_exceptions=True)

    async def _push(self, pushes: builtins.list[tuple[uuid.UUID, dict[str, Any]]]) -> None:
        for user_id, payload in pushes:
            try:
                # The unread count at send time: the service worker shows it on the app icon.
                async with self.database.sessionmaker() as session:
                    unread = await _unread_of(session, user_id=user_id)
                await push.send_to_user(
                    settings=self.settings,
                    database=self.database,
                    user_id=user_id,
                    payload={**payload, "unread": unread},
                )
            except Exception:
                log.exception("push_delivery_failed", user_id=str(user_id))

    async def _mail(self, emails: builtins.list[tuple[uuid.UUID, str, str]]) -> None:
        async with self.database.sessionmaker() as session:
            addresses = await users_service.emails_of(
                session, user_ids=[user_id for user_id, _, _ in emails]
            )
        for user_id, subject, body in emails:
            if user_id not in addresses:
                continue
            try:
                await mail.send(self.settings, to=addresses[user_id], subject=subject, body=body)
            except Exception:
                log.exception("notification_mail_failed", user_id=str(user_id))


async def list(
    session: AsyncSession, *, user: User, window: Window, unread_only: bool
) -> tuple[Rows, int]:
    """Newest first; returns (the page, unread_count)."""
    mine = Notification.user_id == user.id
    query = select(Notification).where(mine)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    unread = (
        await session.scalar(select(func.count()).where(mine, Notification.read_at.is_(None))) or 0
    )
    return await paginate(session, query, window, Notification.id.desc()), unread


async def unread_count(session: AsyncSession, *, user: User) -> int:
    return await _unread_of(session, user_id=user.id)


async def _unread_of(session: AsyncSession, *, user_id: uuid.UUID) -> int:
    return (
        await session.scalar(
            select(func.count()).where(
                Notification.user_id == user_id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


async def get_or_raise(session: AsyncSession, *, user: User, notification_id: int) -> Notification:
    notification = await session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        raise NotificationNotFound()
    return notification


async def set_read(
    session: AsyncSession, *, user: User, notification_id: int, read: bool
) -> Notification:
    notification = await get_or_raise(session, user=user, notification_id=notification_id)
    if read and notification.read_at is None:
        notification.read_at = utcnow()
    elif not read:
        notification.read_at = None
    await session.commit()
    return notification


async def read_all(session: AsyncSession, *, user: User) -> int:
    result = await session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


async def replay(
    session: AsyncSession, *, user_id: uuid.UUID, role: str, after_id: int, limit: int = 1000
) -> Sequence[StreamEvent]:
    """Stream events for this user (or their role) after `after_id`, oldest first."""
    return (
        await session.scalars(
            select(StreamEvent)
            .where(
                StreamEvent.id > after_id,
                or_(StreamEvent.user_id == user_id, StreamEvent.role == role),
            )
            .order_by(StreamEvent.id)
            .limit(limit)
        )
    ).all()


async def read_after(
    settings: CoreSettings,
    database: Database,
    after_id: int,
    session_ids: Sequence[uuid.UUID],
) -> tuple[builtins.list[StreamMessage], dict[uuid.UUID, str]]:
    """Committed stream events above `after_id`, oldest first, and, when there are any,
    which of `session_ids` are live with their user's role (the hub's reader: one database
    session for both, so the check costs one query)."""
    async with database.sessionmaker() as session:
        rows = await session.scalars(
            select(StreamEvent)
            .where(StreamEvent.id > after_id)
            .order_by(StreamEvent.id)
            .limit(READ_BATCH)
        )
        messages = [_message(row) for row in rows]
        if not messages or not session_ids:
            return messages, {}
        live = await auth_sessions.live_roles(session, settings=settings, session_ids=session_ids)
        return messages, {session_id: role.value for session_id, role in live.items()}


async def latest_event_id(database: Database) -> int:
    async with database.sessionmaker() as session:
        return int(await session.scalar(select(func.max(StreamEvent.id))) or 0)


def build_hub(settings: CoreSettings, database: Database) -> Hub:
    """The process's stream hub, following `stream_event` in `database`."""
    return Hub(
        read_after=functools.partial(read_after, settings, database),
        latest_id=functools.partial(latest_event_id, database),
        redis_url=settings.redis_url,
        poll_seconds=settings.stream_poll_seconds,
    )


async def prune_stream_events(database: Database, *, settings: CoreSettings) -> int:
    """Drop stream events older than the replay window."""
    cutoff = utcnow() - timedelta(days=settings.stream_event_retention_days)
    async with database.sessionmaker() as session:
        result = await session.execute(delete(StreamEvent).where(StreamEvent.created_at < cutoff))
        await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


@export.section("notifications")
async def _export_notifications(
    session: AsyncSession, user_id: uuid.UUID
) -> builtins.list[dict[str, Any]]:
    rows = await session.scalars(
        select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
    )
    return [to_read(row).model_dump(mode="json") for row in rows]
