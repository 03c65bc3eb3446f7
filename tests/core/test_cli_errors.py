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
