"""The daily backup is scheduled from BACKUP_CRON (as a core.jobs cron job: one replica
runs it, under a lease) or not at all, and
pg_dump/pg_restore are only ever the server's major version."""

from __future__ import annotations

from pathlib import Path

import pytest

from relaypacs.backup import jobs as backup_jobs
from relaypacs.backup import postgres
from relaypacs.backup.errors import ToolMissing
from relaypacs.core import jobs
from relaypacs.core.database import Database
from relaypacs.uploads.storage import LocalStorage
from tests.conftest import make_settings


@pytest.mark.parametrize("cron", ["15 1 * * *", ""])
async def test_the_backup_job_follows_backup_cron_and_the_gauge_refresh_always_runs(
    tmp_path: Path, cron: str
) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'db'}", tmp_path, backup_cron=cron)
    scheduler = jobs.create_scheduler()
    database = Database(settings)
    target = backup_jobs.schedule(scheduler, database, settings, LocalStorage(tmp_path / "s"))
    try:
        backup = scheduler.get_job(backup_jobs.JOB_NAME)
        if cron:
            assert backup is not None
            assert (
                str(backup.trigger)
                == "cron[month='*', day='*', day_of_week='*', hour='1', minute='15']"
            )
        else:
            assert backup is None
        assert scheduler.get_job(backup_jobs.REFRESH_JOB_NAME) is not None
        assert target.location == str(tmp_path / "backups")
    finally:
        target.close()
        await database.dispose()


def _fake_tool(directory: Path, name: str, version: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tool = directory / name
    tool.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
    tool.chmod(0o755)


def test_a_pg_dump_of_another_major_version_is_refused_naming_what_to_do(tmp_path: Path) -> None:
    _fake_tool(tmp_path / "bin", "pg_dump", "14.11")
    with pytest.raises(ToolMissing) as refused:
        postgres.find_tool("pg_dump", 15, tmp_path / "bin")
    message = str(refused.value)
    assert "pg_dump of PostgreSQL 15 (the server's version) not found" in message
    assert "install postgresql-client-15 or set BACKUP_PG_BIN_DIR" in message
    _fake_tool(tmp_path / "bin15", "pg_dump", "15.8 (Debian 15.8-0+deb12u1)")
    assert postgres.find_tool("pg_dump", 15, tmp_path / "bin15") == tmp_path / "bin15" / "pg_dump"


def test_the_server_version_s_own_pg_dump_is_found_where_debian_installs_it() -> None:
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))
    assert installed, "the suite's PostgreSQL (tests/servers.py) comes with its pg_dump"
    major = int(installed[-1].parent.parent.name)
    assert postgres.find_tool("pg_dump", major, None) == installed[-1]
    with pytest.raises(ToolMissing):
        postgres.find_tool("pg_dump", 99, None)


def test_the_password_goes_in_the_environment_never_on_the_command_line() -> None:
    settings = make_settings(
        "postgresql+asyncpg://relay:s3cr%40t@db.internal:5433/relaypacs?ssl=require", Path("/x")
    )
    env = postgres.libpq_environment(settings.database)
    assert env["PGPASSWORD"] == "s3cr@t"
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGDATABASE"]) == (
        "db.internal",
        "5433",
        "relay",
        "relaypacs",
    )
    assert env["PGSSLMODE"] == "require"
