"""The one error format: `{"error": {"code", "message", ...details}}`, for every failure."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "HTTP error."
    if exc.status_code == 404 and message == "Not Found":
        message = "No such resource."
    if exc.status_code == 405:
        message = "Method not allowed on this resource."
    details = {"limit": exc.limit} if isinstance(exc, PayloadTooLarge) else {}
    return error_response(exc.status_code, code, message, getattr(exc, "headers", None), **details)


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


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
