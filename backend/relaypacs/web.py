"""Serve the built web app (frontend/dist) at `/`, falling back to index.html for client routes."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

from relaypacs.core.errors import error_response
from relaypacs.core.web_app import web_app_built
from relaypacs.settings import Settings

# Paths the server owns: never answered with the web app, so their 404s stay JSON.
RESERVED_PREFIXES = ("/api", "/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json")
# Fetched by the browser to discover a new release: always revalidated.
REVALIDATE = {"index.html", "sw.js", "manifest.webmanifest", "registerSW.js"}
NO_CACHE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=3600"
# Every page of the app is index.html: never framed by another site (clickjacking of Settings
# or the admin console), no referrer sent on. The nginx web front sends the same.
PAGE_HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")


def is_reserved(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in RESERVED_PREFIXES)


class _WebAppRoute(Route):
    """GET/HEAD of any non-reserved path; everything else falls through to the usual 404/405."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or is_reserved(scope["path"])
        ):
            return Match.NONE, {}
        return super().matches(scope)


def _cache_control(relative: str) -> str:
    if relative.startswith("assets/"):
        return IMMUTABLE  # Vite puts a content hash in every file name under assets/
    if relative in REVALIDATE or relative.startswith("workbox-"):
        return NO_CACHE
    return SHORT


def _resolve(dist: Path, relative: str) -> Path | None:
    """The file under `dist` for a request path, or None (missing, a directory, or outside)."""
    try:
        candidate = (dist / relative).resolve()
    except (OSError, ValueError):
        return None
    if not candidate.is_relative_to(dist) or not candidate.is_file():
        return None
    return candidate


def _file(path: Path, relative: str) -> FileResponse:
    headers = {"Cache-Control": _cache_control(relative), "X-Content-Type-Options": "nosniff"}
    if path.suffix == ".html":
        headers |= PAGE_HEADERS
    return FileResponse(path, headers=headers)


def install_web_app(app: FastAPI, settings: Settings) -> None:
    """Add the web app as the last route of `app` (call after every API router)."""

    async def web_app(request: Request) -> Response:
        dist = settings.frontend_dist_dir.resolve()
        index = dist / "index.html"
        if not web_app_built(settings):
            return error_response(
                503,
                "frontend_not_built",
                "The web app is not built. Run `make run`, or `npm ci && npm run build` in "
                "frontend/, or set FRONTEND_DIST to a built copy.",
            )
        relative = request.path_params.get("path", "").lstrip("/")
        if relative.endswith(".map"):
            # The build's hidden source maps are for Sentry (uploaded, docs/error-reporting.md),
            # not for the public.
            raise HTTPException(status_code=404)
        found = _resolve(dist, relative) if relative else None
        if found is not None:
            return _file(found, relative)
        if relative.startswith("assets/") or relative in REVALIDATE:
            # A missing build file must not turn into an HTML page with status 200.
            raise HTTPException(status_code=404)
        return _file(index, "index.html")

    route: Any = _WebAppRoute(
        "/{path:path}", web_app, methods=["GET", "HEAD"], include_in_schema=False
    )
    app.router.routes.append(route)
