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
