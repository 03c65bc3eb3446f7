"""Request context middleware: request id, access log, HTTP metrics, last-resort 500."""

from __future__ import annotations

import json
import re
import time
import uuid

import structlog
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relaypacs.core import metrics
from relaypacs.core.context import set_request_id, set_settings
from relaypacs.core.errors import internal_error_body, unavailable_body
from relaypacs.core.logging import get_logger
from relaypacs.core.unavailable import is_unavailable

log = get_logger("relaypacs.http")

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def _route_template(scope: Scope) -> str:
    """The matched route's whole path template (`/api/upload/{upload_id}/status`): FastAPI
    keeps it, prefixes included, on the effective route it selected; `scope["route"]` is
    the router's own route, whose path lacks the prefix its router was included with."""
    effective = scope.get("fastapi", {}).get("effective_route_context")
    path = getattr(effective, "path_format", None) or getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else "<unmatched>"


async def _answer(send: Send, status: int, body: dict[str, object], request_id: str) -> None:
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (REQUEST_ID_HEADER.encode(), request_id.encode()),
    ]
    if status == 503:
        headers.append((b"retry-after", b"2"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class RequestContextMiddleware:
    """Pure ASGI middleware, so streaming bodies (chunks, SSE) pass through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = _incoming_request_id(scope)
        set_request_id(request_id)
        app = scope.get("app")
        set_settings(getattr(getattr(app, "state", None), "settings", None))
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            # The client went away mid-body: nobody to answer, nothing broken (nginx's 499).
            log.info("client_disconnected", method=scope["method"], path=scope["path"])
            status = 499
        except Exception as exc:
            if is_unavailable(exc):
                # The database restarting, Redis gone: a retry will do (never a 500).
                log.warning(
                    "dependency_unavailable",
                    method=scope["method"],
                    path=scope["path"],
                    error=type(exc).__name__,
                )
                status, body = 503, unavailable_body()
            else:
                log.exception("unhandled_error", method=scope["method"], path=scope["path"])
                status, body = 500, internal_error_body()
            if not response_started:
                await _answer(send, status, body, request_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            metrics.HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
            metrics.HTTP_LATENCY.labels(scope["method"], route).observe(elapsed)
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round(elapsed * 1000, 1),
            )
            structlog.contextvars.clear_contextvars()
