"""Cancelling an upload in progress: its data is deleted at once (not by the nightly
cleanup), it takes nothing more, and a completed upload cannot be cancelled."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from relaypacs.core.permissions import Role
from relaypacs.uploads.models import UploadChunk
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


async def _put_first_chunk_while(
    app: FastAPI,
    client: httpx.AsyncClient,
    tmp_path: Path,
    meanwhile: Callable[[dict[str, Any]], Awaitable[None]],
) -> tuple[str, httpx.Response]:
    """PUT an upload's first chunk; `meanwhile(created)` runs just before its bytes are
    written to storage (as if another request got in between)."""
    headers = await auth_headers(app, client)
    study = write_study(tmp_path / "study", count=1, pixel_bytes=300 * 1024)
    init = await client.post(
        "/api/upload/init", json=init_body(study.paths, chunk_size=CHUNK), headers=headers
    )
    assert init.status_code == 201, init.text
    created = init.json()
    storage = app.state.storage
    real_write = storage.write_chunk

    async def write(*args: object) -> None:
        await meanwhile(created)
        await real_write(*args)

    storage.write_chunk = write
    try:
        data = chunk_of(study.paths[0], 0, CHUNK)
        answer = await put_chunk(client, created["upload_id"], 0, 0, data, headers)
    finally:
        storage.write_chunk = real_write
    return created["upload_id"], answer


async def test_a_chunk_in_flight_when_the_upload_is_cancelled_leaves_no_data(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    async def cancel(created: dict[str, Any]) -> None:
        token = {"X-Upload-Token": created["upload_token"]}
        deleted = await client.delete(f"/api/upload/{created['upload_id']}", headers=token)
        assert deleted.status_code == 204

    upload_id, answer = await _put_first_chunk_while(app, client, tmp_path, cancel)

    assert answer.status_code == 410, answer.text
    assert answer.json()["error"]["code"] == "upload_cancelled"
    assert upload_id.replace("-", "") not in await app.state.storage.list_upload_ids()


async def test_a_writer_whose_claim_was_taken_over_is_not_told_its_chunk_is_stored(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    async def take_over(created: dict[str, Any]) -> None:
        # Another request took the claim over with other bytes.
        async with app.state.database.sessionmaker() as session:
            await session.execute(
                update(UploadChunk)
                .where(UploadChunk.upload_id == uuid.UUID(created["upload_id"]))
                .values(md5="0" * 32)
            )
            await session.commit()

    _, answer = await _put_first_chunk_while(app, client, tmp_path, take_over)

    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == "chunk_conflict"
