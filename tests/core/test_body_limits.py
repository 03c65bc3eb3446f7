"""Request bodies are bounded before they are read: 413 `payload_too_large` on
Content-Length up front and while streaming (a body without Content-Length is cut off at
the limit, never buffered whole), JSON at REQUEST_MAX_BODY_BYTES, a chunk at its upload's
chunk size; and nothing is changed by a refused request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from relaypacs.audit.models import AuditEvent
from relaypacs.auth.models import User
from relaypacs.core.config import MAX_CHUNK_SIZE
from relaypacs.uploads.models import Upload, UploadChunk
from tests.dicom_factory import write_study
from tests.factories import auth_headers, create_user
from tests.live_server import LiveServer, server_env
from tests.upload_client import chunk_of, content_md5, init_body, put_chunk

LIMIT = 4096
PIECE = 1024


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"request_max_body_bytes": LIMIT}


class Streamed:
    """A request body sent without Content-Length (chunked), counting what was pulled."""

    def __init__(self, total: int, piece: int = PIECE, fill: bytes = b" ") -> None:
        self.total, self.piece, self.fill, self.sent = total, piece, fill, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            size = min(self.piece, self.total - self.sent)
            self.sent += size
            yield self.fill * size


async def _snapshot(app: FastAPI) -> tuple[int, ...]:
    async with app.state.database.sessionmaker() as session:
        counts = [
            await session.scalar(select(func.count()).select_from(table))
            for table in (User, AuditEvent, Upload, UploadChunk)
        ]
        failures = await session.scalar(select(func.coalesce(func.sum(User.failed_login_count), 0)))
    return (*[int(c or 0) for c in counts], int(failures or 0))


def _assert_413(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "payload_too_large" and error["limit"] == limit, error
    assert "x-request-id" in response.headers


def _padded_login(user_login: str, size: int) -> bytes:
    # Padded with JSON whitespace: the body stays a valid login (unknown fields are refused).
    raw = json.dumps({"login": user_login, "password": "wrong-password-123456"}).encode()
    encoded = raw + b" " * (size - len(raw))
    assert len(encoded) == size
    return encoded


JSON = {"content-type": "application/json"}


async def test_a_json_body_over_the_limit_with_content_length_is_413_on_a_public_route(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    before = await _snapshot(app)
    r = await client.post(
        "/api/auth/login", content=_padded_login(user.username, LIMIT + 1), headers=JSON
    )
    _assert_413(r, LIMIT)
    # Not even counted as a failed sign-in: the request was refused before it was read.
    assert await _snapshot(app) == before
    # At the limit exactly, the body is read and the wrong password answered as usual.
    r = await client.post(
        "/api/auth/login", content=_padded_login(user.username, LIMIT), headers=JSON
    )
    assert r.status_code == 401, r.text


async def test_a_body_without_content_length_is_cut_off_at_the_limit_not_read_whole(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    before = await _snapshot(app)
    body = Streamed(64 * 1024 * 1024)
    r = await client.post("/api/auth/register", content=body, headers=JSON)
    _assert_413(r, LIMIT)
    # Refused as soon as the limit was passed: the rest of the 64 MiB was never pulled.
    assert body.sent <= LIMIT + PIECE, body.sent
    assert await _snapshot(app) == before


async def test_an_authenticated_json_route_is_bounded_too_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    headers = await auth_headers(app, client)
    paths = write_study(tmp_path / "s", count=1).paths
    body = init_body(paths)
    body["files"] = body["files"] * 200  # ≈ 8 KB of JSON
    before = await _snapshot(app)
    r = await client.post("/api/upload/init", json=body, headers=headers)
    _assert_413(r, LIMIT)
    r = await client.post(
        "/api/upload/init", content=Streamed(LIMIT * 4, fill=b"["), headers=headers | JSON
    )
    _assert_413(r, LIMIT)
    assert await _snapshot(app) == before


async def test_a_route_that_reads_no_body_refuses_a_large_one_up_front(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = await auth_headers(app, client)
    body = Streamed(LIMIT + 1)
    r = await client.request(
        "GET",
        "/api/auth/me",
        content=body,
        headers=headers | {"content-length": str(LIMIT + 1)},
    )
    _assert_413(r, LIMIT)
    assert body.sent == 0  # answered on the header alone
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200


# --- chunks: at most the upload's chunk size, whatever REQUEST_MAX_BODY_BYTES is -------

CHUNK = 256 * 1024


async def _chunked_upload(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path, chunk_size: int = CHUNK
) -> tuple[dict[str, Any], list[Path], dict[str, str]]:
    headers = await auth_headers(app, client)
    paths = write_study(tmp_path / "study", count=1, pixel_bytes=3 * chunk_size).paths
    # The init body itself must fit REQUEST_MAX_BODY_BYTES: one file.
    r = await client.post(
        "/api/upload/init", json=init_body(paths, chunk_size=chunk_size), headers=headers
    )
    assert r.status_code == 201, r.text
    return r.json(), paths, headers


async def _stored(app: FastAPI) -> int:
    async with app.state.database.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(UploadChunk)) or 0)


async def test_a_chunk_over_the_uploads_chunk_size_is_413_and_stores_nothing(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    created, paths, headers = await _chunked_upload(app, client, tmp_path)
    uid = created["upload_id"]
    data = chunk_of(paths[0], 0, CHUNK) + b"x"
    r = await put_chunk(client, uid, 0, 0, data, headers)  # with Content-Length
    _assert_413(r, CHUNK)

    body = Streamed(8 * CHUNK, piece=16 * 1024)
    r = await client.put(
        f"/api/upload/{uid}/chunk",
        params={"file": 0, "index": 0},
        content=body,
        headers=headers | {"Content-MD5": content_md5(data)},
    )
    _assert_413(r, CHUNK)
    assert body.sent <= CHUNK + 16 * 1024, body.sent
    assert await _stored(app) == 0
    status = (await client.get(f"/api/upload/{uid}/status", headers=headers)).json()
    assert status["state"] == "uploading" and status["files"][0]["received"] == 0


async def test_a_chunk_may_be_larger_than_the_json_limit_up_to_its_chunk_size(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    created, paths, headers = await _chunked_upload(app, client, tmp_path, chunk_size=CHUNK)
    data = chunk_of(paths[0], 0, CHUNK)
    assert len(data) > LIMIT
    r = await put_chunk(client, created["upload_id"], 0, 0, data, headers)
    assert r.status_code == 200, r.text


async def test_a_chunk_route_body_over_the_largest_chunk_size_is_refused_before_auth(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    body = Streamed(MAX_CHUNK_SIZE + 1)
    r = await client.put(
        "/api/upload/00000000-0000-0000-0000-000000000000/chunk",
        params={"file": 0, "index": 0},
        content=body,
        headers={"content-length": str(MAX_CHUNK_SIZE + 1)},
    )
    _assert_413(r, MAX_CHUNK_SIZE)
    assert body.sent == 0


async def test_no_database_connection_is_held_while_a_chunk_body_arrives(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    created, paths, headers = await _chunked_upload(app, client, tmp_path)
    data = chunk_of(paths[0], 0, CHUNK)
    half = asyncio.Event()
    go_on = asyncio.Event()

    async def slow_client() -> AsyncIterator[bytes]:
        yield data[: CHUNK // 2]
        half.set()
        await go_on.wait()
        yield data[CHUNK // 2 :]

    sending = asyncio.create_task(
        client.put(
            f"/api/upload/{created['upload_id']}/chunk",
            params={"file": 0, "index": 0},
            content=slow_client(),
            headers=headers | {"Content-MD5": content_md5(data)},
        )
    )
    await asyncio.wait_for(half.wait(), 10)
    await asyncio.sleep(0.05)
    assert app.state.database.engine.pool.checkedout() == 0
    go_on.set()
    r = await sending
    assert r.status_code == 200, r.text


def _rss(server: LiveServer) -> int:
    for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_real_server_cuts_off_a_chunked_body_at_the_limit(
    database_url: str, tmp_path: Path
) -> None:
    """Through uvicorn and a real socket: the app stops reading at the limit and answers
    413; what the client sends after that is discarded as it arrives, never buffered
    (the server's memory does not grow with the 256 MiB), and the connection stays usable."""
    env = server_env(database_url, tmp_path / "data", REQUEST_MAX_BODY_BYTES=str(LIMIT))
    server = LiveServer(env, tmp_path / "server")
    try:
        await server.start_and_wait()
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            assert (await client.get("/healthz")).status_code == 200
            before = _rss(server)
            body = Streamed(256 * 1024 * 1024, piece=64 * 1024)
            r = await client.post("/api/auth/login", content=body, headers=JSON)
            _assert_413(r, LIMIT)
            grown = _rss(server) - before
            assert grown < 32 * 1024 * 1024, f"the server grew by {grown} bytes"
            assert (await client.get("/healthz")).status_code == 200
    finally:
        await asyncio.to_thread(server.close)
