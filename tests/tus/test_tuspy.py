"""tuspy (the tus project's Python client, used as it ships) against a real `relaypacs
serve`: a study's files sent over tus are completed with our own `complete` and reach the
real Orthanc byte for byte; a PATCH cut by the client mid-body is resumed by a new
Uploader from HEAD's offset (not from zero); a checksum mismatch is 460 and stores
nothing; a terminated file can be sent again."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pydicom
import pytest
import requests
from tusclient import client as tus_client
from tusclient.exceptions import TusUploadFailed

from relaypacs.users import commands
from tests.cluster.stack import orthanc_sha256s
from tests.conftest import fresh_database_url, make_settings
from tests.dicom_factory import StudyFiles, write_study
from tests.live_server import LiveServer, server_env
from tests.servers import OrthancServer
from tests.upload_client import init_body

pytestmark = pytest.mark.slow

CHUNK = 256 * 1024
USERNAME = "tusadmin"
PASSWORD = "tus-client-password-5521"
TIMEOUT = 30.0


def pacs_env(orthanc: OrthancServer) -> dict[str, str]:
    return {
        "FORWARD_WORKERS": "1",
        "ACTIVE_PACS": "orthanc",
        "FALLBACK_PACS": "",
        "FORWARD_POLL_SECONDS": "0.2",
        "FORWARD_BACKOFF_BASE_SECONDS": "0.2",
        "FORWARD_BACKOFF_MAX_SECONDS": "1",
        "PACS_ORTHANC__TYPE": "dicomweb",
        "PACS_ORTHANC__URL": orthanc.dicomweb_url,
        "PACS_ORTHANC__AUTH": "basic",
        "PACS_ORTHANC__USERNAME": orthanc.username,
        "PACS_ORTHANC__PASSWORD": orthanc.password,
    }


class Gateway:
    def __init__(self, server: LiveServer, bearer: dict[str, str]) -> None:
        self.server = server
        self.bearer = bearer

    @property
    def endpoint(self) -> str:
        return f"{self.server.base_url}/api/tus/"

    async def init(self, study: StudyFiles) -> dict[str, Any]:
        body = init_body(study.paths, chunk_size=CHUNK, force_upload=True)
        async with httpx.AsyncClient(base_url=self.server.base_url, timeout=TIMEOUT) as c:
            r = await c.post("/api/upload/init", json=body, headers=self.bearer)
        assert r.status_code == 201, r.text
        created: dict[str, Any] = r.json()
        return created

    async def get(self, path: str, headers: dict[str, str]) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.server.base_url, timeout=TIMEOUT) as c:
            r = await c.get(path, headers=headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def complete_and_wait(self, created: dict[str, Any]) -> dict[str, Any]:
        upload_id = created["upload_id"]
        async with httpx.AsyncClient(base_url=self.server.base_url, timeout=TIMEOUT) as c:
            r = await c.post(f"/api/upload/{upload_id}/complete", headers=token(created))
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 60
        while True:
            detail = await self.get(f"/api/upload/{upload_id}", self.bearer)
            if detail["state"] in {"forwarded", "failed"}:
                return detail
            assert time.monotonic() < deadline, f"not forwarded: {detail['forwarding']}"
            await asyncio.sleep(0.2)


def token(created: dict[str, Any]) -> dict[str, str]:
    return {"X-Upload-Token": created["upload_token"]}


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database_url(request, "sqlite", tmp_path)


@pytest.fixture
async def gateway(
    sqlite_url: str, tmp_path: Path, orthanc: OrthancServer
) -> AsyncIterator[Gateway]:
    if not orthanc.running:
        orthanc.start()
    orthanc.clear()
    database_url = sqlite_url
    data_dir = tmp_path / "data"
    await commands.create_admin(
        make_settings(database_url, data_dir),
        email="tus-admin@example.org",
        username=USERNAME,
        password=PASSWORD,
        full_name="Tus Client",
        facility="General Hospital",
    )
    server = LiveServer(
        server_env(database_url, data_dir, **pacs_env(orthanc)), tmp_path / "server"
    )
    try:
        await server.start_and_wait()
        async with httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT) as c:
            r = await c.post("/api/auth/login", json={"login": USERNAME, "password": PASSWORD})
        assert r.status_code == 200, r.text
        yield Gateway(server, {"Authorization": f"Bearer {r.json()['access_token']}"})
    finally:
        await asyncio.to_thread(server.close)


def source_sha256s(study: StudyFiles) -> dict[str, str]:
    return {
        str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID): hashlib.sha256(
            p.read_bytes()
        ).hexdigest()
        for p in study.paths
    }


def uploader(
    gateway: Gateway, created: dict[str, Any], study: StudyFiles, index: int, **options: Any
) -> Any:
    client = tus_client.TusClient(gateway.endpoint, headers=token(created))
    metadata = {
        "upload_id": created["upload_id"],
        "file_index": str(index),
        "filename": study.paths[index].name,
    }
    return client.uploader(str(study.paths[index]), metadata=metadata, **options)


async def test_a_study_sent_with_tuspy_reaches_orthanc_intact(
    gateway: Gateway, orthanc: OrthancServer, tmp_path: Path
) -> None:
    # ~600 KiB files: PATCHes of 100 000 bytes never fall on a 256 KiB chunk boundary,
    # and one file goes in a single PATCH (tuspy's default: the whole file).
    study = write_study(tmp_path / "study", count=3, pixel_bytes=600 * 1024)
    created = await gateway.init(study)
    for index in range(len(study.paths)):
        options = {"chunk_size": 100_000} if index < 2 else {}
        up = uploader(gateway, created, study, index, **options)
        await asyncio.to_thread(up.upload)
        assert up.offset == study.paths[index].stat().st_size
    progress = await gateway.get(f"/api/upload/{created['upload_id']}/status", token(created))
    assert all(f["missing"] == [] for f in progress["files"]), progress
    detail = await gateway.complete_and_wait(created)
    assert detail["state"] == "forwarded", detail["forwarding"]
    held = await asyncio.to_thread(orthanc_sha256s, orthanc, study.study_uid)
    assert held == source_sha256s(study)


async def head_offset(url: str, headers: dict[str, str]) -> int:
    async with httpx.AsyncClient(timeout=TIMEOUT) as c:
        r = await c.head(url, headers=headers)
    assert r.status_code == 200, r.text
    return int(r.headers["Upload-Offset"])


def cut_patch(url: str, headers: dict[str, str], sent: bytes, declared: int) -> None:
    """A PATCH whose client goes away mid-body: `declared` bytes announced, `sent` sent."""
    parts = urlsplit(url)
    lines = [f"PATCH {parts.path} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {declared}")
    with socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + sent)
        time.sleep(0.3)  # let the server read what was sent before the connection drops


async def test_a_patch_cut_mid_body_resumes_from_heads_offset_not_from_zero(
    gateway: Gateway, orthanc: OrthancServer, tmp_path: Path
) -> None:
    study = write_study(tmp_path / "study", count=1, pixel_bytes=900 * 1024)
    path = study.paths[0]
    data = path.read_bytes()
    created = await gateway.init(study)
    first = uploader(gateway, created, study, 0)
    url = await asyncio.to_thread(first.create_url)
    sent = data[: 2 * CHUNK + 12_345]  # two whole chunks and a tail
    headers = token(created) | {
        "Tus-Resumable": "1.0.0",
        "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
    }
    await asyncio.to_thread(cut_patch, url, headers, sent, len(data))

    deadline = time.monotonic() + 10
    while True:  # the server notices the disconnect and stores what arrived
        offset = await head_offset(url, headers)
        if offset == len(sent) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert offset == len(sent)
    progress = await gateway.get(f"/api/upload/{created['upload_id']}/status", token(created))
    assert progress["files"][0]["received"] == 2  # the tail is not a chunk yet

    resumed = await asyncio.to_thread(
        lambda: uploader(gateway, created, study, 0, url=url, chunk_size=150_000)
    )
    assert resumed.offset == len(sent)  # from HEAD, not from zero
    await asyncio.to_thread(resumed.upload)
    detail = await gateway.complete_and_wait(created)
    assert detail["state"] == "forwarded", detail["forwarding"]
    held = await asyncio.to_thread(orthanc_sha256s, orthanc, study.study_uid)
    assert held == source_sha256s(study)


async def test_a_checksum_mismatch_is_460_and_nothing_is_stored(
    gateway: Gateway, tmp_path: Path
) -> None:
    study = write_study(tmp_path / "study", count=1, pixel_bytes=700 * 1024)
    created = await gateway.init(study)
    up = uploader(gateway, created, study, 0, chunk_size=300_000, upload_checksum=True)
    # The checksum tuspy sends is of other bytes than the body.
    up._BaseUploader__checksum_algorithm = lambda data: hashlib.sha1(data + b"!")
    with pytest.raises(TusUploadFailed) as failed:
        await asyncio.to_thread(up.upload_chunk)
    assert failed.value.status_code == 460
    assert await head_offset(up.url, token(created) | {"Tus-Resumable": "1.0.0"}) == 0
    progress = await gateway.get(f"/api/upload/{created['upload_id']}/status", token(created))
    assert progress["files"][0]["received"] == 0
    # A checksummed PATCH cut mid-body cannot be verified: nothing of it is kept either.
    data = study.paths[0].read_bytes()
    digest = base64.b64encode(hashlib.sha1(data).digest()).decode()
    headers = token(created) | {
        "Tus-Resumable": "1.0.0",
        "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
        "Upload-Checksum": f"sha1 {digest}",
    }
    await asyncio.to_thread(cut_patch, up.url, headers, data[: 2 * CHUNK + 99], len(data))
    await asyncio.sleep(0.5)
    assert await head_offset(up.url, token(created) | {"Tus-Resumable": "1.0.0"}) == 0
    progress = await gateway.get(f"/api/upload/{created['upload_id']}/status", token(created))
    assert progress["files"][0]["received"] == 0

    good = uploader(
        gateway, created, study, 0, url=up.url, chunk_size=300_000, upload_checksum=True
    )
    await asyncio.to_thread(good.upload)
    progress = await gateway.get(f"/api/upload/{created['upload_id']}/status", token(created))
    assert progress["files"][0]["missing"] == []


async def test_a_terminated_file_is_gone_and_can_be_sent_again(
    gateway: Gateway, orthanc: OrthancServer, tmp_path: Path
) -> None:
    study = write_study(tmp_path / "study", count=2, pixel_bytes=600 * 1024)
    created = await gateway.init(study)
    up = uploader(gateway, created, study, 0, chunk_size=200_000)
    await asyncio.to_thread(up.upload, 400_000)
    headers = token(created) | {"Tus-Resumable": "1.0.0"}
    r = await asyncio.to_thread(requests.delete, up.url, headers=headers, timeout=TIMEOUT)
    assert r.status_code == 204 and r.headers["Tus-Resumable"] == "1.0.0"
    r = await asyncio.to_thread(requests.head, up.url, headers=headers, timeout=TIMEOUT)
    assert r.status_code == 404
    progress = await gateway.get(f"/api/upload/{created['upload_id']}/status", token(created))
    assert progress["files"][0]["received"] == 0

    for index in range(2):
        again = uploader(gateway, created, study, index)
        await asyncio.to_thread(again.upload)
    detail = await gateway.complete_and_wait(created)
    assert detail["state"] == "forwarded", detail["forwarding"]
    held = await asyncio.to_thread(orthanc_sha256s, orthanc, study.study_uid)
    assert held == source_sha256s(study)
