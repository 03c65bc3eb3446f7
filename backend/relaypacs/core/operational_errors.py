"""Operational failures of the database as one line naming what to do (the CLI prints
these instead of a traceback): missing, unmigrated or unreachable, named by DATABASE_URL
with the password and query string left out.

Only errors raised by the database driver are described, and only by their type or
SQLSTATE, never the driver's message (it can quote a query's values). Anything else is a
bug, or another service failing: it keeps its traceback.
"""

from __future__ import annotations

import socket
from pathlib import Path

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

MIGRATE = "run `relaypacs db upgrade` first"
_DRIVERS = ("/sqlalchemy/", "/asyncpg/", "/aiosqlite/", "/psycopg")
# PostgreSQL SQLSTATEs: undefined table, invalid catalog name, bad password / auth.
UNDEFINED_TABLE = "42P01"
NO_SUCH_DATABASE = "3D000"
AUTH_FAILED = {"28P01", "28000"}


def _where(database_url: str) -> str:
    try:
        url = make_url(database_url).set(query={})
    except sa_exc.ArgumentError:
        return "DATABASE_URL (unparsable)"
    return f"DATABASE_URL={url.render_as_string(hide_password=True)}"


def _relative_sqlite(database_url: str) -> str:
    """A hint when a relative SQLite path was resolved against the current directory."""
    try:
        url = make_url(database_url)
    except sa_exc.ArgumentError:
        return ""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return ""
    path = Path(url.database)
    if path.is_absolute():
        return ""
    return f" (the relative path means {path.resolve()}; run from the project directory)"


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it was explicitly raised from (not what it interrupted)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__
    return chain


def _raised_by_driver(exc: BaseException) -> bool:
    frame = exc.__traceback__
    while frame is not None:
        if any(part in frame.tb_frame.f_code.co_filename for part in _DRIVERS):
            return True
        frame = frame.tb_next
    return False


def describe(exc: BaseException, *, database_url: str, migrating: bool = False) -> str | None:
    """One line for a database that is missing, unmigrated or unreachable; else None.

    While migrating, a missing table is a broken migration, not an unmigrated database:
    only connection failures are described then."""
    chain = _causes(exc)
    dbapi = next((e for e in chain if isinstance(e, sa_exc.DBAPIError)), None)
    if dbapi is None and not any(_raised_by_driver(e) for e in chain):
        return None
    where = _where(database_url)
    sqlstates = {state for e in chain if isinstance(state := getattr(e, "sqlstate", None), str)}
    sqlite_error = str(dbapi.orig) if dbapi is not None and dbapi.orig is not None else ""
    if NO_SUCH_DATABASE in sqlstates:
        return f"the database named in {where} does not exist: create it, then {MIGRATE}"
    if sqlstates & AUTH_FAILED:
        return f"the database at {where} refused the credentials"
    if sqlite_error.startswith("unable to open database file"):
        return (
            f"cannot open the SQLite database at {where}: its directory does not exist "
            "or is not writable"
        )
    for error in chain:
        if isinstance(error, socket.gaierror):
            return f"cannot reach the database at {where}: unknown host"
        if isinstance(error, OSError) and not isinstance(error, sa_exc.SQLAlchemyError):
            reason = error.strerror or type(error).__name__
            return f"cannot reach the database at {where}: {reason}"
    if migrating:
        return None
    if UNDEFINED_TABLE in sqlstates or sqlite_error.startswith("no such table"):
        hint = _relative_sqlite(database_url)
        return f"the database at {where} is not migrated: {MIGRATE}{hint}"
    return None
