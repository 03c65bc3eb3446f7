"""The web front's nginx config, run by a real nginx in front of a real gateway.

One gateway (`relaypacs serve` on SQLite, forwarding to the Orthanc fixture) and one nginx
for the module, nginx running deploy/nginx/relaypacs.conf.template rendered only for its
listen address, the gateway's address and the built app (frontend/dist). The gateway also
serves the same build, so the cache headers are compared with the gateway's own.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from relaypacs.core.database import Database
from relaypacs.core.permissions import Role
from tests import phi_scan
from tests.conftest import make_settings, start_or_skip
from tests.deploy.nginx_server import TEMPLATE, NginxServer, check_config, nginx_binary
from tests.dicom_factory import write_study
from tests.e2e.harness import build_frontend
from tests.factories import bearer, login
from tests.live_server import LiveServer, server_env
from tests.notifications.factories import create_report, create_user_in
from tests.notifications.sse_client import (
    STREAM_PATH,
    SseComment,
    SseEvent,
    SseStream,
    open_stream,
    stream_ticket,
)
from tests.servers import OrthancServer, free_port
from tests.upload_client import content_md5, init_body

pytestmark = pytest.mark.slow

MiB = 1024 * 1024
CHUNK = 16 * MiB  # MAX_CHUNK_SIZE: the largest body the web front lets through
TIMEOUT = httpx.Timeout(60.0)
JAVASCRIPT = {"application/javascript", "text/javascript"}


@dataclass
class Stack:
    gateway: LiveServer
    nginx: NginxServer
    database_url: str
    base: Path
    dist: Path


@pytest.fixture(scope="module")
def nginx_available() -> None:
    start_or_skip(nginx_binary)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_frontend(tmp_path_factory.mktemp("frontend") / "dist")


@pytest.fixture(scope="module")
def stack(
    nginx_available: None,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    orthanc: OrthancServer,
    dist: Path,
) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("web-front")
    database = base / "relaypacs.db"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite+aiosqlite:///{database}"
    env = server_env(
        url,
        base / "data",
        FRONTEND_DIST=str(dist),
        # Pings once a minute: nothing but the event itself can push it through a buffer.
        SSE_PING_SECONDS="60",
        ACTIVE_PACS="orthanc",
        FALLBACK_PACS="",
        FORWARD_WORKERS="1",
        FORWARD_POLL_SECONDS="0.2",
        PACS_ORTHANC__URL=orthanc.dicomweb_url,
        PACS_ORTHANC__AUTH="basic",
        PACS_ORTHANC__USERNAME=orthanc.username,
        PACS_ORTHANC__PASSWORD=orthanc.password,
    )
    gateway = LiveServer(env, base / "gateway")
    nginx = NginxServer(base / "nginx", gateway=f"127.0.0.1:{gateway.port}", web_root=dist)
    try:
        asyncio.run(gateway.start_and_wait())
        nginx.start()
        phi_scan.watch_log_file(nginx.access_log)
        phi_scan.watch_log_file(nginx.error_log)
        yield Stack(gateway, nginx, url, base, dist)
    finally:
        nginx.stop()
        gateway.close()


@pytest.fixture
async def front(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    assert stack.gateway.is_running(), stack.gateway.log_tail()
    async with httpx.AsyncClient(base_url=stack.nginx.base_url, timeout=TIMEOUT) as client:
        yield client


@pytest.fixture
async def direct(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.gateway.base_url, timeout=TIMEOUT) as client:
        yield client


@pytest.fixture
async def database(stack: Stack) -> AsyncIterator[Database]:
    db = Database(make_settings(stack.database_url, stack.base / "data"))
    yield db
    await db.dispose()


def media_type(response: httpx.Response) -> str:
    content_type: str = response.headers.get("content-type", "")
    return content_type.split(";")[0].strip()


def built(dist: Path, pattern: str) -> str:
    found = sorted(dist.glob(pattern))
    assert found, f"no {pattern} in the build"
    return "/" + found[0].relative_to(dist).as_posix()


# --- the web app --------------------------------------------------------------------------


async def test_the_app_is_served_with_the_gateways_cache_headers(
    stack: Stack, front: httpx.AsyncClient, direct: httpx.AsyncClient
) -> None:
    index = (stack.dist / "index.html").read_bytes()
    script = built(stack.dist, "assets/index-*.js")
    expected = {
        "/": "no-cache",
        "/index.html": "no-cache",
        script: "public, max-age=31536000, immutable",
        built(stack.dist, "assets/*.css"): "public, max-age=31536000, immutable",
        "/sw.js": "no-cache",
        "/manifest.webmanifest": "no-cache",
        "/icons/icon-192.png": "public, max-age=3600",
        "/offline.html": "public, max-age=3600",
        "/favicon.svg": "public, max-age=3600",
        # A deep link into the app: its index page, revalidated like index.html.
        "/history/0b5a7c1e-1d2f-4e6a-9b8c-7d6e5f4a3b2c?tab=reports": "no-cache",
    }
    for path, cache_control in expected.items():
        served = await front.get(path)
        own = await direct.get(path)
        assert served.status_code == own.status_code == 200, (path, served.text[:200])
        assert served.headers["cache-control"] == own.headers["cache-control"] == cache_control
        assert served.headers["x-content-type-options"] == "nosniff", path
        assert served.content == own.content, path
        if media_type(own) in JAVASCRIPT:
            assert media_type(served) in JAVASCRIPT, path
        else:
            assert media_type(served) == media_type(own), (path, media_type(served))

    for path in ("/", "/history/0b5a7c1e-1d2f-4e6a-9b8c-7d6e5f4a3b2c", "/settings/account"):
        answer = await front.get(path)
        assert answer.content == index and media_type(answer) == "text/html", path
    assert media_type(await front.get("/manifest.webmanifest")) == "application/manifest+json"
    assert (await front.get(script)).content == (stack.dist / script.lstrip("/")).read_bytes()
    head = await front.head(script)
    assert head.status_code == 200 and head.headers["cache-control"].endswith("immutable")


async def test_a_missing_build_file_is_a_json_404_not_the_app(
    front: httpx.AsyncClient, direct: httpx.AsyncClient
) -> None:
    for path in ("/assets/index-gone0000.js", "/registerSW.js", "/workbox-00000000.js"):
        served = await front.get(path)
        assert served.status_code == 404, (path, served.text[:200])
        assert served.json()["error"]["code"] == "not_found", path
    own = await direct.get("/assets/index-gone0000.js")
    assert own.status_code == 404 and own.json()["error"]["code"] == "not_found"


async def test_static_files_are_compressed_but_api_answers_are_not(
    stack: Stack, front: httpx.AsyncClient
) -> None:
    script = built(stack.dist, "assets/index-*.js")
    gzipped = await front.get(script, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip"
    assert gzipped.content == (stack.dist / script.lstrip("/")).read_bytes()  # decoded
    api = await front.get("/readyz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in api.headers


async def test_health_readiness_and_api_docs_are_proxied_and_metrics_are_not_published(
    front: httpx.AsyncClient, direct: httpx.AsyncClient
) -> None:
    health = await front.get("/healthz")
    assert health.status_code == 200 and health.json() == (await direct.get("/healthz")).json()
    ready = await front.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"]["ok"] is True
    openapi = await front.get("/openapi.json")
    assert (
        openapi.status_code == 200 and openapi.json() == (await direct.get("/openapi.json")).json()
    )
    assert (await front.get("/docs")).status_code == 200
    # Prometheus scrapes each replica directly; the public front answers as for any unknown path.
    assert (await direct.get("/metrics")).status_code == 200
    for path in ("/metrics", "/metrics/"):
        hidden = await front.get(path)
        assert hidden.status_code == 404, path
        assert hidden.json()["error"]["code"] == "not_found"
    # Unknown API paths are the gateway's JSON 404, never the app's HTML.
    for path in ("/api", "/api/no-such-thing"):
        unknown = await front.get(path)
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


# --- an upload ----------------------------------------------------------------------------


def _study(directory: Path) -> tuple[str, list[Path]]:
    """One file just over a 16 MiB chunk (two chunks) and one small file, of one study."""
    large = write_study(directory / "large", count=1, pixel_bytes=CHUNK + 512 * 1024)
    small = write_study(directory / "small", count=1, study_uid=large.study_uid)
    moved = small.paths[0].rename(directory / "small" / "ct_00002.dcm")
    return large.study_uid, [large.paths[0], moved]


def _stored_in_pacs(orthanc: OrthancServer, study_uid: str) -> set[str]:
    """The SHA-256 of every instance the PACS holds for this study."""
    found = orthanc.request("POST", "/tools/lookup", study_uid.encode())
    (study,) = [item["ID"] for item in found if item["Type"] == "Study"]
    instances = orthanc.request("GET", f"/studies/{study}/instances")
    return {
        hashlib.sha256(orthanc.request("GET", f"/instances/{i['ID']}/file")).hexdigest()
        for i in instances
    }


async def _streamed(data: bytes, piece: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), piece):
        yield data[start : start + piece]
        await asyncio.sleep(0)


async def _status(front: httpx.AsyncClient, upload_id: str, auth: dict[str, str]) -> Any:
    response = await front.get(f"/api/upload/{upload_id}/status", headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


async def test_an_upload_goes_through_the_front_chunks_status_and_complete(
    front: httpx.AsyncClient, database: Database, orthanc: OrthancServer, tmp_path: Path
) -> None:
    user = await create_user_in(database, role=Role.clinician)
    auth = bearer(await login(front, user))
    study_uid, paths = _study(tmp_path)
    init = await front.post(
        "/api/upload/init", json=init_body(paths, chunk_size=CHUNK), headers=auth
    )
    assert init.status_code == 201, init.text
    created = init.json()
    upload_id = created["upload_id"]
    assert [f["total_chunks"] for f in created["files"]] == [2, 1]
    large = paths[0].read_bytes()
    first, last = large[:CHUNK], large[CHUNK:]
    chunk_url = f"/api/upload/{upload_id}/chunk"

    def chunk_headers(data: bytes) -> dict[str, str]:
        return auth | {"Content-MD5": content_md5(data), "Content-Type": "application/octet-stream"}

    # Out of order: the last chunk first; the status says exactly what is missing.
    sent = await front.put(
        chunk_url, params={"file": 0, "index": 1}, content=last, headers=chunk_headers(last)
    )
    assert sent.status_code == 200, sent.text
    status = await _status(front, upload_id, auth)
    assert [(f["received"], f["missing"]) for f in status["files"]] == [(1, [0]), (0, [0])]

    # One byte over the largest chunk: refused in the API's format, nothing stored.
    over = first + b"\0"
    refused = await front.put(
        chunk_url, params={"file": 0, "index": 0}, content=over, headers=chunk_headers(over)
    )
    assert refused.status_code == 413, refused.text
    assert refused.json()["error"]["code"] == "payload_too_large"
    assert refused.json()["error"]["limit"] == CHUNK
    assert (await _status(front, upload_id, auth))["files"][0]["missing"] == [0]

    # A full 16 MiB chunk (16 times nginx's default body limit) passes.
    sent = await front.put(
        chunk_url, params={"file": 0, "index": 0}, content=first, headers=chunk_headers(first)
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["md5"] == hashlib.md5(first).hexdigest()

    # A body without Content-Length (chunked), authorised by the upload token alone.
    small = paths[1].read_bytes()
    token_only = {
        "X-Upload-Token": created["upload_token"],
        "Content-MD5": content_md5(small),
        "Content-Type": "application/octet-stream",
    }
    sent = await front.put(
        chunk_url, params={"file": 1, "index": 0}, content=_streamed(small), headers=token_only
    )
    assert sent.status_code == 200, sent.text
    assert "content-length" not in sent.request.headers
    # The same bytes again: acknowledged again (idempotent).
    again = await front.put(
        chunk_url, params={"file": 1, "index": 0}, content=small, headers=token_only
    )
    assert again.status_code == 200, again.text

    status = await _status(front, upload_id, auth)
    assert [(f["received"], f["missing"]) for f in status["files"]] == [(2, []), (1, [])]

    done = await front.post(f"/api/upload/{upload_id}/complete", headers=auth)
    assert done.status_code == 202, done.text
    assert done.json()["instances"] == 2

    deadline = time.monotonic() + 60
    while True:
        detail = await front.get(f"/api/upload/{upload_id}", headers=auth)
        assert detail.status_code == 200, detail.text
        if detail.json()["state"] == "forwarded":
            break
        assert time.monotonic() < deadline, detail.text
        await asyncio.sleep(0.25)
    # The PACS holds exactly the bytes sent through the front.
    sent_files = {hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    assert await asyncio.to_thread(_stored_in_pacs, orthanc, study_uid) == sent_files


# --- Server-Sent Events ---------------------------------------------------------------------


async def _connected(stream: SseStream) -> None:
    assert stream.response.status_code == 200, stream.response.text
    while True:
        item = await stream.next(10)
        if isinstance(item, SseComment) and item.text == "connected":
            return


async def _set_status(front: httpx.AsyncClient, auth: dict[str, str], report: Any, to: str) -> None:
    change = {"status": to, "message": "Please send the prior study."}
    response = await front.post(f"/api/reports/{report}/status", json=change, headers=auth)
    assert response.status_code == 200, response.text


async def test_an_event_passes_the_front_at_once_while_the_stream_stays_open(
    stack: Stack, front: httpx.AsyncClient, database: Database
) -> None:
    uploader = await create_user_in(database, role=Role.clinician)
    uploader_auth = bearer(await login(front, uploader))
    radiologist = await create_user_in(database, role=Role.radiologist)
    radiologist_auth = bearer(await login(front, radiologist))
    report = await create_report(database, uploader=uploader)
    ticket = await stream_ticket(front, uploader_auth)

    async with open_stream(front, STREAM_PATH, params={"ticket": ticket}) as stream:
        await _connected(stream)
        assert media_type(stream.response) == "text/event-stream"
        assert "content-encoding" not in stream.response.headers

        for status in ("PENDING", "ADDITIONAL_DATA_REQUIRED"):
            sent_at = time.monotonic()
            await _set_status(front, radiologist_auth, report, status)
            event: SseEvent = await stream.next_event(timeout=10)
            while event.event != "report_updated":
                event = await stream.next_event(timeout=10)
            assert event.json()["status"] == status
            # Nothing on the way may hold this small event back (compression or a cache
            # would, until the next ping a minute later).
            assert event.received_at - sent_at < 2.0, event.received_at - sent_at
            assert not stream.ended.is_set()

    await asyncio.sleep(0.5)  # nginx writes the access log line once the stream has ended
    log = stack.nginx.access_log.read_text()
    assert f"GET {STREAM_PATH} HTTP/1.1" in log, log[-2000:]
    assert ticket not in log and "ticket=" not in log


# --- client addresses, request ids, errors ----------------------------------------------------


async def _session_ip(base_url: str, user: Any, spoofed: str) -> str | None:
    """Sign in from 127.0.0.5 with a forged X-Forwarded-For; the address the session got."""
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.5")
    async with httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        timeout=TIMEOUT,
        headers={"X-Forwarded-For": spoofed},
    ) as client:
        auth = bearer(await login(client, user))
        sessions = await client.get("/api/auth/sessions", headers=auth)
        assert sessions.status_code == 200, sessions.text
        (current,) = [s for s in sessions.json()["items"] if s["current"]]
        ip: str | None = current["ip"]
        return ip


async def test_the_gateway_sees_the_clients_address_through_the_front_not_a_forged_one(
    stack: Stack, database: Database
) -> None:
    user = await create_user_in(database, role=Role.clinician)
    assert await _session_ip(stack.nginx.base_url, user, "203.0.113.9") == "127.0.0.5"
    # Straight to the gateway the forged header is not believed either (127.0.0.5 is no proxy).
    assert await _session_ip(stack.gateway.base_url, user, "203.0.113.9") == "127.0.0.5"


async def test_the_front_hands_its_request_id_to_the_gateway(
    stack: Stack, front: httpx.AsyncClient
) -> None:
    response = await front.get("/healthz")
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32 and int(request_id, 16) >= 0
    await asyncio.sleep(0.2)
    assert f"request_id={request_id}" in stack.nginx.access_log.read_text()


async def test_an_unreachable_gateway_is_a_json_502_and_the_app_still_loads(
    stack: Stack, tmp_path: Path
) -> None:
    with NginxServer(
        tmp_path / "nginx", gateway=f"127.0.0.1:{free_port()}", web_root=stack.dist
    ) as down:
        async with httpx.AsyncClient(base_url=down.base_url, timeout=TIMEOUT) as client:
            api = await client.get("/api/auth/me")
            assert api.status_code == 502, api.text
            assert api.json()["error"]["code"] == "gateway_unavailable"
            assert (await client.get("/readyz")).status_code == 502
            app = await client.get("/history")
            assert app.status_code == 200 and media_type(app) == "text/html"


def test_the_config_the_image_renders_is_valid(nginx_available: None, tmp_path: Path) -> None:
    # frontend/Dockerfile's values: the compose service name and the image's web root.
    output = check_config(tmp_path, "gateway:8000", "/usr/share/nginx/html", "8080")
    assert "test is successful" in output


def test_the_body_limit_is_the_largest_chunk_the_gateway_takes() -> None:
    from relaypacs.core.config import MAX_CHUNK_SIZE, CoreSettings

    text = TEMPLATE.read_text()
    (limit,) = re.findall(r"^\s*client_max_body_size (\d+)m;$", text, re.M)
    assert int(limit) * MiB == MAX_CHUNK_SIZE
    # No JSON body may be allowed more than a chunk (REQUEST_MAX_BODY_BYTES' bound).
    bound = CoreSettings.model_fields["request_max_body_bytes"].metadata
    assert any(getattr(m, "le", None) == MAX_CHUNK_SIZE for m in bound)
    assert f'"limit": {MAX_CHUNK_SIZE}' in text
