"""The database part of a backup: PostgreSQL with pg_dump's custom format from an exported
snapshot (the row counts are counted in the same snapshot), SQLite with its online backup
API; restore into an empty database, or replace one with `force`."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from relaypacs.backup import postgres
from relaypacs.backup.config import BackupSettings
from relaypacs.backup.errors import BackupError, TargetNotEmpty
from relaypacs.backup.manifest import DatabasePart


@dataclass(frozen=True)
class Dump:
    path: Path
    kind: str
    server_version: str
    revision: str
    tables: dict[str, int]


def _where(url: URL) -> str:
    return f"DATABASE_URL={url.set(query={}).render_as_string(hide_password=True)}"


def _sqlstate(exc: BaseException) -> str | None:
    seen: BaseException | None = exc
    while seen is not None:
        for candidate in (seen, getattr(seen, "orig", None)):
            state = getattr(candidate, "sqlstate", None)
            if isinstance(state, str):
                return state
        seen = seen.__cause__
    return None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- PostgreSQL ------------------------------------------------------------------------


async def _pg_tables(conn: AsyncConnection) -> list[tuple[str, str]]:
    rows = await conn.execute(
        text(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN "
            "('pg_catalog', 'information_schema', 'pg_toast') ORDER BY schemaname, tablename"
        )
    )
    return [(str(schema), str(table)) for schema, table in rows]


async def _pg_counts(conn: AsyncConnection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for schema, table in await _pg_tables(conn):
        name = table if schema == "public" else f"{schema}.{table}"
        # Names from the catalog, quoted: nothing here comes from a user.
        sql = f"SELECT count(*) FROM {_quote(schema)}.{_quote(table)}"  # noqa: S608
        count = await conn.scalar(text(sql))
        counts[name] = int(count or 0)
    return counts


async def _pg_revision(conn: AsyncConnection, tables: dict[str, int]) -> str:
    if "alembic_version" not in tables:
        return ""
    return str(await conn.scalar(text("SELECT version_num FROM alembic_version")) or "")


async def _pg_major(conn: AsyncConnection) -> tuple[int, str]:
    number = int(await conn.scalar(text("SHOW server_version_num")) or 0)
    return number // 10000, str(await conn.scalar(text("SHOW server_version")))


async def _pg_dump(settings: BackupSettings, url: URL, path: Path) -> Dump:
    engine = create_async_engine(url, hide_parameters=True)
    try:
        async with engine.connect() as conn:
            snapshot_conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            async with snapshot_conn.begin():
                await snapshot_conn.execute(text("SET TRANSACTION READ ONLY"))
                snapshot = str(await snapshot_conn.scalar(text("SELECT pg_export_snapshot()")))
                major, version = await _pg_major(snapshot_conn)
                tables = await _pg_counts(snapshot_conn)
                revision = await _pg_revision(snapshot_conn, tables)
                tool = await anyio.to_thread.run_sync(
                    postgres.find_tool, "pg_dump", major, settings.backup_pg_bin_dir
                )
                # pg_dump reads the same snapshot while this transaction keeps it alive.
                await postgres.run_tool(
                    tool,
                    [
                        "--format=custom",
                        f"--snapshot={snapshot}",
                        f"--file={path}",
                        "--no-password",
                    ],
                    postgres.libpq_environment(url),
                )
    finally:
        await engine.dispose()
    return Dump(path, "postgresql", version, revision, tables)


async def _pg_restore(settings: BackupSettings, url: URL, path: Path, *, force: bool) -> None:
    engine = create_async_engine(url, hide_parameters=True)
    try:
        async with engine.connect() as conn:
            tables = await _pg_tables(conn)
            if tables and not force:
                raise TargetNotEmpty(
                    f"the database at {_where(url)} is not empty ({len(tables)} tables): "
                    "restore into an empty database, or pass --force to replace it"
                )
            major, _ = await _pg_major(conn)
            if tables:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
                await conn.commit()
    except DBAPIError as exc:
        if _sqlstate(exc) == "3D000":
            raise BackupError(
                f"the database named in {_where(url)} does not exist: create it empty "
                "(e.g. createdb), then restore"
            ) from None
        raise
    finally:
        await engine.dispose()
    tool = await anyio.to_thread.run_sync(
        postgres.find_tool, "pg_restore", major, settings.backup_pg_bin_dir
    )
    await postgres.run_tool(
        tool,
        [
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
            f"--dbname={url.database}",
            str(path),
        ],
        postgres.libpq_environment(url),
    )


async def _pg_live_counts(url: URL) -> dict[str, int]:
    engine = create_async_engine(url, hide_parameters=True)
    try:
        async with engine.connect() as conn:
            return await _pg_counts(conn)
    finally:
        await engine.dispose()


# --- SQLite ----------------------------------------------------------------------------


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    )
    return [str(name) for (name,) in rows]


def _sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {
        name: int(conn.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0])  # noqa: S608
        for name in _sqlite_tables(conn)
    }


def _sqlite_dump(source_path: Path, path: Path) -> Dump:
    if not source_path.is_file():
        raise BackupError(f"the SQLite database {source_path} does not exist")
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(path)
    try:
        source.backup(copy)  # the online backup API: a consistent copy while the app writes
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        tables = _sqlite_counts(copy)
        revision = ""
        if "alembic_version" in tables:
            row = copy.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = str(row[0]) if row else ""
        version = sqlite3.sqlite_version
    finally:
        copy.close()
        source.close()
    return Dump(path, "sqlite", version, revision, tables)


def _sqlite_restore(target_path: Path, path: Path, *, force: bool) -> None:
    target_path.parent.mkdir(parents=True, exist_ok=True)
    if not target_path.exists():
        # A write-ahead log left by a database since deleted must not be replayed into
        # the restored one.
        for suffix in ("-wal", "-shm"):
            target_path.with_name(target_path.name + suffix).unlink(missing_ok=True)
    target = sqlite3.connect(target_path, timeout=30)
    try:
        tables = _sqlite_tables(target)
        if tables and not force:
            raise TargetNotEmpty(
                f"the SQLite database {target_path} is not empty ({len(tables)} tables): "
                "restore into an empty database, or pass --force to replace it"
            )
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            source.backup(target)  # replaces every page of the target
        finally:
            source.close()
        target.execute("PRAGMA journal_mode=WAL")
    finally:
        target.close()


def _sqlite_live_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return _sqlite_counts(conn)
    finally:
        conn.close()


def _sqlite_has_tables(path: Path) -> bool:
    return bool(_sqlite_live_counts(path))


# --- either ----------------------------------------------------------------------------


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def file_name(settings: BackupSettings) -> str:
    return "database.sqlite3" if settings.is_sqlite else "database.pgdump"


async def dump(settings: BackupSettings, path: Path) -> Dump:
    """Write the database to `path` and describe what was written."""
    url = settings.database
    if settings.is_sqlite:
        return await anyio.to_thread.run_sync(_sqlite_dump, _sqlite_path(url), path)
    return await _pg_dump(settings, url, path)


async def restore(settings: BackupSettings, part: DatabasePart, path: Path, *, force: bool) -> None:
    """Load a dump into DATABASE_URL's database, which must be empty unless `force`."""
    kind = "sqlite" if settings.is_sqlite else "postgresql"
    if part.kind != kind:
        raise BackupError(
            f"this backup holds a {part.kind} database but DATABASE_URL is {kind}: "
            f"restore it into a {part.kind} database"
        )
    url = settings.database
    if settings.is_sqlite:
        await anyio.to_thread.run_sync(
            lambda: _sqlite_restore(_sqlite_path(url), path, force=force)
        )
    else:
        await _pg_restore(settings, url, path, force=force)


async def check_empty(settings: BackupSettings) -> None:
    """Raise TargetNotEmpty unless DATABASE_URL's database has no tables (or is absent)."""
    url = settings.database
    if settings.is_sqlite:
        path = _sqlite_path(url)
        if path.is_file() and await anyio.to_thread.run_sync(_sqlite_has_tables, path):
            raise TargetNotEmpty(
                f"the SQLite database {path} is not empty: restore into an empty database, "
                "or pass --force to replace it"
            )
        return
    try:
        tables = await _pg_live_counts(url)
    except DBAPIError as exc:
        if _sqlstate(exc) == "3D000":
            return  # reported as missing by the restore itself
        raise
    if tables:
        raise TargetNotEmpty(
            f"the database at {_where(url)} is not empty ({len(tables)} tables): restore "
            "into an empty database, or pass --force to replace it"
        )


async def live_counts(settings: BackupSettings) -> dict[str, int]:
    """Every table's row count in DATABASE_URL's database now."""
    url = settings.database
    if settings.is_sqlite:
        return await anyio.to_thread.run_sync(_sqlite_live_counts, _sqlite_path(url))
    return await _pg_live_counts(url)
