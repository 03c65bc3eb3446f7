"""The notification event stream (Server-Sent Events) on a real `relaypacs serve` process:
single-use ticket auth, live delivery of report changes to the right people, Last-Event-ID
replay, keep-alive pings and the end of a stream whose session was revoked.

One server for the module, on SQLite without Redis (so live delivery here is the
in-process bus), with short intervals: pings every 0.5 s, tickets valid 5 s, the
session re-checked every 0.5 s. Each test makes its own users and reports.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

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

TICKET_TTL = 5  # the smallest the settings allow
PING = 0.5
SESSION_CHECK = 0.5
TIMEOUT = httpx.Timeout(30.0, read=60.0)


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[tuple[LiveServer, str, Path]]:
    base = tmp_path_factory.mktemp("sse-gateway")
    database = base / "relaypacs.db"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite+aiosqlite:///{database}"
    env = server_env(
        url,
        base / "data",
        LOG_LEVEL="INFO",
        SSE_PING_SECONDS=str(PING),
        SSE_TICKET_TTL_SECONDS=str(TICKET_TTL),
        SSE_SESSION_CHECK_SECONDS=str(SESSION_CHECK),
    )
    server = LiveServer(env, base / "server")
    server.start()
    try:
        asyncio.run(server.wait_ready())
        yield server, url, base
    finally:
        server.close()


@pytest.fixture
def server(gateway: tuple[LiveServer, str, Path]) -> LiveServer:
    live = gateway[0]
    assert live.is_running(), f"the gateway died; log:\n{live.log_tail()}"
    return live


@pytest.fixture
async def database(gateway: tuple[LiveServer, str, Path]) -> AsyncIterator[Database]:
    _, url, base = gateway
    db = Database(make_settings(url, base / "data"))
    yield db
    await db.dispose()


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT) as c:
        yield c


async def signed_in(
    database: Database, client: httpx.AsyncClient, role: Role = Role.clinician
) -> tuple[UserFixture, dict[str, str]]:
    user = await create_user_in(database, role=role)
    return user, bearer(await login(client, user))


async def set_status(
    client: httpx.AsyncClient, auth: dict[str, str], report_id: uuid.UUID, status: str
) -> dict[str, Any]:
    response = await client.post(
        f"/api/reports/{report_id}/status", json={"status": status}, headers=auth
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def connected(stream: SseStream) -> SseEvent | None:
    """The stream is open and subscribed once the server's `connected` comment arrives;
    returns the `ready` event (the resume point) a fresh stream gets before it."""
    assert stream.response.status_code == 200, stream.response.text
    assert stream.response.headers["content-type"].startswith("text/event-stream")
    ready: SseEvent | None = None
    while True:
        item = await stream.next(10)
        if isinstance(item, SseComment) and item.text == "connected":
            return ready
        if isinstance(item, SseEvent) and item.event == "ready" and ready is None:
            ready = item
            continue
        assert isinstance(item, SseComment), f"an event before `connected`: {item}"


def assert_invalid_ticket(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "invalid_stream_ticket", response.text


# --- ticket auth ------------------------------------------------------------------------


async def test_the_stream_without_a_ticket_or_with_a_bad_one_is_401(
    client: httpx.AsyncClient,
) -> None:
    assert_invalid_ticket(await client.get(STREAM_PATH))
    assert_invalid_ticket(await client.get(STREAM_PATH, params={"ticket": ""}))
    assert_invalid_ticket(await client.get(STREAM_PATH, params={"ticket": "bad"}))
    assert_invalid_ticket(await client.get(STREAM_PATH, params={"ticket": "x" * 43}))


async def test_a_ticket_opens_one_stream_only(
    client: httpx.AsyncClient, database: Database
) -> None:
    _, auth = await signed_in(database, client)
    response = await client.post("/api/notifications/stream-ticket", headers=auth)
    assert response.status_code == 201, response.text
    body = response.json()
    ticket = body["ticket"]
    assert body["expires_in"] == TICKET_TTL
    assert body["stream_url"] == f"{STREAM_PATH}?ticket={ticket}"

    async with open_stream(client, body["stream_url"]) as stream:
        await connected(stream)
        # Used while its first stream is still open, and after it closed: refused both times.
        assert_invalid_ticket(await client.get(STREAM_PATH, params={"ticket": ticket}))
    assert_invalid_ticket(await client.get(STREAM_PATH, params={"ticket": ticket}))


async def test_an_expired_ticket_is_401(client: httpx.AsyncClient, database: Database) -> None:
    _, auth = await signed_in(database, client)
    ticket = await stream_ticket(client, auth)
    await asyncio.sleep(TICKET_TTL + 1)
    assert_invalid_ticket(await client.get(STREAM_PATH, params={"ticket": ticket}))


async def test_a_ticket_of_a_session_that_logged_out_is_401(
    client: httpx.AsyncClient, database: Database
) -> None:
    _, auth = await signed_in(database, client)
    ticket = await stream_ticket(client, auth)
    assert (await client.post("/api/auth/logout", headers=auth)).status_code == 204
    assert_invalid_ticket(await client.get(STREAM_PATH, params={"ticket": ticket}))


async def test_a_stream_ticket_requires_an_access_token(
    client: httpx.AsyncClient, database: Database
) -> None:
    assert (await client.post("/api/notifications/stream-ticket")).status_code == 401
    forged = {"Authorization": "Bearer not-a-token"}
    assert (
        await client.post("/api/notifications/stream-ticket", headers=forged)
    ).status_code == 401
    _, auth = await signed_in(database, client)
    assert (await client.post("/api/auth/logout", headers=auth)).status_code == 204
    assert (await client.post("/api/notifications/stream-ticket", headers=auth)).status_code == 401


async def test_the_ticket_never_appears_in_the_server_log(
    client: httpx.AsyncClient, database: Database, server: LiveServer
) -> None:
    _, auth = await signed_in(database, client)
    used = await stream_ticket(client, auth)
    async with open_stream(client, STREAM_PATH, params={"ticket": used}) as stream:
        await connected(stream)
    assert_invalid_ticket(await client.get(STREAM_PATH, params={"ticket": used}))
    refused = "never-issued-" + uuid.uuid4().hex
    assert_invalid_ticket(await client.get(STREAM_PATH, params={"ticket": refused}))

    await asyncio.sleep(0.5)  # the access log line is written when the stream has ended
    log = server.log_path.read_text(errors="replace")
    stream_lines = [line for line in log.splitlines() if STREAM_PATH in line]
    # The middleware logs the stream requests (200s and the 401), by path only.
    assert any("status=200" in line or '"status": 200' in line for line in stream_lines), log[
        -3000:
    ]
    assert any("status=401" in line or '"status": 401' in line for line in stream_lines), log[
        -3000:
    ]
    assert used not in log and refused not in log
    assert "ticket=" not in log


# --- live delivery ----------------------------------------------------------------------


async def test_a_status_change_reaches_the_uploader_and_radiologists_not_other_clinicians(
    client: httpx.AsyncClient, database: Database
) -> None:
    uploader, uploader_auth = await signed_in(database, client)
    _, other_auth = await signed_in(database, client)
    _, radiologist_auth = await signed_in(database, client, Role.radiologist)
    report_id = await create_report(database, uploader=uploader)

    async with (
        open_stream(
            client, STREAM_PATH, params={"ticket": await stream_ticket(client, uploader_auth)}
        ) as mine,
        open_stream(
            client, STREAM_PATH, params={"ticket": await stream_ticket(client, other_auth)}
        ) as others,
        open_stream(
            client, STREAM_PATH, params={"ticket": await stream_ticket(client, radiologist_auth)}
        ) as radiology,
    ):
        for stream in (mine, others, radiology):
            await connected(stream)

        await set_status(client, radiologist_auth, report_id, "PENDING")
        for stream in (mine, radiology):
            event = await stream.next_event()
            assert event.event == "report_updated"
            assert event.id is not None and event.id.isdigit()
            data = event.json()
            assert data["report_id"] == str(report_id)
            assert data["status"] == "PENDING" and data["previous_status"] == "ASSIGNED"

        response = await client.patch(
            f"/api/reports/{report_id}",
            json={"impression": "No acute findings."},
            headers=radiologist_auth,
        )
        assert response.status_code == 200, response.text
        await set_status(client, radiologist_auth, report_id, "READY")

        got = [await mine.next_event() for _ in range(3)]
        assert [e.event for e in got] == ["report_updated", "report_updated", "notification"]
        assert got[1].json()["status"] == "READY"
        notification = got[2].json()
        assert notification["type"] == "report_ready"
        assert notification["report_id"] == str(report_id)
        assert notification["read"] is False
        ids = [int(e.id or 0) for e in got]
        assert ids == sorted(set(ids)), ids
        # The radiologist sees the report change, not the uploader's notification.
        assert [e.event for e in await radiology.events(2)] == ["report_updated"] * 2

        assert await others.quiet_for(1.0) == []
        assert await radiology.quiet_for(0.2) == []


# --- replay -----------------------------------------------------------------------------


async def test_a_reconnect_replays_exactly_the_missed_events_in_order(
    client: httpx.AsyncClient, database: Database
) -> None:
    uploader, uploader_auth = await signed_in(database, client)
    _, radiologist_auth = await signed_in(database, client, Role.radiologist)
    report_id = await create_report(database, uploader=uploader)

    ticket = await stream_ticket(client, uploader_auth)
    async with open_stream(client, STREAM_PATH, params={"ticket": ticket}) as stream:
        await connected(stream)
        await set_status(client, radiologist_auth, report_id, "PENDING")
        seen = await stream.next_event()
        assert seen.json()["status"] == "PENDING"
        last_id = stream.last_event_id
        assert last_id == seen.id

    missed = ["ASSIGNED", "PENDING", "ASSIGNED"]
    for status in missed:
        await set_status(client, radiologist_auth, report_id, status)

    async def replayed(stream: SseStream) -> list[SseEvent]:
        got = await stream.events(len(missed))
        # ...then `connected`, and nothing more: no duplicates of what was replayed.
        assert await stream.quiet_for(1.0) == []
        return got

    # EventSource's own reconnect: the header.
    ticket = await stream_ticket(client, uploader_auth)
    async with open_stream(
        client, STREAM_PATH, params={"ticket": ticket}, last_event_id=last_id
    ) as stream:
        by_header = await replayed(stream)

    # A fresh EventSource (new ticket) says where it was with ?after=.
    ticket = await stream_ticket(client, uploader_auth)
    async with open_stream(
        client, STREAM_PATH, params={"ticket": ticket, "after": str(last_id)}
    ) as stream:
        by_query = await replayed(stream)
        # Live events continue after the replay, once each.
        await set_status(client, radiologist_auth, report_id, "PENDING")
        live = await stream.next_event()
        assert live.json()["status"] == "PENDING"
        assert await stream.quiet_for(0.5) == []

    for got in (by_header, by_query):
        assert [e.json()["status"] for e in got] == missed
        assert all(e.event == "report_updated" for e in got)
        ids = [int(e.id or 0) for e in got]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert ids[0] > int(last_id or 0)
    assert [e.id for e in by_header] == [e.id for e in by_query]
    assert int(live.id or 0) > int(by_header[-1].id or 0)


async def test_a_fresh_stream_starts_with_a_resume_point_so_an_early_drop_loses_nothing(
    client: httpx.AsyncClient, database: Database
) -> None:
    """Without it, a client that drops before its first real event has no id to resume
    after, and whatever happened meanwhile could only be re-read, not replayed."""
    uploader, uploader_auth = await signed_in(database, client)
    _, radiologist_auth = await signed_in(database, client, Role.radiologist)
    report_id = await create_report(database, uploader=uploader)
    await set_status(client, radiologist_auth, report_id, "PENDING")  # history before us

    ticket = await stream_ticket(client, uploader_auth)
    async with open_stream(client, STREAM_PATH, params={"ticket": ticket}) as stream:
        ready = await connected(stream)
        assert ready is not None and ready.id is not None
        assert ready.json() == {"last_event_id": int(ready.id)}
        assert await stream.quiet_for(0.5) == []  # the past is not replayed to a new stream

    await set_status(client, radiologist_auth, report_id, "ASSIGNED")  # while disconnected
    ticket = await stream_ticket(client, uploader_auth)
    async with open_stream(
        client, STREAM_PATH, params={"ticket": ticket, "after": ready.id}
    ) as stream:
        missed = await stream.next_event()
        assert missed.event == "report_updated" and missed.json()["status"] == "ASSIGNED"
        assert int(missed.id or 0) > int(ready.id)
        assert await stream.quiet_for(0.5) == []


# --- keep-alive and the end of a stream ---------------------------------------------------


async def test_an_idle_stream_gets_keep_alive_pings(
    client: httpx.AsyncClient, database: Database
) -> None:
    _, auth = await signed_in(database, client)
    ticket = await stream_ticket(client, auth)
    async with open_stream(client, STREAM_PATH, params={"ticket": ticket}) as stream:
        await connected(stream)
        assert await stream.quiet_for(PING * 5) == []
        pings = [c for c in stream.comments if c.text.startswith("ping")]
        assert len(pings) >= 3, stream.comments
        gaps = [b.received_at - a.received_at for a, b in itertools.pairwise(pings)]
        assert all(gap < PING * 3 for gap in gaps), gaps
        assert not stream.ended.is_set()


async def test_a_stream_ends_when_its_session_is_revoked(
    client: httpx.AsyncClient, database: Database
) -> None:
    _, auth = await signed_in(database, client)
    _, other_auth = await signed_in(database, client)
    ticket = await stream_ticket(client, auth)
    other_ticket = await stream_ticket(client, other_auth)
    async with (
        open_stream(client, STREAM_PATH, params={"ticket": ticket}) as stream,
        open_stream(client, STREAM_PATH, params={"ticket": other_ticket}) as unaffected,
    ):
        await connected(stream)
        await connected(unaffected)
        assert (await client.post("/api/auth/logout", headers=auth)).status_code == 204
        await stream.wait_ended(SESSION_CHECK * 10)
        with pytest.raises(StreamEnded):  # what was queued before the end: pings only
            while True:
                assert isinstance(await stream.next(1), SseComment)
        # Another user's stream stays open (its pings keep coming).
        await asyncio.sleep(SESSION_CHECK * 3)
        assert not unaffected.ended.is_set()
