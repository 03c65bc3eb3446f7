"""pg_dump and pg_restore of the server's own major version, run with the connection in
PG* environment variables (the password never appears on a command line)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import anyio
from sqlalchemy.engine import URL

from relaypacs.backup.errors import BackupError, ToolMissing

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")


def libpq_environment(url: URL) -> dict[str, str]:
    """The PG* variables that point libpq's tools at DATABASE_URL's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    values = {
        "PGHOST": url.host or "",
        "PGPORT": str(url.port or ""),
        "PGUSER": url.username or "",
        "PGPASSWORD": url.password if isinstance(url.password, str) else "",
        "PGDATABASE": url.database or "",
    }
    ssl = url.query.get("sslmode") or url.query.get("ssl")
    if isinstance(ssl, str):
        values["PGSSLMODE"] = {"true": "require", "false": "disable"}.get(ssl, ssl)
    env.update({k: v for k, v in values.items() if v})
    return env


def _major_of(tool: Path) -> int | None:
    try:
        result = subprocess.run(  # noqa: S603 - a configured tool, fixed arguments
            [str(tool), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    match = _VERSION.search(result.stdout)
    return int(match[1]) if match else None


def find_tool(name: str, server_major: int, configured: Path | None) -> Path:
    """`name` (pg_dump, pg_restore) of the server's major version, or ToolMissing."""
    candidates = (
        [configured / name]
        if configured is not None
        else [Path(f"/usr/lib/postgresql/{server_major}/bin/{name}")]
    )
    on_path = shutil.which(name)
    if on_path and configured is None:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and _major_of(candidate) == server_major:
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise ToolMissing(
        f"{name} of PostgreSQL {server_major} (the server's version) not found (looked at "
        f"{looked}): install postgresql-client-{server_major} or set BACKUP_PG_BIN_DIR"
    )


async def run_tool(tool: Path, args: list[str], env: dict[str, str]) -> None:
    """Run a libpq tool; a failure is one line with the tool's last message."""
    result = await anyio.run_process([str(tool), *args], env=env, check=False)
    if result.returncode != 0:
        lines = result.stderr.decode(errors="replace").strip().splitlines()
        last = lines[-1] if lines else f"exit code {result.returncode}"
        raise BackupError(f"{tool.name} failed: {last}")
