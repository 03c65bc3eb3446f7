from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from relaypacs.core import jobs
from relaypacs.core.database import utcnow
from relaypacs.uploads import housekeeping
from relaypacs.uploads.models import Upload, UploadChunk
from tests.dicom_factory import write_study
from tests.factories import auth_headers
from tests.upload_client import init_body, send_all

RELAYPACS = Path(sys.executable).with_name("relaypacs")


async def _two_uploads_one_overdue(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> tuple[str, str]:
    headers = await auth_headers(app, client)
    study = write_study(tmp_path / "s", count=2, pixel_bytes=300 * 1024)
    ids = []
    for name in ("Old^Patient", "Freshwater^Patient"):
        r = await client.post(
            "/api/upload/init",
            headers=headers,
            json=init_body(study.paths, patient_name=name, chunk_size=256 * 1024),
        )
        created = r.json()
        await send_all(client, created, study.paths, headers)
        ids.append(created["upload_id"])
    async with app.state.database.sessionmaker() as session:
        await session.execute(
            update(Upload)
            .where(Upload.id == __import__("uuid").UUID(ids[0]))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        await session.commit()
    return ids[0], ids[1]


async def test_cleanup_expires_overdue_uploads_and_frees_their_chunks(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    overdue, fresh = await _two_uploads_one_overdue(app, client, tmp_path)
    storage = app.state.storage
    (tmp_path / "data" / "storage" / "uploads" / ("f" * 32)).mkdir(parents=True)  # orphan
    report = await housekeeping.cleanup(database=app.state.database, storage=storage)
    assert report.expired_uploads == 1
    assert report.orphaned_uploads == 1
    assert report.bytes_freed > 500 * 1024
    assert await storage.list_upload_ids() == [fresh.replace("-", "")]
    async with app.state.database.sessionmaker() as session:
        states = dict((await session.execute(select(Upload.id, Upload.state))).all())
        chunks = await session.scalar(select(func.count()).select_from(UploadChunk))
    assert {str(k): v.value for k, v in states.items()} == {overdue: "expired", fresh: "uploading"}
    assert chunks and chunks > 0  # the fresh upload's chunks stay
    again = await housekeeping.cleanup(database=app.state.database, storage=storage)
    assert (again.expired_uploads, again.orphaned_uploads) == (0, 0)


async def test_the_job_lease_lets_only_one_process_run_it(app: FastAPI) -> None:
    database = app.state.database
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow() -> str:
        started.set()
        await release.wait()
        return "ran"

    first = asyncio.create_task(jobs.run_exclusive(database, "t.job", slow, timedelta(minutes=5)))
    await started.wait()
    second = await jobs.run_exclusive(database, "t.job", slow, timedelta(minutes=5))
    assert second is None
    release.set()
    assert await first == "ran"
    release.clear()
    release.set()
    assert await jobs.run_exclusive(database, "t.job", slow, timedelta(minutes=5)) == "ran"


@pytest.mark.slow
async def test_cli_cleanup_reports_what_it_removed(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path, database_url: str
) -> None:
    await _two_uploads_one_overdue(app, client, tmp_path)
    env = os.environ | {"DATABASE_URL": database_url, "DATA_DIR": str(tmp_path / "data")}
    result = await asyncio.to_thread(
        subprocess.run,
        [str(RELAYPACS), "uploads", "cleanup"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("expired uploads: 1, orphaned uploads: 0, bytes freed: ")


async def test_a_completion_that_died_in_processing_is_released_then_expires_as_usual(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """A `complete` whose process died would have held its upload in `processing` for ever
    when the client never asks again."""
    import uuid

    from relaypacs.uploads.models import UploadState

    overdue, fresh = await _two_uploads_one_overdue(app, client, tmp_path)
    headers = await auth_headers(app, client)
    third = write_study(tmp_path / "live", count=1)
    init = await client.post(
        "/api/upload/init", headers=headers, json=init_body(third.paths, patient_name="Live^P")
    )
    assert init.status_code == 201, init.text
    live = init.json()["upload_id"]
    long_ago, just_now = utcnow() - timedelta(minutes=10), utcnow()
    async with app.state.database.sessionmaker() as session:
        for upload_id, started in ((overdue, long_ago), (fresh, long_ago), (live, just_now)):
            await session.execute(
                update(Upload)
                .where(Upload.id == uuid.UUID(upload_id))
                .values(state=UploadState.processing, processing_started_at=started)
            )
        await session.commit()

    report = await housekeeping.cleanup(database=app.state.database, storage=app.state.storage)

    assert report.released_uploads == 2
    assert report.expired_uploads == 1
    async with app.state.database.sessionmaker() as session:
        states = dict((await session.execute(select(Upload.id, Upload.state))).all())
    assert states[uuid.UUID(overdue)] is UploadState.expired
    assert states[uuid.UUID(fresh)] is UploadState.uploading  # can be completed again
    assert states[uuid.UUID(live)] is UploadState.processing  # still running: left alone
