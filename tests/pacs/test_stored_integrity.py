"""A chunk that changes in storage after it was acknowledged is never sent: `complete`
no longer reads the bytes (uploads/receipt.py), so the forwarder checks every chunk's MD5
and every file's SHA-256 as it reads them (pacs/verify.py), on the real Orthanc."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pydicom
import pytest
from fastapi import FastAPI

from relaypacs.pacs.verify import StoredDataCorrupt, VerifyingReader, verify_through
from tests.dicom_factory import StudyFiles, write_study
from tests.factories import auth_headers
from tests.pacs.conftest import FAST_RETRIES, destination, orthanc_instances, wait_for_state
from tests.servers import OrthancServer
from tests.upload_client import init_body, send_all

CHUNK = 256 * 1024


def _reader(data: bytes, chunk: int, *, sha256: str | None = None) -> VerifyingReader:
    md5s = [hashlib.md5(data[i : i + chunk]).hexdigest() for i in range(0, len(data), chunk)]
    return VerifyingReader(
        io.BytesIO(data), file_index=3, size=len(data), chunk_size=chunk, md5s=md5s, sha256=sha256
    )


def test_intact_bytes_come_through_whole_with_their_sha256() -> None:
    data = os.urandom(10_000)
    reader = _reader(data, 3000, sha256=hashlib.sha256(data).hexdigest())
    out = b""
    while block := reader.read(1024):
        out += block
    assert out == data
    assert reader.sha256 == hashlib.sha256(data).hexdigest()


def test_no_byte_of_a_changed_chunk_is_handed_on() -> None:
    data = bytearray(os.urandom(10_000))
    reader = _reader(bytes(data), 3000)
    data[7000] ^= 0x01
    reader._raw = io.BytesIO(bytes(data))
    handed = b""
    with pytest.raises(StoredDataCorrupt) as caught:
        while block := reader.read(1024):
            handed += block
    assert caught.value.chunk_index == 2 and caught.value.file_index == 3
    assert handed == bytes(data[:6000])  # chunks 0 and 1 only


def test_a_recorded_sha256_that_differs_stops_the_last_chunk() -> None:
    data = os.urandom(5000)
    reader = _reader(data, 2000, sha256="0" * 64)
    with pytest.raises(StoredDataCorrupt) as caught:
        verify_through(reader)
    assert caught.value.chunk_index is None


@pytest.fixture
def pacs(orthanc: OrthancServer) -> Iterator[OrthancServer]:
    if not orthanc.running:
        orthanc.start()
    orthanc.clear()
    yield orthanc


@pytest.fixture
def settings_overrides(pacs: OrthancServer, request: pytest.FixtureRequest) -> dict[str, Any]:
    kind = getattr(request, "param", "dicomweb")
    return FAST_RETRIES | {"pacs_orthanc": destination(pacs, type=kind)}


@pytest.fixture
def study(tmp_path: Path) -> StudyFiles:
    return write_study(tmp_path / "study", count=6, pixel_bytes=600 * 1024)


def _uids(study: StudyFiles) -> list[str]:
    return [str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in study.paths]


@pytest.mark.slow
@pytest.mark.parametrize("settings_overrides", ["dicomweb", "dimse"], indirect=True)
async def test_a_byte_flipped_in_storage_after_its_ack_is_refused_and_the_rest_delivered(
    app: FastAPI,
    client: httpx.AsyncClient,
    study: StudyFiles,
    pacs: OrthancServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pynetdicom.association import Association

    c_stores: list[str] = []
    real_send = Association.send_c_store

    def counted(self: Association, dataset: Any, *args: Any, **kwargs: Any) -> Any:
        c_stores.append(str(dataset))
        return real_send(self, dataset, *args, **kwargs)

    monkeypatch.setattr(Association, "send_c_store", counted)
    headers = await auth_headers(app, client)
    init = await client.post(
        "/api/upload/init", json=init_body(study.paths, chunk_size=CHUNK), headers=headers
    )
    assert init.status_code == 201, init.text
    created = init.json()
    await send_all(client, created, study.paths, headers, concurrency=1)
    part = app.state.storage.part_path(created["upload_id"].replace("-", ""), 2)
    with part.open("r+b") as f:  # chunk 1 of file 2, acknowledged already
        f.seek(CHUNK + 4096)
        byte = f.read(1)
        f.seek(CHUNK + 4096)
        f.write(bytes([byte[0] ^ 0x40]))

    done = await client.post(f"/api/upload/{created['upload_id']}/complete", headers=headers)
    assert done.status_code == 202, done.text  # complete reads nothing: it cannot see it
    detail = await wait_for_state(client, headers, created["upload_id"], {"forwarded", "failed"})

    assert detail["state"] == "failed"
    [job] = detail["forwarding"]
    assert "stored data of file 2 failed its integrity check (chunk 1)" in job["last_error"]
    assert job["instances_stored"] == 5 and job["instances_total"] == 6
    uids = _uids(study)
    held = {r["00080018"]["Value"][0] for r in orthanc_instances(pacs, study.study_uid)}
    assert held == set(uids) - {uids[2]}
    if app.state.settings.pacs_orthanc.type.value == "dimse":
        assert len(c_stores) == 5  # each good instance sent once: none again after file 2


@pytest.mark.slow
@pytest.mark.parametrize("settings_overrides", ["dimse"], indirect=True)
async def test_a_c_store_failing_mid_association_sends_again_only_what_was_not_stored(
    app: FastAPI,
    client: httpx.AsyncClient,
    study: StudyFiles,
    pacs: OrthancServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The third C-STORE of the association fails (the PACS aborted it, say): the two
    before it are recorded as stored and never sent again; the rest go at the next try."""
    from pynetdicom.association import Association

    sent: list[str] = []
    real_send = Association.send_c_store

    def failing_third(self: Association, dataset: Any, *args: Any, **kwargs: Any) -> Any:
        sop = str(pydicom.dcmread(str(dataset), stop_before_pixels=True).SOPInstanceUID)
        sent.append(sop)
        if len(sent) == 3:
            raise RuntimeError("association aborted")
        return real_send(self, dataset, *args, **kwargs)

    monkeypatch.setattr(Association, "send_c_store", failing_third)
    headers = await auth_headers(app, client)
    init = await client.post(
        "/api/upload/init", json=init_body(study.paths, chunk_size=CHUNK), headers=headers
    )
    created = init.json()
    await send_all(client, created, study.paths, headers, concurrency=2)
    done = await client.post(f"/api/upload/{created['upload_id']}/complete", headers=headers)
    assert done.status_code == 202, done.text
    detail = await wait_for_state(client, headers, created["upload_id"], {"forwarded", "failed"})

    assert detail["state"] == "forwarded", detail
    uids = _uids(study)
    held = {r["00080018"]["Value"][0] for r in orthanc_instances(pacs, study.study_uid)}
    assert held == set(uids)
    assert len(sent) == 7 and sent.count(sent[2]) == 2  # only the failed one went twice
    assert sorted(set(sent)) == sorted(uids)
