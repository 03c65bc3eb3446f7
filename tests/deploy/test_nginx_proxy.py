"""Through the web front's nginx (tests/deploy/conftest.py) to a real gateway: an upload
(init, chunks, status, complete) that reaches the PACS, the notification stream without
buffering, the client's address and the request id handed on."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from relaypacs.core.database import Database
from relaypacs.core.permissions import Role
from tests import phi_scan
from tests.deploy.web_front import TIMEOUT, Stack, media_type
from tests.dicom_factory import write_study
from tests.factories import bearer, login
from tests.notifications.factories import create_report, create_user_in
from tests.notifications.sse_client import (
    STREAM_PATH,
    SseComment,
    SseEvent,
    SseStream,
    open_stream,
    stream_ticket,
)
from tests.servers import OrthancServer
from tests.upload_client import content_md5, init_body

pytestmark = pytest.mark.slow

MiB = 1024 * 1024
CHUNK = 16 * MiB  # MAX_CHUNK_SIZE: the largest body the web front lets through


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


async def test_a_tus_patch_larger_than_a_chunk_streams_through_the_front(
    front: httpx.AsyncClient, database: Database
) -> None:
    """One tus PATCH with a whole 20 MiB file (over the front's 16 MiB body limit elsewhere)."""
    user = await create_user_in(database, role=Role.clinician)
    auth = bearer(await login(front, user))
    size = 20 * MiB + 12_345
    data = hashlib.sha256(b"tus-front").digest() * (size // 32 + 1)
    data = data[:size]
    init = await front.post(
        "/api/upload/init",
        json={
            "patient_name": phi_scan.registered_name("Front^Tusker"),
            "study_date": "2026-01-15",
            "modality": "CT",
            "service_level": "ROUTINE",
            "files": [{"name": "big.dcm", "size": size}],
            "force_upload": True,
        },
        headers=auth,
    )
    assert init.status_code == 201, init.text
    created = init.json()
    tus = {"Tus-Resumable": "1.0.0"}
    metadata = "upload_id {},file_index MA==".format(
        base64.b64encode(created["upload_id"].encode()).decode()
    )
    made = await front.post(
        "/api/tus/", headers=auth | tus | {"Upload-Length": str(size), "Upload-Metadata": metadata}
    )
    assert made.status_code == 201, made.text
    url = made.headers["Location"]
    sent = await front.patch(
        url,
        content=_streamed(data),
        headers=auth
        | tus
        | {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )
    assert sent.status_code == 204, sent.text
    assert sent.headers["Upload-Offset"] == str(size)
    assert sent.headers["Tus-Resumable"] == "1.0.0"
    head = await front.head(url, headers=auth | tus)
    assert head.headers["Upload-Offset"] == str(size)
    assert head.headers["Cache-Control"] == "no-store"
    status = await _status(front, created["upload_id"], auth)
    assert status["files"][0]["missing"] == []


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
