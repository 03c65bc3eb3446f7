"""Request body limits, enforced before a body is read: pure ASGI, so streaming bodies
(upload chunks) still stream, and a body without Content-Length is cut off at the limit
instead of being buffered whole. (What the client sends after the answer is discarded by
the server as it arrives, so the connection can be reused; memory stays flat.)

Every route takes at most REQUEST_MAX_BODY_BYTES (1 MiB by default); the few routes that
need more are named by their endpoint (`main.py`), and may check a tighter limit of their
own (a chunk is at most its upload's chunk size: `uploads/chunks.py`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relaypacs.core.errors import PayloadTooLarge, error_body


@dataclass(frozen=True, slots=True)
class RouteLimit:
    methods: frozenset[str]
    path: re.Pattern[str]
    max_bytes: int


def route_limits(
    routes: Iterable[BaseRoute], limits: Mapping[Callable[..., Any], int]
) -> tuple[RouteLimit, ...]:
    """The limits of the routes served by these endpoints (each must be mounted)."""
    found: list[RouteLimit] = []
    served: set[Callable[..., Any]] = set()
    for route in iter_route_contexts(list(routes)):
        endpoint = route.endpoint
        if endpoint is not None and endpoint in limits and route.path is not None:
            regex, _, _ = compile_path(route.path)
            found.append(RouteLimit(frozenset(route.methods or ()), regex, limits[endpoint]))
            served.add(endpoint)
    missing = [getattr(e, "__name__", repr(e)) for e in limits if e not in served]
    if missing:
        raise ValueError(f"body limits for endpoints that are not mounted: {missing}")
    return tuple(found)


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, or None when absent (chunked) or unparsable."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def too_large_message(limit: int) -> list[Message]:
    body = json.dumps(error_body("payload_too_large", PayloadTooLarge(limit).detail, limit=limit))
    encoded = body.encode()
    return [
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(encoded)).encode()),
            ],
        },
        {"type": "http.response.body", "body": encoded},
    ]


class BodyLimitMiddleware:
    """413 `payload_too_large` for a body over its route's limit: on Content-Length before
    the app runs, and while streaming as soon as the bytes received pass the limit."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, routes: Iterable[RouteLimit] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.routes = tuple(routes)

    def limit_for(self, scope: Scope) -> int:
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        for route in self.routes:
            if scope["method"] in route.methods and route.path.match(path):
                return route.max_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            for message in too_large_message(limit):
                await send(message)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except PayloadTooLarge:
            # Normally the app's error handler answers; this is for a body read elsewhere.
            if started:
                raise
            for message in too_large_message(limit):
                await send(message)
