"""A damaged backup is found by `verify` and refused by `restore` before anything is
written; a restore never lands on a database or storage that is not empty unless forced."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from relaypacs.auth.models import User
from relaypacs.backup import service
from relaypacs.backup.errors import BackupCorrupt, BackupError, TargetNotEmpty
from relaypacs.backup.objects import LocalObjects, stored_objects
from relaypacs.backup.targets import DirectoryTarget
from relaypacs.main import create_app
from relaypacs.settings import Settings
from tests.backup.helpers import local_hashes, relaypacs_cli, sqlite_counts
from tests.conftest import TEST_SECRET, make_settings
from tests.dicom_factory import write_study
from tests.factories import auth_headers, create_user
from tests.upload_client import init_body, send_all

CHUNK = 256 * 1024


@dataclass
class Made:
    settings: Settings
    target: DirectoryTarget
    manifest: Any
    backup_dir: Path


async def _populate(app: FastAPI, client: httpx.AsyncClient, tmp_path: Path) -> None:
    headers = await auth_headers(app, client)
    study = write_study(tmp_path / "study", count=2, pixel_bytes=300 * 1024)
    body = init_body(study.paths, patient_name="Vantrell^Osk", chunk_size=CHUNK)
    init = await client.post("/api/upload/init", headers=headers, json=body)
    assert init.status_code == 201, init.text
    await send_all(client, init.json(), study.paths, headers)


async def _backup(settings: Settings, app: FastAPI, tmp_path: Path) -> Made:
    target = DirectoryTarget(tmp_path / "backups")
    manifest = await service.create(
        settings, target=target, objects=stored_objects(app.state.storage)
    )
    return Made(settings, target, manifest, tmp_path / "backups" / manifest.id)


@pytest.fixture
async def made(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> AsyncIterator[Made]:
    await _populate(app, client, tmp_path)
    yield await _backup(settings, app, tmp_path)


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_flipped_byte_fails_verify_and_restore_refuses_it_writing_nothing(
    made: Made, tmp_path: Path
) -> None:
    [victim, *_] = sorted((made.backup_dir / "objects").rglob("*.part"))
    _flip_a_byte(victim)
    key = victim.relative_to(made.backup_dir).as_posix()
    env = {"DATA_DIR": str(tmp_path / "elsewhere"), "SECRET_KEY": TEST_SECRET}
    env |= {"BACKUP_TARGET": str(made.target.root), "BACKUP_CRON": ""}

    checked = relaypacs_cli(
        env | {"DATABASE_URL": made.settings.database_url}, "backup", "verify", made.manifest.id
    )
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert f"{made.manifest.id}: {key}: SHA-256 differs from the manifest" in checked.stderr
    assert f"relaypacs: backup {made.manifest.id} is corrupt: 1 problems" in checked.stderr
    assert "Traceback" not in checked.stderr

    empty_db = tmp_path / "restored.db"
    restored = relaypacs_cli(
        env | {"DATABASE_URL": f"sqlite+aiosqlite:///{empty_db}"}, "backup", "restore", "latest"
    )
    assert restored.returncode == 1, restored.stdout + restored.stderr
    [line] = [x for x in restored.stderr.splitlines() if x.startswith("relaypacs: ")]
    assert "does not match its manifest" in line and "nothing was restored" in line
    assert not empty_db.exists()
    assert not (tmp_path / "elsewhere" / "storage").exists()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_verify_names_a_damaged_database_file_and_a_missing_object(made: Made) -> None:
    manifest, problems = await service.verify(target=made.target, backup_id="latest")
    assert problems == [] and manifest.id == made.manifest.id
    database_file = made.backup_dir / made.manifest.database.file
    database_file.write_bytes(database_file.read_bytes()[:-1])
    [victim, *_] = sorted((made.backup_dir / "objects").rglob("*.part"))
    victim.unlink()
    _, problems = await service.verify(target=made.target, backup_id=made.manifest.id)
    assert problems == [
        f"{made.manifest.database.file}: missing or its SHA-256 differs from the manifest",
        f"{victim.relative_to(made.backup_dir).as_posix()}: missing",
    ]
    with pytest.raises(BackupCorrupt):
        await service.restore(
            made.settings,
            target=made.target,
            backup_id=made.manifest.id,
            objects=LocalObjects(made.backup_dir.parent / "unused"),
        )


async def _users(app: FastAPI) -> int:
    async with app.state.database.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def test_restore_refuses_a_database_that_is_not_empty_and_force_replaces_it(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    await _populate(app, client, tmp_path)
    made = await _backup(settings, app, tmp_path)
    users_at_backup = await _users(app)
    await create_user(app)  # after the backup: a forced restore takes it away again
    storage = stored_objects(app.state.storage)
    await app.state.database.dispose()

    with pytest.raises(TargetNotEmpty, match=r"not empty.*pass --force"):
        await service.restore(settings, target=made.target, backup_id="latest", objects=storage)
    assert await _users(app) == users_at_backup + 1

    # Storage alone not empty is refused too.
    empty = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}", tmp_path / "new")
    with pytest.raises(TargetNotEmpty, match=r"storage .* is not empty"):
        await service.restore(empty, target=made.target, backup_id="latest", objects=storage)
    assert not (tmp_path / "new.db").exists()

    report = await service.restore(
        settings, target=made.target, backup_id="latest", objects=storage, force=True
    )
    assert report.tables == made.manifest.database.tables
    assert await _users(app) == users_at_backup
    if settings.is_sqlite:
        assert sqlite_counts(Path(settings.database.database or "")) == report.tables


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_restore_to_empty_local_storage_gives_the_same_bytes(
    made: Made, app: FastAPI, tmp_path: Path
) -> None:
    before = local_hashes(app.state.storage.root)
    fresh = tmp_path / "fresh"
    settings = make_settings(f"sqlite+aiosqlite:///{fresh / 'db.sqlite'}", fresh)
    report = await service.restore(
        settings, target=made.target, backup_id="latest", objects=LocalObjects(fresh / "storage")
    )
    assert report.objects == made.manifest.storage.objects == len(before)
    assert local_hashes(fresh / "storage") == before
    # Backups and restored objects hold patient data: readable by their owner only.
    written = [p for p in made.backup_dir.rglob("*") if p.is_file()]
    written += [p for p in (fresh / "storage").rglob("*") if p.is_file()]
    assert written and {p.stat().st_mode & 0o777 for p in written} == {0o600}
    # The restored database starts an app, which finds the upload and its chunks.
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        assert await application.state.storage.list_upload_ids() != []


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_missing_postgresql_database_is_named_and_nothing_is_written(
    made: Made, tmp_path: Path
) -> None:
    missing = made.settings.database.set(database="nowhere_to_be_found")
    settings = make_settings(missing.render_as_string(hide_password=False), tmp_path / "other")
    storage = LocalObjects(tmp_path / "other" / "storage")
    with pytest.raises(BackupError, match="does not exist: create it empty"):
        await service.restore(settings, target=made.target, backup_id="latest", objects=storage)
    assert storage.is_empty()
