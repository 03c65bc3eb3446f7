"""Cancelling an upload in progress: its data is deleted at once (not by the nightly
cleanup), it takes nothing more, and a completed upload cannot be cancelled."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from relaypacs.core.permissions import Role
from tests.dicom_factory import write_study
from tests.factories import auth_headers
from tests.upload_client import chunk_of, init_body, put_chunk, upload_study

CHUNK = 256 * 1024


async def test_cancel_deletes_the_data_now_and_the_upload_takes_nothing_more(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    admin = await auth_headers(app, client, role=Role.admin)
    headers = await auth_headers(app, client)
    study = write_study(tmp_path / "study", count=2, pixel_bytes=300 * 1024)
    init = await client.post(
        "/api/upload/init", json=init_body(study.paths, chunk_size=CHUNK), headers=headers
    )
    assert init.status_code == 201, init.text
    created = init.json()
    upload_id = created["upload_id"]
    first = chunk_of(study.paths[0], 0, CHUNK)
    assert (await put_chunk(client, upload_id, 0, 0, first, headers)).status_code == 200
    assert upload_id.replace("-", "") in await app.state.storage.list_upload_ids()

    # The service worker cancels with the upload's own token (no access token).
    token = {"X-Upload-Token": created["upload_token"]}
    cancelled = await client.delete(f"/api/upload/{upload_id}", headers=token)
    assert cancelled.status_code == 204, cancelled.text

    assert upload_id.replace("-", "") not in await app.state.storage.list_upload_ids()
    status = await client.get(f"/api/upload/{upload_id}/status", headers=headers)
    assert status.json()["state"] == "cancelled"
    assert all(f["received"] == 0 for f in status.json()["files"])
    again = await put_chunk(client, upload_id, 0, 1, chunk_of(study.paths[0], 1, CHUNK), headers)
    assert again.status_code == 410 and again.json()["error"]["code"] == "upload_cancelled"
    done = await client.post(f"/api/upload/{upload_id}/complete", headers=headers)
    assert done.status_code == 410 and done.json()["error"]["code"] == "upload_cancelled"
    twice = await client.delete(f"/api/upload/{upload_id}", headers=headers)
    assert twice.status_code == 409
    audit = await client.get("/api/audit", params={"action": "upload_cancelled"}, headers=admin)
    assert [e["target_id"] for e in audit.json()["items"]] == [upload_id]


async def test_a_completed_upload_cannot_be_cancelled(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    headers = await auth_headers(app, client)
    study = write_study(tmp_path / "study", count=1)
    done = await upload_study(client, headers, study.paths)
    upload_id = done["upload_id"]
    refused = await client.delete(f"/api/upload/{upload_id}", headers=headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "upload_completed"
    detail = await client.get(f"/api/upload/{upload_id}", headers=headers)
    assert detail.json()["state"] != "cancelled"


async def _one_upload(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> tuple[dict[str, object], dict[str, str], bytes]:
    headers = await auth_headers(app, client)
    study = write_study(tmp_path / "study", count=1, pixel_bytes=300 * 1024)
    init = await client.post(
        "/api/upload/init", json=init_body(study.paths, chunk_size=CHUNK), headers=headers
    )
    assert init.status_code == 201, init.text
    return init.json(), headers, chunk_of(study.paths[0], 0, CHUNK)


async def test_a_chunk_in_flight_when_the_upload_is_cancelled_leaves_no_data(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    created, headers, data = await _one_upload(app, client, tmp_path)
    upload_id = str(created["upload_id"])
    storage = app.state.storage
    real_write = storage.write_chunk

    async def cancel_then_write(*args: object) -> None:
        # The sender cancels while this chunk's bytes are on their way to storage.
        token = {"X-Upload-Token": str(created["upload_token"])}
        assert (await client.delete(f"/api/upload/{upload_id}", headers=token)).status_code == 204
        await real_write(*args)

    storage.write_chunk = cancel_then_write
    try:
        answer = await put_chunk(client, upload_id, 0, 0, data, headers)
    finally:
        storage.write_chunk = real_write
    assert answer.status_code == 410, answer.text
    assert answer.json()["error"]["code"] == "upload_cancelled"
    assert upload_id.replace("-", "") not in await storage.list_upload_ids()


async def test_a_writer_whose_claim_was_taken_over_is_not_told_its_chunk_is_stored(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    import uuid

    from sqlalchemy import update

    from relaypacs.uploads.models import UploadChunk

    created, headers, data = await _one_upload(app, client, tmp_path)
    upload_id = str(created["upload_id"])
    storage = app.state.storage
    real_write = storage.write_chunk

    async def taken_over_then_write(*args: object) -> None:
        # This writer stalled; another request took the claim over with other bytes.
        async with app.state.database.sessionmaker() as session:
            await session.execute(
                update(UploadChunk)
                .where(UploadChunk.upload_id == uuid.UUID(upload_id))
                .values(md5="0" * 32)
            )
            await session.commit()
        await real_write(*args)

    storage.write_chunk = taken_over_then_write
    try:
        answer = await put_chunk(client, upload_id, 0, 0, data, headers)
    finally:
        storage.write_chunk = real_write
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == "chunk_conflict"
