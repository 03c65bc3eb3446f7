"""Live events across processes: two `relaypacs serve` processes on one PostgreSQL database
and one Redis. A report change made through either process reaches SSE clients connected
to the other; when Redis goes away the streams close (their clients must resync) and a
reconnect with Last-Event-ID replays what was missed meanwhile.

(Without Redis, one process on SQLite delivers in-process: tests/notifications/test_stream.py
runs its whole live suite that way.)
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from relaypacs.core.database import Database
from relaypacs.core.permissions import Role
from tests import servers
from tests.conftest import make_settings
from tests.factories import bearer, login
from tests.live_server import LiveServer, server_env
from tests.notifications.factories import create_report, create_user_in
from tests.notifications.sse_client import (
    STREAM_PATH,
    SseStream,
    open_stream,
)
from tests.notifications.test_stream import connected, set_status
from tests.servers import PostgresServer, RedisServer

pytestmark = pytest.mark.slow

TIMEOUT = httpx.Timeout(30.0, read=60.0)


@dataclass
class Pair:
    a: LiveServer
    b: LiveServer
    database: Database


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, postgres_template: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    postgres_server.create_database(name, template=postgres_template)
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


async def start_pair(url: str, redis_url: str, base: Path, **extra: str) -> Pair:
    env = server_env(url, base / "data", REDIS_URL=redis_url, LOG_LEVEL="INFO", **extra)
    a, b = LiveServer(env, base / "a"), LiveServer(env, base / "b")
    a.start()
    b.start()
    await asyncio.gather(a.wait_ready(), b.wait_ready())
    return Pair(a, b, Database(make_settings(url, base / "data")))


async def stop_pair(pair: Pair) -> None:
    pair.a.close()
    pair.b.close()
    await pair.database.dispose()


@pytest.fixture
async def pair(postgres_url: str, redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[Pair]:
    started = await start_pair(postgres_url, redis_server.url, tmp_path)
    yield started
    await stop_pair(started)


async def ticket_from(server: LiveServer, auth: dict[str, str], timeout: float = 15.0) -> str:
    """A stream ticket from `server` (retried while its Redis connection comes back)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT) as client:
        while True:
            try:
                response = await client.post("/api/notifications/stream-ticket", headers=auth)
                if response.status_code == 201:
                    ticket: str = response.json()["ticket"]
                    return ticket
                problem = f"{response.status_code} {response.text}"
            except httpx.TransportError as exc:
                problem = repr(exc)
            assert time.monotonic() < deadline, f"no ticket: {problem}\n{server.log_tail()}"
            await asyncio.sleep(0.2)


@pytest.mark.parametrize("direction", ["a_to_b", "b_to_a"])
async def test_a_change_through_one_process_reaches_streams_on_the_other(
    pair: Pair, direction: str
) -> None:
    source, target = (pair.a, pair.b) if direction == "a_to_b" else (pair.b, pair.a)
    uploader = await create_user_in(pair.database)
    bystander = await create_user_in(pair.database)
    radiologist = await create_user_in(pair.database, role=Role.radiologist)
    report_id = await create_report(pair.database, uploader=uploader)

    async with (
        httpx.AsyncClient(base_url=source.base_url, timeout=TIMEOUT) as via_source,
        httpx.AsyncClient(base_url=target.base_url, timeout=TIMEOUT) as via_target,
        AsyncExitStack() as streams,
    ):
        uploader_auth = bearer(await login(via_target, uploader))
        bystander_auth = bearer(await login(via_target, bystander))
        radiologist_auth = bearer(await login(via_source, radiologist))
        # Tickets are in Redis too: one issued by either process opens a stream on the other.
        opened: list[SseStream] = []
        for auth in (uploader_auth, bystander_auth, radiologist_auth):
            ticket = await ticket_from(source, auth)
            stream = await streams.enter_async_context(
                open_stream(via_target, STREAM_PATH, params={"ticket": ticket})
            )
            await connected(stream)
            opened.append(stream)
        mine, others, radiology = opened

        await set_status(via_source, radiologist_auth, report_id, "PENDING")
        for stream in (mine, radiology):
            event = await stream.next_event(10)
            assert event.event == "report_updated" and event.id is not None
            assert event.json()["report_id"] == str(report_id)
            assert event.json()["status"] == "PENDING"
        assert await others.quiet_for(1.0) == []


async def test_while_redis_is_down_events_arrive_late_but_none_is_lost(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis only wakes the other processes up; each also reads the event table every
    STREAM_POLL_SECONDS. With Redis gone, an open stream on B still gets what A commits,
    in order and without reconnecting; with Redis back, live delivery resumes."""
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    port = redis.port
    pair = await start_pair(postgres_url, redis.url, tmp_path, STREAM_POLL_SECONDS="1")
    try:
        uploader = await create_user_in(pair.database)
        radiologist = await create_user_in(pair.database, role=Role.radiologist)
        report_id = await create_report(pair.database, uploader=uploader)
        async with (
            httpx.AsyncClient(base_url=pair.a.base_url, timeout=TIMEOUT) as via_a,
            httpx.AsyncClient(base_url=pair.b.base_url, timeout=TIMEOUT) as via_b,
        ):
            uploader_auth = bearer(await login(via_b, uploader))
            radiologist_auth = bearer(await login(via_a, radiologist))
            ticket = await ticket_from(pair.b, uploader_auth)
            async with open_stream(via_b, STREAM_PATH, params={"ticket": ticket}) as stream:
                await connected(stream)
                await set_status(via_a, radiologist_auth, report_id, "PENDING")
                seen = await stream.next_event(10)
                assert seen.json()["status"] == "PENDING"
                last_id = int(seen.id or 0)

                redis.stop()
                missed = ["ASSIGNED", "PENDING", "ASSIGNED"]
                for status in missed:  # through A, which cannot tell B
                    await set_status(via_a, radiologist_auth, report_id, status)
                late = [await stream.next_event(15) for _ in missed]
                assert [e.json()["status"] for e in late] == missed
                ids = [int(e.id or 0) for e in late]
                assert ids == sorted(set(ids)) and ids[0] > last_id

                monkeypatch.setattr(servers, "free_port", lambda: port)
                redis.start()  # the same address as before
                await set_status(via_a, radiologist_auth, report_id, "PENDING")
                live = await stream.next_event(15)
                assert live.json()["status"] == "PENDING"
                assert int(live.id or 0) > ids[-1]
    finally:
        await stop_pair(pair)
        redis.stop()
