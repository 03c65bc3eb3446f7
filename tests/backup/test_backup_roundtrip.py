"""Backup → lose everything → restore, on the real servers: SQLite with local storage into a
directory, PostgreSQL with S3 storage (moto) into a bucket. Users, a study forwarded to
Orthanc (with its report and notifications) and an upload still in progress survive: every
table's row count and every stored object's SHA-256 are equal, the app starts on the
restored data, a user signs in, and the upload resumes from `status` and completes."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from relaypacs.core.permissions import Role
from relaypacs.main import create_app
from relaypacs.settings import Settings
from tests.backup.helpers import (
    CREDENTIALS,
    bucket_hashes,
    drop_bucket,
    local_hashes,
    postgres_counts,
    relaypacs_cli,
    s3_client,
    sqlite_counts,
)
from tests.conftest import TEST_SECRET, make_settings
from tests.dicom_factory import write_study
from tests.factories import bearer, create_user, login
from tests.pacs.conftest import FAST_RETRIES, destination, orthanc_instances, wait_for_state
from tests.servers import MotoS3Server, OrthancServer, PostgresServer
from tests.upload_client import chunk_of, init_body, put_chunk, upload_study

pytestmark = pytest.mark.slow
CHUNK = 256 * 1024


@dataclass
class Deployment:
    """One installation: its database, storage and backup target, as env and as Settings."""

    env: dict[str, str]
    settings: Settings
    counts: Any  # () -> dict[str, int]
    hashes: Any  # () -> dict[str, str]
    lose_everything: Any  # () -> None: drop the database and the storage


def _settings(env: dict[str, str], orthanc: OrthancServer) -> Settings:
    values: dict[str, Any] = {k.lower(): v for k, v in env.items() if k != "SECRET_KEY"}
    values.pop("database_url")
    values.pop("data_dir")
    return make_settings(
        env["DATABASE_URL"],
        Path(env["DATA_DIR"]),
        **values,
        **FAST_RETRIES,
        pacs_orthanc=destination(orthanc),
    )


@pytest.fixture(params=["sqlite-local-directory", "postgresql-s3-bucket"])
def deployment(
    request: pytest.FixtureRequest, tmp_path: Path, orthanc: OrthancServer
) -> Iterator[Deployment]:
    if not orthanc.running:
        orthanc.start()
    data = tmp_path / "data"
    env = {"DATA_DIR": str(data), "SECRET_KEY": TEST_SECRET, "BACKUP_CRON": ""}
    if request.param.startswith("sqlite"):
        shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "relaypacs.db")
        db = tmp_path / "relaypacs.db"
        storage = data / "storage"
        env |= {
            "DATABASE_URL": f"sqlite+aiosqlite:///{db}",
            "BACKUP_TARGET": str(tmp_path / "backups"),
        }

        def lose() -> None:
            for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
                path.unlink(missing_ok=True)
            shutil.rmtree(storage)

        yield Deployment(
            env,
            _settings(env, orthanc),
            lambda: sqlite_counts(db),
            lambda: local_hashes(storage),
            lose,
        )
        return
    pg: PostgresServer = request.getfixturevalue("postgres_server")
    s3: MotoS3Server = request.getfixturevalue("s3_server")
    name = f"t_{uuid.uuid4().hex[:16]}"
    pg.create_database(name, template=request.getfixturevalue("postgres_template"))
    bucket, backups = f"studies-{uuid.uuid4().hex[:10]}", f"backups-{uuid.uuid4().hex[:10]}"
    client = s3_client(s3)
    client.create_bucket(Bucket=backups)
    env |= {
        "DATABASE_URL": pg.url(name),
        "STORAGE_BACKEND": "s3",
        "S3_ENDPOINT_URL": s3.endpoint_url,
        "S3_BUCKET": bucket,
        "S3_PREFIX": "site-a/",
        "S3_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
        "S3_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
        "S3_CREATE_BUCKET": "true",
        "BACKUP_TARGET": f"s3://{backups}/nightly",
    }

    def lose_pg() -> None:
        pg.drop_database(name)
        pg.create_database(name)  # empty: what a DBA hands over to restore into
        drop_bucket(client, bucket)

    yield Deployment(
        env,
        _settings(env, orthanc),
        lambda: postgres_counts(pg, name),
        lambda: bucket_hashes(client, bucket),
        lose_pg,
    )
    pg.drop_database(name)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client


async def test_a_restored_backup_has_every_row_and_object_and_the_app_carries_on(
    deployment: Deployment, tmp_path: Path, orthanc: OrthancServer
) -> None:
    forwarded = write_study(tmp_path / "forwarded", count=3, pixel_bytes=300 * 1024)
    pending = write_study(tmp_path / "pending", count=2, pixel_bytes=600 * 1024)
    async with running(deployment.settings) as (app, client):
        clinician = await create_user(app, role=Role.clinician)
        await create_user(app, role=Role.radiologist)
        await create_user(app, role=Role.admin, facility=None)
        headers = bearer(await login(client, clinician))
        done = await upload_study(
            client, headers, forwarded.paths, patient_name="Qorvath^Lindqvist", chunk_size=CHUNK
        )
        detail = await wait_for_state(client, headers, done["upload_id"], {"forwarded", "failed"})
        assert detail["state"] == "forwarded", detail["forwarding"]
        init = await client.post(
            "/api/upload/init",
            headers=headers,
            json=init_body(pending.paths, patient_name="Zembla^Ostrovik", chunk_size=CHUNK),
        )
        assert init.status_code == 201, init.text
        created = init.json()
        sent = {(0, 0), (1, 1)}  # one chunk of each file: the rest is still to come
        for file, index in sorted(sent):
            data = chunk_of(pending.paths[file], index, CHUNK)
            response = await put_chunk(client, created["upload_id"], file, index, data, headers)
            assert response.status_code == 200, response.text
    counts, hashes = deployment.counts(), deployment.hashes()
    for table in ("user", "upload", "upload_chunk", "forward_job", "report", "notification"):
        assert counts[table] > 0, table
    assert len(hashes) >= 5

    made = relaypacs_cli(deployment.env, "backup", "create", "--json")
    assert made.returncode == 0, made.stderr
    manifest = json.loads(made.stdout)
    assert manifest["objects"] == len(hashes)

    deployment.lose_everything()
    restored = relaypacs_cli(deployment.env, "backup", "restore", "latest")
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.startswith(f"restored backup {manifest['id']}")

    assert deployment.counts() == counts
    assert deployment.hashes() == hashes
    # The command's own output (not covered by the suite's log scan) carries no PHI.
    for output in (made.stdout, made.stderr, restored.stdout, restored.stderr):
        assert "Qorvath" not in output and "Zembla" not in output

    async with running(deployment.settings) as (app, client):
        headers = bearer(await login(client, clinician))
        old = (await client.get(f"/api/upload/{done['upload_id']}", headers=headers)).json()
        assert old["state"] == "forwarded"
        status = (
            await client.get(f"/api/upload/{created['upload_id']}/status", headers=headers)
        ).json()
        assert status["state"] == "uploading"
        missing = {(f["index"], i) for f in status["files"] for i in f["missing"]}
        every = {(f["index"], i) for f in created["files"] for i in range(f["total_chunks"])}
        assert missing == every - sent
        for file, index in sorted(missing):
            data = chunk_of(pending.paths[file], index, CHUNK)
            response = await put_chunk(client, created["upload_id"], file, index, data, headers)
            assert response.status_code == 200, response.text
        complete = await client.post(
            f"/api/upload/{created['upload_id']}/complete", headers=headers
        )
        assert complete.status_code == 202, complete.text
        final = await wait_for_state(client, headers, created["upload_id"], {"forwarded", "failed"})
        assert final["state"] == "forwarded", final["forwarding"]
    assert len(orthanc_instances(orthanc, pending.study_uid)) == 2
