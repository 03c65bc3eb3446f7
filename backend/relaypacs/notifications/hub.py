"""Fan-out of stream events to the SSE connections of this process.

With `REDIS_URL` every process publishes to one Redis channel and each process's listener
hands the events to its own connections, so a change made through one replica reaches a
client connected to another. Without Redis, publishing dispatches in-process.

Live delivery is best effort by design: events are first written to `stream_event`, so a
client that missed something (slow consumer, Redis hiccup, reconnect) replays it from the
database with `Last-Event-ID`. A connection that falls behind, or that was attached while
the Redis listener was reconnecting, is closed so that the client does exactly that.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from relaypacs.core.logging import get_logger

log = get_logger("relaypacs.notifications.hub")

CHANNEL = "relaypacs:stream-events"
QUEUE_SIZE = 1000


@dataclass(frozen=True)
class StreamMessage:
    id: int
    type: str
    data: dict[str, Any]
    user_id: uuid.UUID | None = None
    role: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "type": self.type,
                "data": self.data,
                "user_id": str(self.user_id) if self.user_id else None,
                "role": self.role,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> StreamMessage:
        value = json.loads(raw)
        return cls(
            id=int(value["id"]),
            type=str(value["type"]),
            data=dict(value["data"]),
            user_id=uuid.UUID(value["user_id"]) if value.get("user_id") else None,
            role=value.get("role"),
        )


@dataclass(eq=False)
class Subscriber:
    user_id: uuid.UUID
    role: str
    queue: asyncio.Queue[StreamMessage] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE)
    )
    # Set when live events may have been missed; the stream then ends and the client
    # reconnects with Last-Event-ID.
    lost: asyncio.Event = field(default_factory=asyncio.Event)

    def wants(self, message: StreamMessage) -> bool:
        return message.user_id == self.user_id or (
            message.role is not None and message.role == self.role
        )


class Hub:
    def __init__(self, redis_url: str = "") -> None:
        self.redis_url = redis_url
        self._subscribers: set[Subscriber] = set()
        self._redis: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    @property
    def connections(self) -> int:
        return len(self._subscribers)

    async def start(self) -> None:
        if not self.redis_url:
            self._connected.set()
            return
        import redis.asyncio as redis  # only deployments with REDIS_URL load it

        self._redis = redis.from_url(self.redis_url)
        self._listener = asyncio.create_task(self._listen(), name="stream-hub-listener")
        try:  # normally subscribed within milliseconds; don't hold start-up for a dead Redis
            await asyncio.wait_for(self._connected.wait(), timeout=5)
        except TimeoutError:
            log.warning("stream_hub_redis_unavailable")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with suppress(asyncio.CancelledError):
                await self._listener
        if self._redis is not None:
            await self._redis.aclose()
        for subscriber in self._subscribers:
            subscriber.lost.set()

    async def publish(self, messages: list[StreamMessage]) -> None:
        """Deliver committed events; a failure is logged (clients replay from the database)."""
        if not messages:
            return
        if self._redis is None:
            for message in messages:
                self._dispatch(message)
            return
        # Twice: after a Redis restart the first command on a pooled connection fails (the
        # pool then drops it). A lost publish is noticed by nobody, since the listeners,
        # reconnected by then, have no reason to resync their streams.
        for attempt in (1, 2):
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for message in messages:
                        pipe.publish(CHANNEL, message.to_json())
                    await pipe.execute()
                return
            except Exception:
                if attempt == 2:
                    log.exception("stream_hub_publish_failed", count=len(messages))

    @asynccontextmanager
    async def subscribe(self, *, user_id: uuid.UUID, role: str) -> AsyncIterator[Subscriber]:
        subscriber = Subscriber(user_id=user_id, role=role)
        if not self._connected.is_set():
            subscriber.lost.set()
        self._subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)

    def _dispatch(self, message: StreamMessage) -> None:
        for subscriber in self._subscribers:
            if subscriber.wants(message):
                try:
                    subscriber.queue.put_nowait(message)
                except asyncio.QueueFull:
                    subscriber.lost.set()

    def _drop_all(self) -> None:
        for subscriber in self._subscribers:
            subscriber.lost.set()

    async def _listen(self) -> None:
        delay = 0.5
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                self._connected.set()
                delay = 0.5
                async for raw in pubsub.listen():
                    if raw.get("type") != "message":
                        continue
                    try:
                        self._dispatch(StreamMessage.from_json(raw["data"]))
                    except (ValueError, KeyError, TypeError):
                        log.warning("stream_hub_bad_message")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any Redis failure: reconnect
                log.warning("stream_hub_redis_lost", error=type(exc).__name__, retry_in=delay)
            finally:
                was_connected = self._connected.is_set()
                self._connected.clear()
                if was_connected:
                    self._drop_all()  # they may have missed events while we reconnect
                with suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
