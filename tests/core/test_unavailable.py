"""A dependency that is down (the database restarting, a connection cut, Redis gone) is
answered 503 service_unavailable with Retry-After, which clients retry; never 500, which
says the gateway is broken. A client that goes away mid-request is no error at all."""

from __future__ import annotations

import httpx
import pytest
import redis.exceptions
from fastapi import FastAPI
from sqlalchemy import exc as sa_exc
from starlette.requests import ClientDisconnect

from relaypacs.core.unavailable import is_unavailable

FAILURES: dict[str, BaseException] = {
    "refused": sa_exc.OperationalError("SELECT 1", {}, ConnectionRefusedError(111, "refused")),
    "invalidated": sa_exc.DBAPIError("SELECT 1", {}, OSError("gone"), connection_invalidated=True),
    "pool": sa_exc.TimeoutError("QueuePool limit reached"),
    "redis": redis.exceptions.ConnectionError("Connection refused"),
    "reset": ConnectionResetError(104, "Connection reset by peer"),
}


class ShutdownError(Exception):
    """Stands for asyncpg's AdminShutdownError (SQLSTATE 57P01)."""

    sqlstate = "57P01"


ShutdownError.__module__ = "asyncpg.exceptions"


@pytest.fixture
def failing_app(app: FastAPI) -> FastAPI:
    def route(failure: BaseException):  # type: ignore[no-untyped-def]
        async def fail() -> None:
            raise failure

        return fail

    for name, failure in FAILURES.items():
        app.add_api_route(f"/api/_test/down/{name}", route(failure), methods=["GET"])
    app.add_api_route("/api/_test/bug", route(KeyError("not a dependency")), methods=["GET"])
    app.add_api_route("/api/_test/gone", route(ClientDisconnect()), methods=["GET"])
    return app


@pytest.mark.parametrize("name", sorted(FAILURES))
async def test_a_dependency_down_is_503_with_retry_after(
    failing_app: FastAPI, client: httpx.AsyncClient, name: str
) -> None:
    response = await client.get(f"/api/_test/down/{name}")
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.headers["retry-after"] == "2"


async def test_a_bug_stays_500(failing_app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await client.get("/api/_test/bug")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"


def test_the_cause_chain_is_followed() -> None:
    try:
        try:
            raise ShutdownError("terminating connection due to administrator command")
        except ShutdownError as inner:
            raise RuntimeError("while saving the chunk") from inner
    except RuntimeError as outer:
        assert is_unavailable(outer)
    assert not is_unavailable(ValueError("bad input"))
    assert not is_unavailable(sa_exc.IntegrityError("INSERT", {}, Exception("duplicate")))
