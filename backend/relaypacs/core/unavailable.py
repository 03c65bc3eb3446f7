"""Which failures mean "a service the gateway depends on is unavailable right now" (the
database restarting, a connection cut, Redis gone), so that the request is answered
503 service_unavailable with Retry-After, which a client retries, and never 500, which
says the gateway is broken. Anything else stays a 500: a bug."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

# asyncpg's own errors when a server goes away or refuses new sessions. Named rather than
# imported: asyncpg is only there with PostgreSQL.
_ASYNCPG_UNAVAILABLE = {
    "ConnectionDoesNotExistError",
    "CannotConnectNowError",  # 57P03: starting up / shutting down
    "AdminShutdownError",  # 57P01
    "CrashShutdownError",  # 57P02
    "TooManyConnectionsError",  # 53300
    "ConnectionFailureError",
    "ClientCannotConnectError",
    "InternalClientError",  # e.g. "cannot perform operation: another operation is in progress"
    "InterfaceError",  # "connection is closed"
}
# SQLSTATE classes: connection exception, insufficient resources, operator intervention.
_SQLSTATE_PREFIXES = ("08", "53", "57P")


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or any(current is s for s in seen) or len(seen) > 20:
            continue
        seen.append(current)
        todo += [current.__cause__, current.__context__, getattr(current, "orig", None)]
    return seen


def _one_is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(
        exc,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.DisconnectionError
        | sa_exc.TimeoutError,  # the pool had no connection to give in time
    ):
        return True
    module = type(exc).__module__
    if module.startswith("asyncpg"):
        sqlstate = str(getattr(exc, "sqlstate", "") or "")
        return type(exc).__name__ in _ASYNCPG_UNAVAILABLE or sqlstate.startswith(_SQLSTATE_PREFIXES)
    if module.startswith("redis") and type(exc).__name__ in {"ConnectionError", "TimeoutError"}:
        return True
    # A socket refused, reset or timed out under a driver (the database, Redis).
    return isinstance(exc, ConnectionError | TimeoutError)


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc`, or anything it was raised from, says a dependency is unavailable."""
    return any(_one_is_unavailable(cause) for cause in _causes(exc))
