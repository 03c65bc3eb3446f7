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


UPLOAD_ID = "e3e70682-c209-1cac-a29f-6fbed82c07cd"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        # One path, a route per method: Starlette's own 405 named only the first route's.
        ("OPTIONS", f"/api/upload/{UPLOAD_ID}", "DELETE, GET"),
        ("OPTIONS", "/api/me/profile", "GET, PATCH"),
        # A literal path beside a parameter one: `init` is not taken for an upload id.
        ("DELETE", "/api/upload/init", "POST"),
        ("GET", "/api/upload/init", "POST"),
        ("PUT", "/api/auth/sessions/revoke-all", "POST"),
        ("PATCH", "/api/facilities/all", "GET"),
    ],
)
async def test_a_405_names_every_method_of_its_path_in_allow(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allow


@pytest.mark.parametrize(
    "body",
    [b'{"login": "ana\xc3\x28", "password": "x"}', b"[" * 100_000],
    ids=["not-utf-8", "nested-too-deep"],
)
async def test_a_body_that_cannot_be_decoded_is_422_invalid_json(
    client: httpx.AsyncClient, body: bytes
) -> None:
    response = await client.post(
        "/api/auth/login", content=body, headers={"content-type": "application/json"}
    )
    assert_error(response, 422, "invalid_json")


def test_every_error_response_in_the_openapi_document_has_the_error_body(app: FastAPI) -> None:
    document = app.openapi()
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert schemas["ErrorResponse"]["required"] == ["error"]
    undocumented = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) < 400:
                    continue
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                # /readyz's 503 is its readiness report, plus the error.
                expected = "NotReady" if path == "/readyz" else "ErrorResponse"
                if schema != {"$ref": f"#/components/schemas/{expected}"}:
                    undocumented.append(f"{method.upper()} {path} {status}: {response}")
    assert not undocumented, "\n".join(undocumented)
