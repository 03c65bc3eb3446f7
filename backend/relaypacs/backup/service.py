"""Backup use cases: create, list, verify, restore, prune. The database is dumped first,
then the stored objects are copied: every chunk the dumped database knows of is in the
backup (chunks acknowledged during the copy may be too; a restore ignores nothing)."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio.to_thread
from pydantic import ValidationError

from relaypacs import __version__
from relaypacs.backup import database, retention
from relaypacs.backup.config import BackupSettings
from relaypacs.backup.errors import BackupCorrupt, BackupError, BackupNotFound, TargetNotEmpty
from relaypacs.backup.manifest import (
    MANIFEST,
    OBJECT_LIST,
    OBJECTS_DIR,
    DatabasePart,
    HashingReader,
    Manifest,
    ObjectEntry,
    StoragePart,
    entry_line,
    parse_entries,
)
from relaypacs.backup.objects import StoredObjects
from relaypacs.backup.targets import Target
from relaypacs.core.database import utcnow
from relaypacs.core.logging import get_logger

log = get_logger("relaypacs.backup")
# (phase, done, total): called from worker threads as objects are copied or checked.
Progress = Callable[[str, int, int], None]
# An unfinished backup younger than this may still be running: prune leaves it alone.
INCOMPLETE_GRACE = timedelta(hours=24)
_ID_TIME = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class BackupInfo:
    id: str
    started_at: datetime | None
    manifest: Manifest | None  # None: incomplete (no manifest) or unreadable

    @property
    def complete(self) -> bool:
        return self.manifest is not None


@dataclass(frozen=True)
class RestoreReport:
    manifest: Manifest
    tables: dict[str, int]
    objects: int


def _no_progress(phase: str, done: int, total: int) -> None:
    return None


def new_id(now: datetime) -> str:
    return f"{now.strftime(_ID_TIME)}-{secrets.token_hex(3)}"


def started_at(backup_id: str) -> datetime | None:
    try:
        return datetime.strptime(backup_id.split("-", 1)[0], _ID_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


def _upload_file(target: Target, backup_id: str, name: str, path: Path) -> tuple[int, str]:
    with path.open("rb") as stream:
        reader = HashingReader(stream)
        target.put_stream(backup_id, name, reader)
    return reader.size, reader.hexdigest


def _copy_objects(
    objects: StoredObjects, target: Target, backup_id: str, listing: Path, progress: Progress
) -> tuple[int, int]:
    keys = list(objects.keys())
    count = total_bytes = 0
    with listing.open("wb") as out:
        for done, key in enumerate(keys, 1):
            try:
                with objects.open(key) as stream:
                    reader = HashingReader(stream)
                    target.put_stream(backup_id, f"{OBJECTS_DIR}/{key}", reader)
            except FileNotFoundError:
                continue  # removed since it was listed (an expired upload): not needed
            out.write(entry_line(ObjectEntry(key=key, size=reader.size, sha256=reader.hexdigest)))
            count += 1
            total_bytes += reader.size
            progress("copy", done, len(keys))
    return count, total_bytes


async def create(
    settings: BackupSettings,
    *,
    target: Target,
    objects: StoredObjects,
    progress: Progress = _no_progress,
) -> Manifest:
    """Back up the database and every stored object; the manifest is written last."""
    begun = utcnow()
    backup_id = new_id(begun)
    log.info("backup_started", backup=backup_id, target=target.location)
    with tempfile.TemporaryDirectory(prefix="relaypacs-backup-") as work:
        dump_path = Path(work) / database.file_name(settings)
        dump = await database.dump(settings, dump_path)
        size, sha256 = await anyio.to_thread.run_sync(
            _upload_file, target, backup_id, dump_path.name, dump_path
        )
        dump_path.unlink()
        listing = Path(work) / OBJECT_LIST
        count, total_bytes = await anyio.to_thread.run_sync(
            _copy_objects, objects, target, backup_id, listing, progress
        )
        _, list_sha256 = await anyio.to_thread.run_sync(
            _upload_file, target, backup_id, OBJECT_LIST, listing
        )
    manifest = Manifest(
        id=backup_id,
        app_version=__version__,
        started_at=begun,
        finished_at=utcnow(),
        database=DatabasePart(
            kind=dump.kind,
            file=dump_path.name,
            size=size,
            sha256=sha256,
            server_version=dump.server_version,
            revision=dump.revision,
            tables=dump.tables,
        ),
        storage=StoragePart(
            kind=objects.kind, objects=count, bytes=total_bytes, list_sha256=list_sha256
        ),
    )
    body = manifest.model_dump_json(indent=2).encode()
    await anyio.to_thread.run_sync(_put_bytes, target, backup_id, MANIFEST, body)
    log.info("backup_finished", backup=backup_id, objects=count, bytes=total_bytes)
    return manifest


def _put_bytes(target: Target, backup_id: str, name: str, data: bytes) -> None:
    import io

    target.put_stream(backup_id, name, io.BytesIO(data))


def _read_manifest(target: Target, backup_id: str) -> Manifest | None:
    if not target.exists(backup_id, MANIFEST):
        return None
    try:
        return Manifest.model_validate_json(target.read_bytes(backup_id, MANIFEST))
    except ValidationError:
        return None


def _list(target: Target) -> list[BackupInfo]:
    infos = [BackupInfo(i, started_at(i), _read_manifest(target, i)) for i in target.list_ids()]
    return sorted(infos, key=lambda b: b.id, reverse=True)


async def list_backups(*, target: Target) -> list[BackupInfo]:
    """Every backup in the target, newest first (incomplete ones included)."""
    return await anyio.to_thread.run_sync(_list, target)


def _newest(target: Target) -> Manifest | None:
    for backup_id in reversed(target.list_ids()):
        manifest = _read_manifest(target, backup_id)
        if manifest is not None:
            return manifest
    return None


async def newest(*, target: Target) -> Manifest | None:
    """The newest complete backup's manifest, if any."""
    return await anyio.to_thread.run_sync(_newest, target)


def _manifest_or_raise(target: Target, backup_id: str) -> Manifest:
    if backup_id == "latest":
        found = _newest(target)
        if found is None:
            raise BackupNotFound(f"no complete backup in {target.location}")
        return found
    if backup_id not in target.list_ids():
        raise BackupNotFound(
            f"no backup {backup_id!r} in {target.location}: `relaypacs backup list` shows them"
        )
    manifest = _read_manifest(target, backup_id)
    if manifest is None:
        raise BackupNotFound(
            f"backup {backup_id} in {target.location} is incomplete or its manifest is "
            "unreadable: use another backup"
        )
    return manifest


def _hash_of(target: Target, backup_id: str, name: str) -> tuple[int, str] | None:
    try:
        with target.open(backup_id, name) as stream:
            reader = HashingReader(stream)
            reader.drain()
    except BackupNotFound:
        return None
    return reader.size, reader.hexdigest


def _verify(target: Target, manifest: Manifest, progress: Progress) -> list[str]:
    problems: list[str] = []
    backup_id = manifest.id
    part = manifest.database
    if _hash_of(target, backup_id, part.file) != (part.size, part.sha256):
        problems.append(f"{part.file}: missing or its SHA-256 differs from the manifest")
    listing = _hash_of(target, backup_id, OBJECT_LIST)
    if listing is None or listing[1] != manifest.storage.list_sha256:
        problems.append(f"{OBJECT_LIST}: missing or its SHA-256 differs from the manifest")
        return problems
    total = manifest.storage.objects
    count = 0
    with target.open(backup_id, OBJECT_LIST) as stream:
        for entry in parse_entries(stream):
            count += 1
            found = _hash_of(target, backup_id, f"{OBJECTS_DIR}/{entry.key}")
            if found is None:
                problems.append(f"{OBJECTS_DIR}/{entry.key}: missing")
            elif found != (entry.size, entry.sha256):
                problems.append(f"{OBJECTS_DIR}/{entry.key}: SHA-256 differs from the manifest")
            progress("verify", count, total)
    if count != total:
        problems.append(f"{OBJECT_LIST}: lists {count} objects, the manifest {total}")
    return problems


async def verify(
    *, target: Target, backup_id: str, progress: Progress = _no_progress
) -> tuple[Manifest, list[str]]:
    """Re-hash every file of a backup against its manifest: (manifest, problems found)."""

    def run() -> tuple[Manifest, list[str]]:
        manifest = _manifest_or_raise(target, backup_id)
        return manifest, _verify(target, manifest, progress)

    return await anyio.to_thread.run_sync(run)


def _download(target: Target, manifest: Manifest, path: Path) -> None:
    part = manifest.database
    with target.open(manifest.id, part.file) as stream, path.open("wb") as out:
        reader = HashingReader(stream)
        while block := reader.read(1024 * 1024):
            out.write(block)
    if (reader.size, reader.hexdigest) != (part.size, part.sha256):
        raise BackupCorrupt(f"backup {manifest.id}: {part.file} changed while restoring", [])


def _restore_objects(
    target: Target, manifest: Manifest, objects: StoredObjects, force: bool, progress: Progress
) -> int:
    objects.prepare()
    if force:
        objects.clear()
    count = 0
    total = manifest.storage.objects
    with target.open(manifest.id, OBJECT_LIST) as listing:
        for entry in parse_entries(listing):
            count += _restore_object(target, manifest.id, objects, entry)
            progress("restore", count, total)
    return count


def _restore_object(
    target: Target, backup_id: str, objects: StoredObjects, entry: ObjectEntry
) -> int:
    with target.open(backup_id, f"{OBJECTS_DIR}/{entry.key}") as stream:
        reader = HashingReader(stream)
        objects.put(entry.key, reader)
    if (reader.size, reader.hexdigest) != (entry.size, entry.sha256):
        raise BackupCorrupt(f"backup {backup_id}: {entry.key} changed while restoring", [])
    return 1


async def restore(
    settings: BackupSettings,
    *,
    target: Target,
    backup_id: str,
    objects: StoredObjects,
    force: bool = False,
    progress: Progress = _no_progress,
) -> RestoreReport:
    """Verify a backup, then load it into an empty database and storage (or replace them
    with `force`); refused, changing nothing, if the backup does not match its manifest."""
    manifest, problems = await verify(target=target, backup_id=backup_id, progress=progress)
    if problems:
        raise BackupCorrupt(
            f"backup {manifest.id} does not match its manifest ({len(problems)} problems: "
            f"{problems[0]}); nothing was restored: `relaypacs backup verify` lists them",
            problems,
        )
    if manifest.storage.kind != objects.kind:
        raise BackupError(
            f"backup {manifest.id} holds {manifest.storage.kind} storage but STORAGE_BACKEND "
            f"is {objects.kind}: restore it with STORAGE_BACKEND={manifest.storage.kind}"
        )
    if not force:
        await database.check_empty(settings)
        if not await anyio.to_thread.run_sync(objects.is_empty):
            raise TargetNotEmpty(
                f"the storage {objects.location} is not empty: restore into an empty "
                "storage, or pass --force to replace it"
            )
    log.info("restore_started", backup=manifest.id)
    with tempfile.TemporaryDirectory(prefix="relaypacs-restore-") as work:
        path = Path(work) / manifest.database.file
        await anyio.to_thread.run_sync(_download, target, manifest, path)
        await database.restore(settings, manifest.database, path, force=force)
    count = await anyio.to_thread.run_sync(
        _restore_objects, target, manifest, objects, force, progress
    )
    tables = await database.live_counts(settings)
    if tables != manifest.database.tables:
        differ = sorted(
            name
            for name in set(tables) | set(manifest.database.tables)
            if tables.get(name) != manifest.database.tables.get(name)
        )
        raise BackupError(
            f"restored backup {manifest.id}, but row counts differ from the manifest in: "
            + ", ".join(differ)
        )
    log.info("restore_finished", backup=manifest.id, objects=count)
    return RestoreReport(manifest=manifest, tables=tables, objects=count)


def _prune(target: Target, daily: int, weekly: int, now: datetime) -> list[str]:
    infos = _list(target)
    complete = [(b.id, b.manifest.started_at) for b in infos if b.manifest is not None]
    keep = retention.to_keep(complete, daily=daily, weekly=weekly)
    deleted: list[str] = []
    for info in infos:
        if info.complete and info.id in keep:
            continue
        if not info.complete and (
            info.started_at is None or now - info.started_at < INCOMPLETE_GRACE
        ):
            continue  # maybe still running, or not ours: leave it
        target.delete(info.id)
        deleted.append(info.id)
    return deleted


async def prune(
    settings: BackupSettings, *, target: Target, now: datetime | None = None
) -> list[str]:
    """Delete the backups retention does not keep (and stale incomplete ones)."""
    deleted = await anyio.to_thread.run_sync(
        _prune, target, settings.backup_keep_daily, settings.backup_keep_weekly, now or utcnow()
    )
    if deleted:
        log.info("backups_pruned", count=len(deleted))
    return deleted
