"""The stats cache: one database pass per TTL, invalidated by every upload change at once
(init, complete, cancel, expiry; forwarding in tests/pacs/test_metrics_exposed.py), across
processes through Redis, and never an error when Redis is gone."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from relaypacs.core.cache import RedisCache
from relaypacs.core.database import Database, utcnow
from relaypacs.core.permissions import Role
from relaypacs.uploads import changes, housekeeping
from relaypacs.uploads.models import UploadState
from tests.conftest import make_settings
from tests.dicom_factory import write_study
from tests.factories import auth_headers, bearer, create_user, login
from tests.live_server import LiveServer, server_env
from tests.notifications.factories import create_user_in
from tests.servers import PostgresServer, RedisServer, free_port
from tests.stats.seed import seed, upload_row
from tests.upload_client import init_body, upload_study

UPLOAD_QUERY = re.compile(r"\bFROM upload\b", re.IGNORECASE)


@pytest.fixture
def upload_queries(app: FastAPI) -> Iterator[list[str]]:
    """Every SQL statement that reads the upload table, as it runs."""
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if UPLOAD_QUERY.search(statement):
            seen.append(statement)

    engine = app.state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", listen)
    yield seen
    event.remove(engine, "before_cursor_execute", listen)


async def get_stats(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> dict[str, Any]:
    response = await client.get("/api/upload/stats", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_repeated_calls_within_the_ttl_hit_the_database_once(
    app: FastAPI, client: httpx.AsyncClient, upload_queries: list[str]
) -> None:
    headers = await auth_headers(app, client, role=Role.admin)
    first = await get_stats(client, headers, period="1m")
    computed = len(upload_queries)
    assert computed >= 3  # breakdown, daily, volume
    for _ in range(5):
        assert await get_stats(client, headers, period="1m") == first
    assert len(upload_queries) == computed
    # Another period (or zone) is another entry.
    await get_stats(client, headers, period="1m", tz="Europe/London")
    assert len(upload_queries) == 2 * computed


async def test_every_upload_change_is_counted_in_the_very_next_response(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    headers = await auth_headers(app, client, role=Role.clinician)
    assert (await get_stats(client, headers))["total_uploads"] == 0  # now cached

    study = write_study(tmp_path / "study", count=2, pixel_bytes=4096)
    await upload_study(client, headers, study.paths)
    after_complete = await get_stats(client, headers)
    assert after_complete["total_uploads"] == 1
    assert after_complete["by_outcome"]["in_progress"] == 1  # queued
    assert after_complete["volume_bytes"] == sum(p.stat().st_size for p in study.paths)
    assert after_complete["avg_upload_seconds"] is not None

    init = await client.post(
        "/api/upload/init", json=init_body(study.paths, force_upload=True), headers=headers
    )
    assert init.status_code == 201
    assert (await get_stats(client, headers))["total_uploads"] == 2

    cancel = await client.delete(f"/api/upload/{init.json()['upload_id']}", headers=headers)
    assert cancel.status_code == 204
    assert (await get_stats(client, headers))["by_outcome"]["cancelled"] == 1


async def test_housekeeping_expiry_moves_the_generation_on(app: FastAPI) -> None:
    user = await create_user(app, role=Role.clinician)
    await seed(
        app,
        [upload_row(user, created_at=utcnow(), expires_at=utcnow(), state=UploadState.uploading)],
    )
    before = await changes.generation(app.state.cache)
    report = await housekeeping.cleanup(
        database=app.state.database, storage=app.state.storage, cache=app.state.cache
    )
    assert report.expired_uploads == 1
    assert int(await changes.generation(app.state.cache)) == int(before) + 1


async def test_an_unreachable_redis_means_uncached_stats_never_an_error(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path, upload_queries: list[str]
) -> None:
    headers = await auth_headers(app, client, role=Role.clinician)
    working = app.state.cache
    app.state.cache = RedisCache(f"redis://127.0.0.1:{free_port()}/0")
    try:
        for expected in (0, 1):
            body = await get_stats(client, headers)
            assert body["total_uploads"] == expected
            if expected == 0:
                study = write_study(tmp_path / "study", count=1, pixel_bytes=1024)
                init = await client.post(
                    "/api/upload/init", json=init_body(study.paths), headers=headers
                )
                assert init.status_code == 201  # the generation could not move: no matter
        assert len(upload_queries) >= 6  # computed each time
    finally:
        await app.state.cache.close()
        app.state.cache = working


# --- two processes, one Redis -------------------------------------------------------


@pytest.fixture
async def pair(
    postgres_server: PostgresServer,
    postgres_template: str,
    redis_server: RedisServer,
    tmp_path: Path,
) -> AsyncIterator[tuple[LiveServer, LiveServer, Database]]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    postgres_server.create_database(name, template=postgres_template)
    url = postgres_server.url(name)
    env = server_env(url, tmp_path / "data", REDIS_URL=redis_server.url)
    a, b = LiveServer(env, tmp_path / "a"), LiveServer(env, tmp_path / "b")
    a.start()
    b.start()
    database = Database(make_settings(url, tmp_path / "data"))
    try:
        await asyncio.gather(a.wait_ready(), b.wait_ready())
        yield a, b, database
    finally:
        a.close()
        b.close()
        await database.dispose()
        postgres_server.drop_database(name)


@pytest.mark.slow
async def test_two_processes_on_one_redis_agree(
    pair: tuple[LiveServer, LiveServer, Database], tmp_path: Path
) -> None:
    a, b, database = pair
    admin = await create_user_in(database, role=Role.admin)
    study = write_study(tmp_path / "study", count=1, pixel_bytes=1024)
    async with (
        httpx.AsyncClient(base_url=a.base_url, timeout=30) as on_a,
        httpx.AsyncClient(base_url=b.base_url, timeout=30) as on_b,
    ):
        headers = bearer(await login(on_a, admin))
        assert (await get_stats(on_a, headers))["total_uploads"] == 0
        assert (await get_stats(on_b, headers))["total_uploads"] == 0  # cached on both
        init = await on_a.post("/api/upload/init", json=init_body(study.paths), headers=headers)
        assert init.status_code == 201
        # B's cached answer is gone the moment A's change committed.
        from_b = await get_stats(on_b, headers)
        assert from_b["total_uploads"] == 1
        # And they share one cache: A answers B's computation, to the microsecond.
        assert await get_stats(on_a, headers) == from_b
