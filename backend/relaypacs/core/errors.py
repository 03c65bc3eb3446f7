"""The one error format: `{"error": {"code", "message", ...details}}`, for every failure.

`ErrorResponse` is that body as a model, and `error_responses(...)` is how a route declares
the errors it can answer in OpenAPI, each with that body:

    @router.get("/{user_id}", responses=error_responses(403, {404: "No such user"}))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from relaypacs.core.context import current_request_id

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


# What each error status means when a route does not say more.
_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing, invalid or revoked access token (`not_authenticated`)",
    403: "Your role does not allow this (`forbidden`)",
    404: "Not found, or not visible to you",
    409: "Conflict with the resource's current state",
    410: "Gone",
    413: "Too large (`payload_too_large`)",
    422: "Invalid request: `validation_error` (with `fields`) or `invalid_json`",
    429: "Too many requests; `Retry-After` says when to try again",
    503: "A dependency is unavailable",
}

Responses = dict[int | str, dict[str, Any]]
# What FastAPI raises (as a 400) when it cannot decode a request body.
_UNPARSABLE_BODY = "There was an error parsing the body"


class ErrorDetail(BaseModel):
    """What went wrong: a stable snake_case `code`, a `message` for people, and details
    that depend on the code (e.g. `fields` for `validation_error`)."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


def error_responses(*entries: int | Mapping[int, str]) -> Responses:
    """OpenAPI `responses` for the error statuses a route may answer, each with the
    ErrorResponse body: a bare status takes its usual description, a mapping gives the
    route's own (`error_responses(401, {404: "No such user"})`)."""
    described: dict[int, str] = {}
    for entry in entries:
        if isinstance(entry, int):
            described[entry] = _DESCRIPTIONS.get(entry, "Error")
        else:
            described.update(entry)
    return {
        status: {"model": ErrorResponse, "description": description}
        for status, description in sorted(described.items())
    }


class AppError(Exception):
    """Base for every error a domain raises on purpose; subclasses set the defaults."""

    status_code: int = 400
    code: str = "bad_request"
    message: str = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **details: Any,
    ) -> None:
        self.message = message or self.message
        self.details = details
        self.headers = headers
        super().__init__(self.message)


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    message = "Not found."


class NotAuthenticated(AppError):
    status_code = 401
    code = "not_authenticated"
    message = "Authentication required."

    def __init__(self, message: str | None = None, **details: object) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"}, **details)


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    message = "Your role does not allow this action."


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    message = "Conflict with the current state of the resource."


class PayloadTooLarge(StarletteHTTPException):
    """413 `payload_too_large`. An HTTPException, not an AppError, because it is raised
    from `receive` while the framework reads a body, and FastAPI passes only those on."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than the {limit} bytes allowed here.")
        self.limit = limit


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **details}}


def error_response(
    status_code: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    **details: Any,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, **details), status_code, headers=headers)


async def _app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc.status_code, exc.code, exc.message, exc.headers, **exc.details)


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path, asked of the router itself: Starlette's
    405 names only the first route that matched the path, and one path may have a route
    per method (GET /api/upload/{id} and DELETE /api/upload/{id} are two)."""
    scope = {key: value for key, value in request.scope.items() if key != "fastapi"}
    return ", ".join(
        method
        for method in _METHODS
        if any(
            route.matches({**scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
        # FastAPI's answer to a body it could not decode (not UTF-8, or nested too deeply
        # for the parser): that is not JSON either, so it is answered like malformed JSON.
        return error_response(422, "invalid_json", "The request body is not valid JSON.")
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "HTTP error."
    headers = getattr(exc, "headers", None)
    if exc.status_code == 404 and message == "Not Found":
        message = "No such resource."
    if exc.status_code == 405:
        message = "Method not allowed on this resource."
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    details = {"limit": exc.limit} if isinstance(exc, PayloadTooLarge) else {}
    return error_response(exc.status_code, code, message, headers, **details)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # The offending input is deliberately left out: it may carry patient data.
    fields = [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "message": str(err.get("msg", "invalid")),
            "type": str(err.get("type", "value_error")),
        }
        for err in exc.errors()
    ]
    if any(f["type"] == "json_invalid" for f in fields):
        return error_response(
            422, "invalid_json", "The request body is not valid JSON.", fields=fields
        )
    # A validator that raises PydanticCustomError with an `error_code` (and other safe
    # details) in its context names the error itself, e.g. too_many_files with its limit.
    for err in exc.errors():
        details = dict(err.get("ctx") or {})
        code = details.pop("error_code", None)
        if isinstance(code, str):
            message = str(err.get("msg", "invalid"))
            return error_response(422, code, message, fields=fields, **details)
    summary = "; ".join(f"{'.'.join(f['loc'])}: {f['message']}" for f in fields[:5])
    return error_response(422, "validation_error", f"Invalid request: {summary}", fields=fields)


def internal_error_body() -> dict[str, Any]:
    return error_body(
        "internal_error",
        "An unexpected error occurred; it has been logged.",
        request_id=current_request_id(),
    )


def unavailable_body() -> dict[str, Any]:
    return error_body(
        "service_unavailable",
        "A service the gateway depends on is unavailable; try again shortly.",
        request_id=current_request_id(),
    )


def _document_validation_errors(app: FastAPI) -> None:
    """FastAPI documents a 422 with its own `HTTPValidationError` body on every route that
    takes input; the handler above answers ErrorResponse, so the document says that."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        if "ErrorResponse" not in schemas:
            model = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(model.pop("$defs", {}))
            schemas["ErrorResponse"] = model
        fastapi_default = "#/components/schemas/HTTPValidationError"
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                response = operation.get("responses", {}).get("422")
                content = (response or {}).get("content", {}).get("application/json", {})
                if content.get("schema", {}).get("$ref") == fastapi_default:
                    response["description"] = _DESCRIPTIONS[422]
                    content["schema"] = {"$ref": "#/components/schemas/ErrorResponse"}
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    _document_validation_errors(app)
