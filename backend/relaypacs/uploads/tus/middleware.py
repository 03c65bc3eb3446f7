"""What every tus answer carries, whoever produced it (a route, the error handler or the
body limit): Tus-Resumable; and X-HTTP-Method-Override, which tus says the server MUST
take as the request's method (for clients whose environment cannot send PATCH/DELETE)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relaypacs.uploads.tus.errors import TUS_VERSION

_OVERRIDABLE = {"POST", "GET", "HEAD", "PATCH", "DELETE", "OPTIONS", "PUT"}


class TusHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, prefix: str = "/api/tus") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"x-http-method-override":
                method = value.decode("latin-1").strip().upper()
                if method in _OVERRIDABLE:
                    scope = {**scope, "method": method}

        async def with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"tus-resumable"]
                headers.append((b"tus-resumable", TUS_VERSION.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_version)
