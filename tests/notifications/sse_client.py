"""A small Server-Sent Events client over httpx streaming, for tests and benchmarks.

It parses the wire format as the WHATWG spec says (``id``, ``event``, ``data``, ``retry``
fields, ``:`` comments, a blank line dispatching the event) and keeps the last event id,
so a test can reconnect with ``Last-Event-ID`` exactly as EventSource would.

A background task reads the response and queues what it parses with its arrival time
(``time.monotonic()``), so waiting with a timeout never cancels a half-read line, and a
benchmark gets the moment each event was parsed rather than the moment it looked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class SseEvent:
    id: str | None
    event: str
    data: str
    received_at: float

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass(frozen=True)
class SseComment:
    text: str
    received_at: float


class StreamEnded(Exception):
    """The server closed the stream."""


_END = object()


class SseParser:
    """Feed it lines (without their line ending); it returns what each line completes."""

    def __init__(self) -> None:
        self.last_event_id: str | None = None
        self.retry_ms: int | None = None
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, line: str, now: float) -> SseEvent | SseComment | None:
        if line == "":
            if not self._data and self._id is None and not self._event:
                return None
            event = SseEvent(
                id=self._id,
                event=self._event or "message",
                data="\n".join(self._data),
                received_at=now,
            )
            self._event, self._data, self._id = "", [], None
            return event if event.data or event.id is not None else None
        if line.startswith(":"):
            return SseComment(line[1:].removeprefix(" "), now)
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
            self.last_event_id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None


class SseStream:
    """One open stream. Read it with `next`, `next_event` or `events`."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.parser = SseParser()
        self.comments: list[SseComment] = []
        self.ended = asyncio.Event()
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read(), name="sse-reader")

    @property
    def last_event_id(self) -> str | None:
        return self.parser.last_event_id

    async def _read(self) -> None:
        try:
            async for line in self.response.aiter_lines():
                item = self.parser.feed(line.rstrip("\r\n"), time.monotonic())
                if isinstance(item, SseComment):
                    self.comments.append(item)
                if item is not None:
                    self._queue.put_nowait(item)
        except (httpx.HTTPError, asyncio.CancelledError):
            pass
        finally:
            self.ended.set()
            self._queue.put_nowait(_END)

    async def next(self, timeout: float = 10.0) -> SseEvent | SseComment:
        """The next event or comment; `StreamEnded` when the server closed the stream,
        `TimeoutError` when nothing came within `timeout` seconds."""
        item = await asyncio.wait_for(self._queue.get(), timeout)
        if item is _END:
            self._queue.put_nowait(_END)  # later calls see the end too
            raise StreamEnded()
        assert isinstance(item, SseEvent | SseComment)
        return item

    async def next_event(self, timeout: float = 10.0) -> SseEvent:
        """The next event, skipping comments (pings), within `timeout` seconds overall."""
        deadline = time.monotonic() + timeout
        while True:
            item = await self.next(max(0.0, deadline - time.monotonic()))
            if isinstance(item, SseEvent):
                return item

    async def events(self, count: int, timeout: float = 10.0) -> list[SseEvent]:
        """Exactly the next `count` events (within `timeout` seconds overall)."""
        deadline = time.monotonic() + timeout
        return [await self.next_event(max(0.0, deadline - time.monotonic())) for _ in range(count)]

    async def quiet_for(self, seconds: float) -> list[SseEvent]:
        """The events that arrive within `seconds` (a test that expects none asserts [])."""
        deadline = time.monotonic() + seconds
        got: list[SseEvent] = []
        while (left := deadline - time.monotonic()) > 0:
            try:
                got.append(await self.next_event(left))
            except TimeoutError:
                break
            except StreamEnded:
                break
        return got

    async def wait_ended(self, timeout: float) -> None:
        await asyncio.wait_for(self.ended.wait(), timeout)

    async def aclose(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self.response.aclose()


@contextlib.asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient,
    url: str,
    *,
    last_event_id: str | int | None = None,
    params: Mapping[str, str | int] | None = None,
    headers: Mapping[str, str] | None = None,
) -> AsyncIterator[SseStream]:
    """GET `url` as EventSource does (Accept: text/event-stream, optional Last-Event-ID)
    and yield the open stream; non-200 answers are yielded too (check `response`)."""
    request_headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
    if last_event_id is not None:
        request_headers["Last-Event-ID"] = str(last_event_id)
    request_headers.update(headers or {})
    request = client.build_request(
        "GET", url, params=dict(params) if params else None, headers=request_headers
    )
    response = await client.send(request, stream=True)
    if response.status_code != 200:
        await response.aread()
    stream = SseStream(response)
    try:
        yield stream
    finally:
        await stream.aclose()


async def stream_ticket(client: httpx.AsyncClient, bearer: Mapping[str, str]) -> str:
    """POST /api/notifications/stream-ticket with an access token; the ticket."""
    response = await client.post("/api/notifications/stream-ticket", headers=dict(bearer))
    assert response.status_code == 201, response.text
    ticket: str = response.json()["ticket"]
    return ticket


STREAM_PATH = "/api/notifications/stream"
