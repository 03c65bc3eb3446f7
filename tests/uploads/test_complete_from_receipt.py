"""`complete` from what receipt computed: no byte of the study read again when the chunks
came in order (or nearly) to this process; the file read as before when they did not."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from relaypacs.uploads import receipt
from relaypacs.uploads.storage import Storage
from tests.dicom_factory import StudyFiles, write_study
from tests.factories import auth_headers
from tests.upload_client import init_body, send_all

CHUNK = 256 * 1024


@pytest.fixture
def study(tmp_path: Path) -> StudyFiles:
    # 3 files of about 600 KiB: three chunks each.
    return write_study(tmp_path / "study", count=3, pixel_bytes=600 * 1024)


def _checked(how: str) -> float:
    return REGISTRY.get_sample_value("relaypacs_upload_files_checked_total", {"how": how}) or 0.0


class _NoReads:
    """Fails the test if completion opens a stored file or hashes it."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def __enter__(self) -> None:
        def refuse(*_: Any, **__: Any) -> Any:
            raise AssertionError("complete read stored bytes again")

        self.saved = (self.storage.open_file, self.storage.file_sha256_and_chunk_md5s)
        self.storage.open_file = refuse  # type: ignore[method-assign]
        self.storage.file_sha256_and_chunk_md5s = refuse  # type: ignore[method-assign]

    def __exit__(self, *_: object) -> None:
        self.storage.open_file, self.storage.file_sha256_and_chunk_md5s = self.saved  # type: ignore[method-assign]


async def _send(
    client: httpx.AsyncClient, headers: dict[str, str], study: StudyFiles, **kwargs: Any
) -> dict[str, Any]:
    init = await client.post(
        "/api/upload/init", json=init_body(study.paths, chunk_size=CHUNK), headers=headers
    )
    assert init.status_code == 201, init.text
    created: dict[str, Any] = init.json()
    await send_all(client, created, study.paths, headers, **kwargs)
    return created


async def _sha256s(client: httpx.AsyncClient, headers: dict[str, str], upload_id: str) -> list[str]:
    detail = (await client.get(f"/api/upload/{upload_id}", headers=headers)).json()
    return [f["sha256"] for f in sorted(detail["files"], key=lambda f: f["index"])]


@pytest.mark.parametrize("concurrency", [1, 4, 9])
async def test_chunks_sent_in_order_or_nearly_complete_without_reading_a_byte_again(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles, concurrency: int
) -> None:
    headers = await auth_headers(app, client)
    created = await _send(client, headers, study, concurrency=concurrency)
    before = _checked("at_receipt")
    with _NoReads(app.state.storage):
        done = await client.post(f"/api/upload/{created['upload_id']}/complete", headers=headers)
    assert done.status_code == 202, done.text
    assert done.json()["instances"] == 3
    assert _checked("at_receipt") - before == 3
    expected = [hashlib.sha256(p.read_bytes()).hexdigest() for p in study.paths]
    assert await _sha256s(client, headers, created["upload_id"]) == expected


async def test_chunks_received_by_another_process_are_read_at_completion_and_still_right(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As after a restart mid-file, or with chunks spread over replicas: nothing was
    hashed here, so complete reads the files (and checks every chunk's MD5) as before."""
    headers = await auth_headers(app, client)
    monkeypatch.setattr(receipt, "running_hashes", receipt.RunningHashes(max_held_per_file=0))
    created = await _send(client, headers, study, concurrency=1, order="reverse")
    before = _checked("read_again")
    done = await client.post(f"/api/upload/{created['upload_id']}/complete", headers=headers)
    assert done.status_code == 202, done.text
    assert _checked("read_again") - before == 3
    expected = [hashlib.sha256(p.read_bytes()).hexdigest() for p in study.paths]
    assert await _sha256s(client, headers, created["upload_id"]) == expected


async def test_a_chunk_corrupted_in_storage_is_caught_when_completion_reads_the_file(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await auth_headers(app, client)
    monkeypatch.setattr(receipt, "running_hashes", receipt.RunningHashes(max_held_per_file=0))
    created = await _send(client, headers, study, concurrency=1, order="reverse")
    part = app.state.storage.part_path(created["upload_id"].replace("-", ""), 1)
    with part.open("r+b") as f:
        f.seek(CHUNK + 10)
        byte = f.read(1)
        f.seek(CHUNK + 10)
        f.write(bytes([byte[0] ^ 0xFF]))
    done = await client.post(f"/api/upload/{created['upload_id']}/complete", headers=headers)
    assert done.status_code == 409, done.text
    assert done.json()["error"]["code"] == "upload_incomplete"
    assert done.json()["error"]["missing"] == [{"file": 1, "chunks": [1]}]
