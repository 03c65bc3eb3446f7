"""The Server-Sent Events stream: ticket auth, Last-Event-ID replay, then live events."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import uuid
from collections.abc import AsyncIterator

from sse_starlette import ServerSentEvent

from relaypacs.auth import sessions as auth_sessions
from relaypacs.auth.errors import InvalidToken
from relaypacs.auth.sessions import Principal
from relaypacs.core import metrics
from relaypacs.core.cache import Cache
from relaypacs.core.config import CoreSettings
from relaypacs.core.database import Database
from relaypacs.core.logging import get_logger
from relaypacs.notifications import service
from relaypacs.notifications.errors import InvalidStreamTicket
from relaypacs.notifications.hub import Hub

log = get_logger("relaypacs.notifications.stream")

# How often a long-lived stream re-checks that its sign-in session is still valid: the
# default of settings.sse_session_check_seconds.
SESSION_CHECK_SECONDS = 60.0
RECONNECT_MS = 3000


def _ticket_key(ticket: str) -> str:
    return "sse-ticket:" + hashlib.sha256(ticket.encode()).hexdigest()


async def issue_ticket(cache: Cache, *, settings: CoreSettings, principal: Principal) -> str:
    """A single-use ticket, valid for SSE_TICKET_TTL_SECONDS, naming this sign-in session."""
    ticket = secrets.token_urlsafe(32)
    value = json.dumps({"user_id": str(principal.user.id), "session_id": str(principal.session.id)})
    await cache.add(_ticket_key(ticket), value, settings.sse_ticket_ttl_seconds)
    return ticket


async def redeem_ticket(
    cache: Cache, *, settings: CoreSettings, database: Database, ticket: str | None
) -> Principal:
    if not ticket or len(ticket) > 128:
        raise InvalidStreamTicket()
    raw = await cache.pop(_ticket_key(ticket))
    if raw is None:
        raise InvalidStreamTicket()
    value = json.loads(raw)
    return await _principal(
        settings, database, uuid.UUID(value["session_id"]), uuid.UUID(value["user_id"])
    )


async def _principal(
    settings: CoreSettings, database: Database, session_id: uuid.UUID, user_id: uuid.UUID
) -> Principal:
    async with database.sessionmaker() as session:
        try:
            return await auth_sessions.authenticate_session(
                session, settings=settings, session_id=session_id, user_id=user_id
            )
        except InvalidToken:
            raise InvalidStreamTicket() from None


def parse_last_event_id(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


async def events(
    *,
    settings: CoreSettings,
    database: Database,
    hub: Hub,
    principal: Principal,
    last_event_id: int | None,
) -> AsyncIterator[ServerSentEvent]:
    """Replay what came after `last_event_id`, then follow live events until the client
    leaves, the session ends, or the connection fell too far behind (the client then
    reconnects with its Last-Event-ID and replays)."""
    user_id, role = principal.user.id, principal.user.role.value
    session_id = principal.session.id
    async with hub.subscribe(user_id=user_id, role=role) as subscriber:
        # Events reach us in id order (hub.py), so the last id sent is an exact resume point
        # and anything at or below it came through the replay already.
        last_sent = last_event_id if last_event_id is not None else hub.cursor
        if last_event_id is not None:
            cursor = last_event_id
            while True:
                async with database.sessionmaker() as session:
                    rows = await service.replay(
                        session, user_id=user_id, role=role, after_id=cursor
                    )
                for row in rows:
                    last_sent = max(last_sent, row.id)
                    yield ServerSentEvent(id=str(row.id), event=row.type, data=json.dumps(row.data))
                if len(rows) < 1000:
                    break
                cursor = rows[-1].id
        if last_event_id is None and hub.ready:
            # A resume point from the start: a client that drops before any real event
            # reconnects with this id and misses nothing (no data event is fired for it
            # in pages that don't listen to `ready`).
            yield ServerSentEvent(
                id=str(last_sent), event="ready", data=json.dumps({"last_event_id": last_sent})
            )
        yield ServerSentEvent(comment="connected", retry=RECONNECT_MS)
        loop = asyncio.get_running_loop()
        check_every = settings.sse_session_check_seconds or SESSION_CHECK_SECONDS
        next_check = loop.time() + check_every
        lost = asyncio.ensure_future(subscriber.lost.wait())
        metrics.SSE_CONNECTIONS.inc()
        try:
            while True:
                timeout = max(0.0, next_check - loop.time())
                getter = asyncio.ensure_future(subscriber.queue.get())
                done, _ = await asyncio.wait(
                    {getter, lost}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if getter not in done:
                    getter.cancel()
                if lost in done:
                    log.info("sse_stream_resync", user_id=str(user_id))
                    return
                if getter in done:
                    message = getter.result()
                    if message.id <= last_sent:
                        continue
                    last_sent = message.id
                    yield ServerSentEvent(
                        id=str(message.id), event=message.type, data=json.dumps(message.data)
                    )
                if loop.time() >= next_check:
                    next_check = loop.time() + check_every
                    try:
                        await _principal(settings, database, session_id, user_id)
                    except InvalidStreamTicket:
                        log.info("sse_stream_session_ended", user_id=str(user_id))
                        return
        finally:
            metrics.SSE_CONNECTIONS.dec()
            lost.cancel()
