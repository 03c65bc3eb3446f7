"""An open event stream delivers nothing once its access has gone: a user demoted by an
admin (which revokes their sessions) or signed out stops receiving, at the very next
event, what the old role or session allowed; the stream ends.

A real `relaypacs serve` process whose periodic session check is an hour apart
(SSE_SESSION_CHECK_SECONDS=3600), so only the check made before each batch of events is
handed out can be what stops them.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from relaypacs.core.database import Database
from relaypacs.core.permissions import Role
from tests.conftest import make_settings
from tests.factories import UserFixture, bearer, login
from tests.live_server import LiveServer, server_env
from tests.notifications.factories import create_report, create_user_in
from tests.notifications.sse_client import (
    STREAM_PATH,
    SseComment,
    SseEvent,
    SseStream,
    StreamEnded,
    open_stream,
    stream_ticket,
)

pytestmark = pytest.mark.slow

TIMEOUT = httpx.Timeout(30.0, read=60.0)


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[tuple[LiveServer, str, Path]]:
    base = tmp_path_factory.mktemp("sse-access-gateway")
    database = base / "relaypacs.db"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite+aiosqlite:///{database}"
    env = server_env(
        url,
        base / "data",
        SSE_PING_SECONDS="0.5",
        SSE_SESSION_CHECK_SECONDS="3600",
    )
    server = LiveServer(env, base / "server")
    server.start()
    try:
        asyncio.run(server.wait_ready())
        yield server, url, base
    finally:
        server.close()


@pytest.fixture
async def database(gateway: tuple[LiveServer, str, Path]) -> AsyncIterator[Database]:
    _, url, base = gateway
    db = Database(make_settings(url, base / "data"))
    yield db
    await db.dispose()


@pytest.fixture
async def client(gateway: tuple[LiveServer, str, Path]) -> AsyncIterator[httpx.AsyncClient]:
    server = gateway[0]
    assert server.is_running(), f"the gateway died; log:\n{server.log_tail()}"
    async with httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT) as c:
        yield c


async def _signed_in(
    database: Database, client: httpx.AsyncClient, role: Role
) -> tuple[UserFixture, dict[str, str]]:
    user = await create_user_in(database, role=role)
    return user, bearer(await login(client, user))


async def _set_status(
    client: httpx.AsyncClient, auth: dict[str, str], report_id: uuid.UUID, status: str
) -> None:
    response = await client.post(
        f"/api/reports/{report_id}/status", json={"status": status}, headers=auth
    )
    assert response.status_code == 200, response.text


async def _connected(stream: SseStream) -> None:
    assert stream.response.status_code == 200, stream.response.text
    while True:
        item = await stream.next(10)
        if isinstance(item, SseComment) and item.text == "connected":
            return


async def _events_until_end(stream: SseStream, timeout: float) -> list[SseEvent]:
    """Every event the stream still delivers before the server closes it (which must be
    within `timeout` seconds: pings alone would keep it open for ever)."""
    got: list[SseEvent] = []
    deadline = time.monotonic() + timeout
    try:
        while (left := deadline - time.monotonic()) > 0:
            item = await stream.next(left)
            if isinstance(item, SseEvent):
                got.append(item)
    except StreamEnded:
        return got
    except TimeoutError:
        pass
    pytest.fail(f"the stream stayed open; it delivered {[e.data for e in got]}")


async def test_a_demoted_radiologist_gets_no_more_radiologist_events(
    client: httpx.AsyncClient, database: Database
) -> None:
    uploader, _ = await _signed_in(database, client, Role.clinician)
    _, admin = await _signed_in(database, client, Role.admin)
    demoted, demoted_auth = await _signed_in(database, client, Role.radiologist)
    _, kept_auth = await _signed_in(database, client, Role.radiologist)
    report_id = await create_report(database, uploader=uploader)

    async with (
        open_stream(
            client, STREAM_PATH, params={"ticket": await stream_ticket(client, demoted_auth)}
        ) as demoted_stream,
        open_stream(
            client, STREAM_PATH, params={"ticket": await stream_ticket(client, kept_auth)}
        ) as kept_stream,
    ):
        await _connected(demoted_stream)
        await _connected(kept_stream)
        # Radiologists see every report's changes, not only their own.
        await _set_status(client, admin, report_id, "PENDING")
        for stream in (demoted_stream, kept_stream):
            assert (await stream.next_event()).json()["status"] == "PENDING"

        changed = await client.patch(
            f"/api/users/{demoted.id}", json={"role": "clinician"}, headers=admin
        )
        assert changed.status_code == 200, changed.text
        await _set_status(client, admin, report_id, "ASSIGNED")

        assert (await kept_stream.next_event()).json()["status"] == "ASSIGNED"
        assert await _events_until_end(demoted_stream, timeout=10) == []
        assert not kept_stream.ended.is_set()


async def test_a_signed_out_session_gets_no_more_events(
    client: httpx.AsyncClient, database: Database
) -> None:
    uploader, _ = await _signed_in(database, client, Role.clinician)
    _, admin = await _signed_in(database, client, Role.admin)
    _, auth = await _signed_in(database, client, Role.radiologist)
    report_id = await create_report(database, uploader=uploader)

    async with open_stream(
        client, STREAM_PATH, params={"ticket": await stream_ticket(client, auth)}
    ) as stream:
        await _connected(stream)
        assert (await client.post("/api/auth/logout", headers=auth)).status_code == 204
        await _set_status(client, admin, report_id, "PENDING")
        assert await _events_until_end(stream, timeout=10) == []
