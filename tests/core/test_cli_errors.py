"""Operational errors of the `relaypacs` command are one line on stderr and a non-zero
exit, never a traceback: a database that is unmigrated, in the wrong place or unreachable
(named by DATABASE_URL, password hidden), and bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import free_port

RELAYPACS = Path(sys.executable).with_name("relaypacs")
PASSWORD = "harbour-juniper-vector-31"


def _run(
    database_url: str, *args: str, cwd: Path, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DATABASE_URL": database_url, "ENVIRONMENT": "development"}
    return subprocess.run(
        [str(RELAYPACS), *args],
        input=stdin,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("relaypacs: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def _create_admin(
    database_url: str, cwd: Path, email: str = "boss@example.org"
) -> subprocess.CompletedProcess[str]:
    return _run(
        database_url,
        "users",
        "create-admin",
        "--email",
        email,
        "--username",
        "boss",
        "--password-stdin",
        cwd=cwd,
        stdin=PASSWORD + "\n",
    )


@pytest.mark.slow
def test_an_unmigrated_database_is_named_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    for result in (_create_admin(url, tmp_path), _run(url, "uploads", "cleanup", cwd=tmp_path)):
        line = _one_line_error(result)
        assert f"DATABASE_URL={url}" in line
        assert "not migrated: run `relaypacs db upgrade` first" in line


@pytest.mark.slow
def test_the_default_relative_sqlite_path_from_another_directory_says_where_it_looked(
    tmp_path: Path,
) -> None:
    line = _one_line_error(_create_admin("sqlite+aiosqlite:///data/relaypacs.db", tmp_path))
    assert "not migrated" in line
    assert f"the relative path means {tmp_path.resolve() / 'data' / 'relaypacs.db'}" in line


@pytest.mark.slow
def test_an_unreachable_postgresql_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://relay:s3cret-pw@127.0.0.1:{free_port()}/relay"
    for result in (_create_admin(url, tmp_path), _run(url, "db", "upgrade", cwd=tmp_path)):
        line = _one_line_error(result)
        assert line.startswith("relaypacs: cannot reach the database at DATABASE_URL=")
        assert "relay:***@127.0.0.1" in line
        assert "s3cret-pw" not in result.stderr


@pytest.mark.slow
def test_bad_input_is_one_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}"
    upgraded = _run(url, "db", "upgrade", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    line = _one_line_error(_create_admin(url, tmp_path, email="not-an-email"))
    assert line.startswith("relaypacs: email:")


@pytest.mark.slow
def test_a_password_in_the_query_string_is_not_printed(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://relay@127.0.0.1:{free_port()}/relay?password=s3cret-pw"
    line = _one_line_error(_create_admin(url, tmp_path))
    assert "cannot reach the database" in line
    assert "s3cret-pw" not in line and "password" not in line


def _raise_from_sqlite(sql: str) -> BaseException:
    import sqlite3

    from sqlalchemy import create_engine, text

    engine = create_engine("sqlite://")
    try:
        with engine.connect() as connection:
            connection.execute(text(sql))
    except Exception as exc:  # noqa: BLE001 - the exception is what the test looks at
        return exc
    finally:
        engine.dispose()
    raise AssertionError(f"{sql!r} did not fail ({sqlite3.sqlite_version})")


def test_only_database_driver_errors_become_one_line() -> None:
    from relaypacs.core.operational_errors import describe

    url = "postgresql+asyncpg://relay:pw@db.example/relay"
    # Another service refusing a connection (S3, SMTP, a PACS) is not the database.
    assert describe(ConnectionRefusedError(111, "Connection refused"), database_url=url) is None
    assert describe(KeyError("database does not exist"), database_url=url) is None
    # A missing table is "not migrated", except while migrating (a broken migration).
    missing = _raise_from_sqlite("SELECT * FROM upload")
    assert "not migrated" in (describe(missing, database_url="sqlite+aiosqlite:///x.db") or "")
    assert describe(missing, database_url="sqlite+aiosqlite:///x.db", migrating=True) is None
    # Other driver errors keep their traceback; their text (which can quote values) is
    # never printed.
    syntax = _raise_from_sqlite("SELECT 'Jane Patient' FROM")
    assert describe(syntax, database_url=url) is None
