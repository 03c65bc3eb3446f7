"""Operational failures as one line naming what to do (the CLI prints these instead of a
traceback): a database that is missing, unmigrated or unreachable, named by its
configuration variable, with the password hidden."""

from __future__ import annotations

import socket
from pathlib import Path

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

MIGRATE = "run `relaypacs db upgrade` first"


def _where(database_url: str) -> str:
    try:
        shown = make_url(database_url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        shown = "(unparsable)"
    return f"DATABASE_URL={shown}"


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


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def describe(exc: BaseException, *, database_url: str) -> str | None:
    """One line for a known operational failure; None when it is a bug (keep the trace)."""
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain).lower()
    names = {type(e).__name__ for e in chain}
    where = _where(database_url)
    if (
        "no such table" in text
        or "undefinedtable" in {n.lower() for n in names}
        or ("relation" in text and "does not exist" in text)
    ):
        hint = _relative_sqlite(database_url)
        return f"the database at {where} is not migrated: {MIGRATE}{hint}"
    if "unable to open database file" in text:
        return (
            f"cannot open the SQLite database at {where}: its directory does not exist "
            "or is not writable (relative paths are taken from the current directory)"
        )
    if "InvalidCatalogNameError" in names or ("database" in text and "does not exist" in text):
        return f"the database named in {where} does not exist: create it, then {MIGRATE}"
    if "InvalidPasswordError" in names or "password authentication failed" in text:
        return f"the database at {where} refused the credentials"
    for error in chain:
        if isinstance(error, socket.gaierror):
            return f"cannot reach the database at {where}: unknown host"
        if isinstance(error, ConnectionRefusedError | TimeoutError) or (
            isinstance(error, OSError) and "connect" in str(error).lower()
        ):
            return f"cannot reach the database at {where}: {error.strerror or error}"
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        return f"the database at {where} failed: {str(exc.orig or exc).splitlines()[0]}"
    return None
