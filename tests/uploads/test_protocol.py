"""The resumable upload protocol, end to end through the API (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from relaypacs.core.permissions import Role
from tests.dicom_factory import StudyFiles, write_study
from tests.factories import auth_headers
from tests.upload_client import chunk_of, content_md5, init_body, put_chunk, send_all

CHUNK = 256 * 1024


@pytest.fixture(params=["local", "s3"])
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every protocol test runs on both storage backends (S3: a real moto server)."""
    if request.param == "local":
        return {}
    s3 = request.getfixturevalue("s3_server")
    return {
        "storage_backend": "s3",
        "s3_endpoint_url": s3.endpoint_url,
        "s3_bucket": f"relaypacs-{uuid.uuid4().hex[:12]}",
        "s3_access_key_id": "test",
        "s3_secret_access_key": "test",
        "s3_create_bucket": True,
    }


@pytest.fixture
def study(tmp_path: Path) -> StudyFiles:
    # 3 files of ~600 KiB: three chunks each at 256 KiB, the last one short.
    return write_study(tmp_path / "study", count=3, pixel_bytes=600 * 1024)


async def _init(
    client: httpx.AsyncClient, headers: dict[str, str], paths: list[Path], **fields: Any
) -> dict[str, Any]:
    r = await client.post(
        "/api/upload/init", json=init_body(paths, chunk_size=CHUNK, **fields), headers=headers
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _stored_file(app: FastAPI, upload_id: str, index: int, size: int) -> bytes:
    storage = app.state.storage
    with storage.open_file(
        upload_id.replace("-", ""), index, size, CHUNK, max(1, -(-size // CHUNK))
    ) as f:
        data: bytes = f.read()
    return data


async def _stored_chunk(app: FastAPI, upload_id: str) -> bytes:
    data: bytes = await app.state.storage.read_chunk(upload_id.replace("-", ""), 0, 0, 0, CHUNK)
    return data


async def test_init_plans_chunks_and_returns_a_token(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles
) -> None:
    headers = await auth_headers(app, client)
    created = await _init(client, headers, study.paths)
    assert created["chunk_size"] == CHUNK
    sizes = [p.stat().st_size for p in study.paths]
    assert [f["total_chunks"] for f in created["files"]] == [-(-s // CHUNK) for s in sizes]
    assert [f["size"] for f in created["files"]] == sizes
    assert len(created["upload_token"]) >= 40
    status = (
        await client.get(f"/api/upload/{created['upload_id']}/status", headers=headers)
    ).json()
    assert status["state"] == "uploading"
    assert status["files"][0]["missing"] == list(range(created["files"][0]["total_chunks"]))


async def test_out_of_order_parallel_chunks_assemble_byte_identical_files(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles
) -> None:
    headers = await auth_headers(app, client)
    created = await _init(client, headers, study.paths)
    await send_all(client, created, study.paths, headers, concurrency=9, order="reverse")
    status = (
        await client.get(f"/api/upload/{created['upload_id']}/status", headers=headers)
    ).json()
    assert all(f["missing"] == [] for f in status["files"])
    for f, path in zip(created["files"], study.paths, strict=True):
        stored = _stored_file(app, created["upload_id"], f["index"], f["size"])
        assert hashlib.sha256(stored).digest() == hashlib.sha256(path.read_bytes()).digest()
    done = await client.post(f"/api/upload/{created['upload_id']}/complete", headers=headers)
    assert done.status_code == 202, done.text
    body = done.json()
    assert body["state"] == "queued"
    assert body["instances"] == 3
    assert body["study_instance_uid"] == study.study_uid
    detail = (await client.get(f"/api/upload/{created['upload_id']}", headers=headers)).json()
    assert [f["sha256"] for f in detail["files"]] == [
        hashlib.sha256(p.read_bytes()).hexdigest() for p in study.paths
    ]
    assert detail["instance_count"] == 3


async def test_same_bytes_again_is_200_other_bytes_is_409(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles
) -> None:
    headers = await auth_headers(app, client)
    created = await _init(client, headers, study.paths)
    uid = created["upload_id"]
    data = chunk_of(study.paths[0], 0, CHUNK)
    first = await put_chunk(client, uid, 0, 0, data, headers)
    assert first.status_code == 200
    assert first.json() == {"file": 0, "index": 0, "md5": hashlib.md5(data).hexdigest()}
    again = await put_chunk(client, uid, 0, 0, data, headers)
    assert again.status_code == 200
    other = bytes(reversed(data))
    conflict = await put_chunk(client, uid, 0, 0, other, headers)
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "chunk_conflict"
    assert await _stored_chunk(app, uid) == data


async def test_the_same_chunk_sent_concurrently_with_different_bytes_stores_one_of_them(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles
) -> None:
    headers = await auth_headers(app, client)
    created = await _init(client, headers, study.paths)
    uid = created["upload_id"]
    data = chunk_of(study.paths[0], 0, CHUNK)
    variants = [data, bytes(reversed(data)), data[::-1][:1] + data[1:]]
    responses = await asyncio.gather(*(put_chunk(client, uid, 0, 0, v, headers) for v in variants))
    winners = [v for v, r in zip(variants, responses, strict=True) if r.status_code == 200]
    assert len(winners) == 1, [r.text for r in responses]
    assert all(r.status_code in (200, 409) for r in responses)
    assert await _stored_chunk(app, uid) == winners[0]


async def test_chunk_errors_are_specific_and_store_nothing(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles
) -> None:
    headers = await auth_headers(app, client)
    created = await _init(client, headers, study.paths)
    uid = created["upload_id"]
    data = chunk_of(study.paths[0], 0, CHUNK)

    async def expect(status: int, code: str, **kwargs: Any) -> None:
        args = {"file": 0, "index": 0, "data": data, "md5": None} | kwargs
        r = await put_chunk(
            client, uid, args["file"], args["index"], args["data"], headers, md5=args["md5"]
        )
        assert r.status_code == status, r.text
        assert r.json()["error"]["code"] == code

    await expect(400, "checksum_mismatch", md5=content_md5(b"something else"))
    await expect(400, "missing_content_md5", md5="")
    await expect(400, "missing_content_md5", md5="not base64!")
    await expect(400, "wrong_chunk_size", data=data[:-1])
    await expect(413, "payload_too_large", data=data + b"x")
    await expect(400, "chunk_out_of_range", index=99)
    await expect(422, "validation_error", index=-1)  # the schema says index >= 0
    await expect(400, "chunk_out_of_range", file=7)
    status = (await client.get(f"/api/upload/{uid}/status", headers=headers)).json()
    assert status["files"][0]["received"] == 0
    last = created["files"][0]["total_chunks"] - 1
    tail = chunk_of(study.paths[0], last, CHUNK)
    r = await put_chunk(client, uid, 0, last, tail + b"\0", headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "wrong_chunk_size"
    assert (await put_chunk(client, uid, 0, last, tail, headers)).status_code == 200


async def test_unknown_upload_and_another_users_upload_are_404(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles
) -> None:
    mine = await auth_headers(app, client)
    theirs = await auth_headers(app, client)
    created = await _init(client, mine, study.paths)
    uid = created["upload_id"]
    data = chunk_of(study.paths[0], 0, CHUNK)
    for path, method in (
        (f"/api/upload/{uid}/status", "GET"),
        (f"/api/upload/{uid}", "GET"),
        (f"/api/upload/{uid}/complete", "POST"),
    ):
        r = await client.request(method, path, headers=theirs)
        assert r.status_code == 404 and r.json()["error"]["code"] == "upload_not_found", path
    assert (await put_chunk(client, uid, 0, 0, data, theirs)).status_code == 404
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (await client.get(f"/api/upload/{unknown}/status", headers=mine)).status_code == 404
    assert (await client.get(f"/api/upload/{uid}/status")).status_code == 401


async def test_upload_token_works_for_its_upload_only(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles
) -> None:
    headers = await auth_headers(app, client)
    a = await _init(client, headers, study.paths)
    b = await _init(client, headers, study.paths, force_upload=True)
    token_a = {"X-Upload-Token": a["upload_token"]}
    data = chunk_of(study.paths[0], 0, CHUNK)
    assert (await put_chunk(client, a["upload_id"], 0, 0, data, token_a)).status_code == 200
    assert (
        await client.get(f"/api/upload/{a['upload_id']}/status", headers=token_a)
    ).status_code == 200
    assert (await put_chunk(client, b["upload_id"], 0, 0, data, token_a)).status_code == 404
    assert (
        await client.get(f"/api/upload/{b['upload_id']}/status", headers=token_a)
    ).status_code == 404
    # It grants nothing else: not the details, not the API at large.
    assert (await client.get(f"/api/upload/{a['upload_id']}", headers=token_a)).status_code == 401
    assert (await client.get("/api/auth/me", headers=token_a)).status_code == 401
    # The service worker finishes with the token alone.
    await send_all(client, a, study.paths, token_a)
    done = await client.post(f"/api/upload/{a['upload_id']}/complete", headers=token_a)
    assert done.status_code == 202 and done.json()["state"] == "queued"


async def test_complete_with_missing_chunks_is_409_listing_them(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles
) -> None:
    headers = await auth_headers(app, client)
    created = await _init(client, headers, study.paths)
    uid = created["upload_id"]
    await put_chunk(client, uid, 1, 1, chunk_of(study.paths[1], 1, CHUNK), headers)
    r = await client.post(f"/api/upload/{uid}/complete", headers=headers)
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "upload_incomplete"
    missing = {m["file"]: m["chunks"] for m in error["missing"]}
    assert missing[1] == [0, 2] and missing[0] == [0, 1, 2]


async def test_complete_twice_or_concurrently_gives_the_same_outcome(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles
) -> None:
    headers = await auth_headers(app, client)
    created = await _init(client, headers, study.paths)
    uid = created["upload_id"]
    await send_all(client, created, study.paths, headers)
    results = await asyncio.gather(
        *(client.post(f"/api/upload/{uid}/complete", headers=headers) for _ in range(3))
    )
    assert [r.status_code for r in results] == [202, 202, 202], [r.text for r in results]
    assert {r.json()["state"] for r in results} == {"queued"}
    again = await client.post(f"/api/upload/{uid}/complete", headers=headers)
    assert again.status_code == 202 and again.json() == results[0].json()
    late = await put_chunk(client, uid, 0, 0, chunk_of(study.paths[0], 0, CHUNK), headers)
    assert late.status_code == 409 and late.json()["error"]["code"] == "upload_completed"


async def test_duplicate_study_is_409_unless_forced_or_turned_off(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles
) -> None:
    headers = await auth_headers(app, client)
    first = await _init(client, headers, study.paths, patient_name="Doe^Jane")
    dup = await client.post(
        "/api/upload/init",
        headers=headers,
        json=init_body(study.paths, patient_name="  doe  jane ", chunk_size=CHUNK),
    )
    assert dup.status_code == 409
    error = dup.json()["error"]
    assert error["code"] == "duplicate_study"
    assert error["duplicate_of"]["upload_id"] == first["upload_id"]
    assert "Jane" not in dup.text
    forced = await client.post(
        "/api/upload/init",
        headers=headers,
        json=init_body(study.paths, force_upload=True, chunk_size=CHUNK),
    )
    assert forced.status_code == 201
    await client.patch("/api/me/preferences", headers=headers, json={"duplicate_check": False})
    assert (
        await client.post(
            "/api/upload/init", headers=headers, json=init_body(study.paths, chunk_size=CHUNK)
        )
    ).status_code == 201
    other_date = await client.post(
        "/api/upload/init",
        headers=await auth_headers(app, client),
        json=init_body(study.paths, study_date="2026-01-16"),
    )
    assert other_date.status_code == 201


async def test_a_duplicate_sent_by_someone_else_names_no_upload_and_is_audited(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles
) -> None:
    """Guessing a patient's name, study date and modality must not reveal another sender's
    upload (its id, time or state): only its sender and admins see which upload matched."""
    from sqlalchemy import select

    from relaypacs.audit.models import AuditEvent

    first = await _init(client, await auth_headers(app, client), study.paths)
    stranger = await client.post(
        "/api/upload/init", headers=await auth_headers(app, client), json=init_body(study.paths)
    )
    assert stranger.status_code == 409
    error = stranger.json()["error"]
    assert error["code"] == "duplicate_study"
    assert error["duplicate_of"] == {"yours": False}
    assert first["upload_id"] not in stranger.text
    assert "elsewhere" in error["message"]

    admin = await auth_headers(app, client, role=Role.admin)
    seen_by_admin = await client.post(
        "/api/upload/init", headers=admin, json=init_body(study.paths)
    )
    assert seen_by_admin.status_code == 409
    assert seen_by_admin.json()["error"]["duplicate_of"]["upload_id"] == first["upload_id"]

    async with app.state.database.sessionmaker() as session:
        events = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "duplicate_detected")
            )
        ).all()
    assert sorted(e.details["visible"] for e in events) == [False, True]
    assert [e.target_id for e in events if not e.details["visible"]] == [None]


async def test_a_study_uid_already_completed_is_409_at_completion(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles
) -> None:
    headers = await auth_headers(app, client)
    first = await _init(client, headers, study.paths)
    await send_all(client, first, study.paths, headers)
    assert (
        await client.post(f"/api/upload/{first['upload_id']}/complete", headers=headers)
    ).status_code == 202
    # Declared differently (so init passes), but it is the same study.
    second = await _init(client, headers, study.paths, patient_name="Someone Else")
    await send_all(client, second, study.paths, headers)
    r = await client.post(f"/api/upload/{second['upload_id']}/complete", headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "duplicate_study"
    status = (await client.get(f"/api/upload/{second['upload_id']}/status", headers=headers)).json()
    assert status["state"] == "uploading"


async def test_limits_and_bad_metadata_are_clear_4xx(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles
) -> None:
    headers = await auth_headers(app, client)
    huge = init_body(study.paths)
    huge["files"] = [{"name": "a.dcm", "size": 10**13}]
    r = await client.post("/api/upload/init", headers=headers, json=huge)
    assert r.status_code == 403 and r.json()["error"]["code"] == "upload_too_large"
    assert r.json()["error"]["limit"] == 20 * 1024**3
    many = init_body(study.paths)
    many["files"] = [{"name": f"{i}.dcm", "size": 10} for i in range(10_001)]
    r = await client.post("/api/upload/init", headers=headers, json=many)
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_many_files"
    assert "10000" in r.json()["error"]["message"]
    for bad in (
        {"modality": "XX"},
        {"study_date": "2026-13-01"},
        {"service_level": "SOON"},
        {"files": []},
        {"chunk_size": 1000},
        {"chunk_size": 32 * 1024 * 1024},
        {"files": [{"name": "a", "size": -1}]},
        {"unexpected": 1},
    ):
        r = await client.post(
            "/api/upload/init", headers=headers, json=init_body(study.paths, **bad)
        )
        assert r.status_code == 422, bad
    listed = (await client.get("/api/uploads", headers=headers)).json()
    assert listed["total"] == 0


async def test_radiologists_cannot_upload_and_lists_are_scoped(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles
) -> None:
    radiologist = await auth_headers(app, client, role=Role.radiologist)
    r = await client.post("/api/upload/init", headers=radiologist, json=init_body(study.paths))
    assert r.status_code == 403
    assert (await client.get("/api/uploads", headers=radiologist)).status_code == 403
    alice = await auth_headers(app, client)
    bob = await auth_headers(app, client, role=Role.radiographer)
    await _init(client, alice, study.paths)
    await _init(client, bob, study.paths, force_upload=True)
    assert (await client.get("/api/uploads", headers=alice)).json()["total"] == 1
    admin = await auth_headers(app, client, role=Role.admin)
    everything = (await client.get("/api/uploads", headers=admin)).json()
    assert everything["total"] == 2
    one = everything["items"][0]["id"]
    assert (await client.get(f"/api/upload/{one}", headers=admin)).status_code == 200


@pytest.mark.parametrize("settings_overrides", [{"upload_ttl_hours": 1}])
async def test_expired_upload_is_410(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles, settings_overrides: dict[str, Any]
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from relaypacs.core.database import utcnow
    from relaypacs.uploads.models import Upload

    headers = await auth_headers(app, client)
    created = await _init(client, headers, study.paths)
    async with app.state.database.sessionmaker() as session:
        await session.execute(update(Upload).values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    data = chunk_of(study.paths[0], 0, CHUNK)
    r = await put_chunk(client, created["upload_id"], 0, 0, data, headers)
    assert r.status_code == 410 and r.json()["error"]["code"] == "upload_expired"
    status = (
        await client.get(f"/api/upload/{created['upload_id']}/status", headers=headers)
    ).json()
    assert status["state"] == "expired"
    r = await client.post(f"/api/upload/{created['upload_id']}/complete", headers=headers)
    assert r.status_code == 410


async def test_a_completion_that_died_mid_way_is_taken_over(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from relaypacs.core.database import utcnow
    from relaypacs.uploads.models import Upload, UploadState

    headers = await auth_headers(app, client)
    created = await _init(client, headers, study.paths)
    await send_all(client, created, study.paths, headers)
    # As if the process completing it was killed 2 minutes ago (no heartbeat since).
    async with app.state.database.sessionmaker() as session:
        await session.execute(
            update(Upload).values(
                state=UploadState.processing, processing_started_at=utcnow() - timedelta(minutes=2)
            )
        )
        await session.commit()
    done = await client.post(f"/api/upload/{created['upload_id']}/complete", headers=headers)
    assert done.status_code == 202, done.text
    assert done.json()["state"] == "queued" and done.json()["instances"] == 3
