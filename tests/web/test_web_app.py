"""The backend serves the built web app at `/` with an SPA fallback, and leaves the API alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

INDEX = "<!doctype html><title>RelayPACS test build</title><div id=root></div>"
ASSET = "assets/index-Ab12Cd34.js"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "icons").mkdir()
    (root / "index.html").write_text(INDEX)
    (root / ASSET).write_text("console.log('app');")
    (root / f"{ASSET}.map").write_text('{"version": 3, "sources": ["src/main.tsx"]}')
    (root / "sw.js").write_text("self.addEventListener('install', () => {});")
    (root / "manifest.webmanifest").write_text('{"name": "RelayPACS Gateway"}')
    (root / "icons" / "icon-192.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    (tmp_path / "secret.txt").write_text("outside the build")
    return root


@pytest.fixture
def settings_overrides(dist: Path) -> dict[str, Any]:
    return {"frontend_dist": dist}


async def test_root_serves_index_html_revalidated_every_time(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 200
    assert r.text == INDEX
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-cache"
    # No other site may frame the app; no referrer leaves it.
    assert r.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("route", ["/upload", "/history", "/verify-email", "/a/deep/client/route"])
async def test_client_routes_fall_back_to_index_html(client: httpx.AsyncClient, route: str) -> None:
    r = await client.get(route, params={"result": "verified"})
    assert r.status_code == 200
    assert r.text == INDEX
    assert r.headers["cache-control"] == "no-cache"


async def test_hashed_assets_are_cached_for_a_year_as_immutable(client: httpx.AsyncClient) -> None:
    r = await client.get("/" + ASSET)
    assert r.status_code == 200
    assert r.text == "console.log('app');"
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_service_worker_and_manifest_are_revalidated(client: httpx.AsyncClient) -> None:
    sw = await client.get("/sw.js")
    manifest = await client.get("/manifest.webmanifest")
    assert sw.status_code == manifest.status_code == 200
    assert sw.headers["cache-control"] == manifest.headers["cache-control"] == "no-cache"
    assert sw.headers["content-type"].startswith("text/javascript")
    assert manifest.headers["content-type"].startswith("application/manifest+json")


async def test_other_static_files_are_served_with_a_short_cache(client: httpx.AsyncClient) -> None:
    r = await client.get("/icons/icon-192.png")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.headers["cache-control"] == "public, max-age=3600"


async def test_a_missing_asset_is_a_json_404_not_the_app(client: httpx.AsyncClient) -> None:
    r = await client.get("/assets/index-gone0000.js")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


async def test_hidden_source_maps_are_not_served(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/{ASSET}.map")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


async def test_head_is_answered_like_get(client: httpx.AsyncClient) -> None:
    r = await client.head("/history")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("path", ["/..%2fsecret.txt", "/assets/..%2f..%2fsecret.txt"])
async def test_files_outside_the_build_are_never_served(
    client: httpx.AsyncClient, path: str
) -> None:
    r = await client.get(path)
    assert "outside the build" not in r.text


@pytest.mark.parametrize("path", ["/api/nope", "/api/auth/nope", "/metrics/x", "/docs/nope"])
async def test_unknown_server_paths_stay_json_404(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json"
    assert r.json()["error"]["code"] == "not_found"


async def test_other_methods_keep_their_api_answers(client: httpx.AsyncClient) -> None:
    # Unknown path with a body method: still 404, not 405 from the web-app route.
    assert (await client.post("/api/nope", json={})).status_code == 404
    assert (await client.post("/upload", json={})).status_code == 404
    # A known API path with the wrong method: still 405.
    assert (await client.delete("/api/auth/me")).status_code == 405


async def test_api_and_ops_routes_are_unaffected(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json()["status"] == "ok"
    r = await client.get("/api/auth/me")
    assert r.status_code == 401
    assert (await client.get("/openapi.json")).json()["info"]["title"] == "RelayPACS Gateway"


async def test_the_web_app_route_is_not_in_the_openapi_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/{path}" not in paths
