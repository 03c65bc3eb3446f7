"""Every failure uses the one error format, including framework-raised ones."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from relaypacs.core.errors import AppError


class Payload(BaseModel):
    name: str
    count: int


class TeapotError(AppError):
    status_code = 418
    code = "teapot"
    message = "I am a teapot."


@pytest.fixture
def app_with_routes(app: FastAPI) -> FastAPI:
    async def echo(payload: Payload) -> Payload:
        return payload

    async def boom() -> None:
        raise RuntimeError("secret internals: patient DOE^JOHN")

    async def teapot() -> None:
        raise TeapotError(limit=3)

    app.add_api_route("/api/_test/echo", echo, methods=["POST"])
    app.add_api_route("/api/_test/boom", boom, methods=["GET"])
    app.add_api_route("/api/_test/teapot", teapot, methods=["GET"])
    return app


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


async def test_invalid_json_is_422_in_the_error_format(
    app_with_routes: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        "/api/_test/echo", content=b'{"name": "x", ', headers={"content-type": "application/json"}
    )
    assert_error(response, 422, "invalid_json")


async def test_validation_error_lists_fields_without_echoing_input(
    app_with_routes: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.post("/api/_test/echo", json={"name": "DOE^JANE", "count": "many"})
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == [
        {"loc": ["body", "count"], "message": error["fields"][0]["message"], "type": "int_parsing"}  # type: ignore[index]
    ]
    assert "DOE^JANE" not in response.text and "many" not in response.text


async def test_unknown_route_is_404_in_the_error_format(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/no-such-thing"), 404, "not_found")


async def test_wrong_method_is_405_in_the_error_format(client: httpx.AsyncClient) -> None:
    assert_error(await client.delete("/healthz"), 405, "method_not_allowed")


async def test_app_error_carries_its_code_status_and_details(
    app_with_routes: FastAPI, client: httpx.AsyncClient
) -> None:
    error = assert_error(await client.get("/api/_test/teapot"), 418, "teapot")
    assert error["limit"] == 3


async def test_unexpected_exception_is_500_with_request_id_and_no_internals(
    app_with_routes: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.get("/api/_test/boom", headers={"X-Request-ID": "req-abc-123"})
    error = assert_error(response, 500, "internal_error")
    assert error["request_id"] == "req-abc-123"
    assert response.headers["x-request-id"] == "req-abc-123"
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
