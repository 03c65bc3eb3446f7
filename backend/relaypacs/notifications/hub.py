"""Fan-out of stream events to the SSE connections of this process.

The `stream_event` table is the source of truth and its ids are handed out in commit
order (see `service.serialize_event_ids`), so "every event with an id above N" is always
a gap-free answer. Each process has one reader that follows the table with a cursor and
hands new events, in id order, to its own connections. It reads when woken:

- without Redis, by `publish` in this process;
- with `REDIS_URL`, by a message on one Redis channel, which every process publishes to
  after its commits, so a change made through one replica reaches clients on another;
- and in any case every `poll_seconds`, so a lost wake-up (Redis restarting, a process
  dying between commit and publish) delays an event but never loses it.

A client therefore sees events in id order, and its Last-Event-ID is an exact resume
point. A connection that falls too far behind is closed; the client reconnects with its
Last-Event-ID and replays from the table.

The reader also says, in the same database session as it reads a batch of events, which
of the connections' sign-in sessions are still live and with what role: a connection a
batch is for whose session was revoked, or whose user no longer has the role it
subscribed with (an admin's role change revokes the sessions), is closed instead of being
handed the batch, so it never receives an event committed after that change.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from relaypacs.core.logging import get_logger

log = get_logger("relaypacs.notifications.hub")

CHANNEL = "relaypacs:stream-events"
QUEUE_SIZE = 1000
READ_BATCH = 500


@dataclass(frozen=True)
class StreamMessage:
    id: int
    type: str
    data: dict[str, Any]
    user_id: uuid.UUID | None = None
    role: str | None = None


# Reads committed events with an id above the first argument, oldest first, at most
# READ_BATCH; and, when there are any, which of the sign-in session ids in the second are
# live, each with its user's current role (a session missing from the answer has ended).
EventReader = Callable[
    [int, Sequence[uuid.UUID]],
    Awaitable[tuple[Sequence[StreamMessage], Mapping[uuid.UUID, str]]],
]
# The highest committed event id (0 when none).
LatestId = Callable[[], Awaitable[int]]


@dataclass(eq=False)
class Subscriber:
    user_id: uuid.UUID
    role: str
    session_id: uuid.UUID | None = None
    queue: asyncio.Queue[StreamMessage] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE)
    )
    # Set when this connection fell behind; the stream ends and the client replays.
    lost: asyncio.Event = field(default_factory=asyncio.Event)
    # Set (with `lost`) when its session ended or its role changed: the stream just ends.
    revoked: bool = False

    def wants(self, message: StreamMessage) -> bool:
        return message.user_id == self.user_id or (
            message.role is not None and message.role == self.role
        )


class Hub:
    def __init__(
        self,
        *,
        read_after: EventReader,
        latest_id: LatestId,
        redis_url: str = "",
        poll_seconds: float = 2.0,
    ) -> None:
        self.redis_url = redis_url
        self.poll_seconds = poll_seconds
        self._read_after = read_after
        self._latest_id = latest_id
        self._subscribers: set[Subscriber] = set()
        self._redis: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._cursor = 0
        self._ready = False

    @property
    def connections(self) -> int:
        return len(self._subscribers)

    @property
    def ready(self) -> bool:
        """True once the reader knows where the event table stands."""
        return self._ready

    @property
    def cursor(self) -> int:
        """The id of the last event handed to this process's connections."""
        return self._cursor

    async def start(self) -> None:
        try:
            self._cursor = await self._latest_id()
            self._ready = True
        except Exception as exc:  # noqa: BLE001 - the database may come up later (readyz says so)
            log.warning("stream_hub_start_deferred", error=type(exc).__name__)
        self._tasks.append(asyncio.create_task(self._follow(), name="stream-hub-reader"))
        if self.redis_url:
            import redis.asyncio as redis  # only deployments with REDIS_URL load it

            from relaypacs.core.cache import redis_options

            self._redis = redis.from_url(self.redis_url, **redis_options())
            self._tasks.append(asyncio.create_task(self._listen(), name="stream-hub-redis"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._redis is not None:
            await self._redis.aclose()
        for subscriber in self._subscribers:
            subscriber.lost.set()

    async def publish(self, messages: Sequence[StreamMessage]) -> None:
        """Wake the readers after events were committed (here, and via Redis elsewhere)."""
        if not messages:
            return
        self._wake.set()
        if self._redis is None:
            return
        # Twice: after a Redis restart the first command on a pooled connection fails (the
        # pool then drops it). If both fail, the other processes' poll picks it up.
        for attempt in (1, 2):
            try:
                await self._redis.publish(CHANNEL, str(max(m.id for m in messages)))
                return
            except Exception:  # noqa: BLE001 - any Redis failure: retry, then rely on polls
                if attempt == 2:
                    log.warning("stream_hub_publish_failed", count=len(messages))

    @asynccontextmanager
    async def subscribe(
        self, *, user_id: uuid.UUID, role: str, session_id: uuid.UUID | None = None
    ) -> AsyncIterator[Subscriber]:
        subscriber = Subscriber(user_id=user_id, role=role, session_id=session_id)
        self._subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)

    async def catch_up(self) -> None:
        """Read and dispatch everything committed so far (start-up, tests)."""
        if not self._ready:  # start-up could not read the database: begin from now
            self._cursor = await self._latest_id()
            self._ready = True
            return
        while True:
            # Connections that subscribe meanwhile were authenticated just now.
            checked = [
                (s, s.session_id)
                for s in self._subscribers
                if s.session_id is not None and not s.lost.is_set()
            ]
            messages, live = await self._read_after(self._cursor, [sid for _, sid in checked])
            self._close_revoked(messages, checked, live)
            for message in messages:
                self._dispatch(message)
                self._cursor = max(self._cursor, message.id)
            if len(messages) < READ_BATCH:
                return

    def _close_revoked(
        self,
        messages: Sequence[StreamMessage],
        checked: Sequence[tuple[Subscriber, uuid.UUID]],
        live: Mapping[uuid.UUID, str],
    ) -> None:
        """Close the checked connections these messages are for whose session ended or
        whose user's role is no longer the one they subscribed with."""
        for subscriber, session_id in checked:
            if live.get(session_id) != subscriber.role and any(
                subscriber.wants(m) for m in messages
            ):
                subscriber.revoked = True
                subscriber.lost.set()

    def _dispatch(self, message: StreamMessage) -> None:
        for subscriber in self._subscribers:
            if subscriber.wants(message) and not subscriber.lost.is_set():
                try:
                    subscriber.queue.put_nowait(message)
                except asyncio.QueueFull:
                    subscriber.lost.set()

    async def _follow(self) -> None:
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            self._wake.clear()
            try:
                await self.catch_up()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - database hiccup: try again next round
                log.warning("stream_hub_read_failed", error=type(exc).__name__)
                await asyncio.sleep(self.poll_seconds)

    async def _listen(self) -> None:
        delay = 0.5
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                delay = 0.5
                self._wake.set()  # whatever was published while we were away
                async for raw in pubsub.listen():
                    if raw.get("type") == "message":
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any Redis failure: reconnect
                log.warning("stream_hub_redis_lost", error=type(exc).__name__, retry_in=delay)
            finally:
                with suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
