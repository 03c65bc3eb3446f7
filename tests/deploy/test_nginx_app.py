"""The web front's nginx (tests/deploy/conftest.py) serving the built app with the gateway's
cache headers, its routes to the gateway, its own errors in the API's format, and the
config as the frontend image renders it."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from relaypacs.core.config import MAX_CHUNK_SIZE, CoreSettings
from tests.deploy.nginx_server import TEMPLATE, NginxServer, check_config
from tests.deploy.web_front import TIMEOUT, Stack, built, media_type
from tests.servers import free_port

pytestmark = pytest.mark.slow

JAVASCRIPT = {"application/javascript", "text/javascript"}
MiB = 1024 * 1024


# --- the web app --------------------------------------------------------------------------


async def test_the_app_is_served_with_the_gateways_cache_headers(
    stack: Stack, front: httpx.AsyncClient, direct: httpx.AsyncClient
) -> None:
    index = (stack.dist / "index.html").read_bytes()
    script = built(stack.dist, "assets/index-*.js")
    expected = {
        "/": "no-cache",
        "/index.html": "no-cache",
        script: "public, max-age=31536000, immutable",
        built(stack.dist, "assets/*.css"): "public, max-age=31536000, immutable",
        "/sw.js": "no-cache",
        "/manifest.webmanifest": "no-cache",
        "/icons/icon-192.png": "public, max-age=3600",
        "/offline.html": "public, max-age=3600",
        "/favicon.svg": "public, max-age=3600",
        # A deep link into the app: its index page, revalidated like index.html.
        "/history/0b5a7c1e-1d2f-4e6a-9b8c-7d6e5f4a3b2c?tab=reports": "no-cache",
    }
    for path, cache_control in expected.items():
        served = await front.get(path)
        own = await direct.get(path)
        assert served.status_code == own.status_code == 200, (path, served.text[:200])
        assert served.headers["cache-control"] == own.headers["cache-control"] == cache_control
        assert served.headers["x-content-type-options"] == "nosniff", path
        assert served.content == own.content, path
        if media_type(own) in JAVASCRIPT:
            assert media_type(served) in JAVASCRIPT, path
        else:
            assert media_type(served) == media_type(own), (path, media_type(served))

    for path in ("/", "/history/0b5a7c1e-1d2f-4e6a-9b8c-7d6e5f4a3b2c", "/settings/account"):
        for answer in (await front.get(path), await direct.get(path)):
            assert answer.content == index and media_type(answer) == "text/html", path
            # No other site may frame the app (clickjacking of Settings, the admin console).
            assert answer.headers["content-security-policy"] == "frame-ancestors 'none'", path
            assert answer.headers["x-frame-options"] == "DENY", path
            assert answer.headers["referrer-policy"] == "no-referrer", path
    assert media_type(await front.get("/manifest.webmanifest")) == "application/manifest+json"
    assert (await front.get(script)).content == (stack.dist / script.lstrip("/")).read_bytes()
    head = await front.head(script)
    assert head.status_code == 200 and head.headers["cache-control"].endswith("immutable")


async def test_a_missing_build_file_is_a_json_404_not_the_app(
    front: httpx.AsyncClient, direct: httpx.AsyncClient
) -> None:
    for path in ("/assets/index-gone0000.js", "/registerSW.js", "/workbox-00000000.js"):
        served = await front.get(path)
        assert served.status_code == 404, (path, served.text[:200])
        assert served.json()["error"]["code"] == "not_found", path
    own = await direct.get("/assets/index-gone0000.js")
    assert own.status_code == 404 and own.json()["error"]["code"] == "not_found"


async def test_the_builds_hidden_source_maps_are_not_served(
    stack: Stack, front: httpx.AsyncClient, direct: httpx.AsyncClient
) -> None:
    maps = sorted((stack.dist / "assets").glob("*.js.map"))
    assert maps, "the build writes hidden source maps for Sentry (vite.config.ts)"
    path = f"/assets/{maps[0].name}"
    for client in (front, direct):
        served = await client.get(path)
        assert served.status_code == 404, (str(client.base_url), served.text[:200])


async def test_static_files_are_compressed_but_api_answers_are_not(
    stack: Stack, front: httpx.AsyncClient
) -> None:
    script = built(stack.dist, "assets/index-*.js")
    gzipped = await front.get(script, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip"
    assert gzipped.content == (stack.dist / script.lstrip("/")).read_bytes()  # decoded
    api = await front.get("/readyz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in api.headers


async def test_health_readiness_and_api_docs_are_proxied_and_metrics_are_not_published(
    front: httpx.AsyncClient, direct: httpx.AsyncClient
) -> None:
    health = await front.get("/healthz")
    assert health.status_code == 200 and health.json() == (await direct.get("/healthz")).json()
    ready = await front.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"]["ok"] is True
    openapi = await front.get("/openapi.json")
    assert (
        openapi.status_code == 200 and openapi.json() == (await direct.get("/openapi.json")).json()
    )
    assert (await front.get("/docs")).status_code == 200
    # Prometheus scrapes each replica directly; the public front answers as for any unknown path.
    assert (await direct.get("/metrics")).status_code == 200
    for path in ("/metrics", "/metrics/"):
        hidden = await front.get(path)
        assert hidden.status_code == 404, path
        assert hidden.json()["error"]["code"] == "not_found"
    # Unknown API paths are the gateway's JSON 404, never the app's HTML.
    for path in ("/api", "/api/no-such-thing"):
        unknown = await front.get(path)
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


async def test_an_unreachable_gateway_is_a_json_502_and_the_app_still_loads(
    stack: Stack, tmp_path: Path
) -> None:
    with NginxServer(
        tmp_path / "nginx", gateway=f"127.0.0.1:{free_port()}", web_root=stack.dist
    ) as down:
        async with httpx.AsyncClient(base_url=down.base_url, timeout=TIMEOUT) as client:
            api = await client.get("/api/auth/me")
            assert api.status_code == 502, api.text
            assert api.json()["error"]["code"] == "gateway_unavailable"
            assert (await client.get("/readyz")).status_code == 502
            app = await client.get("/history")
            assert app.status_code == 200 and media_type(app) == "text/html"


def test_the_config_the_image_renders_is_valid(nginx_available: None, tmp_path: Path) -> None:
    # frontend/Dockerfile's values: the compose service name and the image's web root.
    output = check_config(tmp_path, "gateway:8000", "/usr/share/nginx/html", "8080")
    assert "test is successful" in output


def test_the_body_limit_is_the_largest_chunk_the_gateway_takes() -> None:
    text = TEMPLATE.read_text()
    (limit,) = re.findall(r"^\s*client_max_body_size (\d+)m;$", text, re.M)
    assert int(limit) * MiB == MAX_CHUNK_SIZE
    # No JSON body may be allowed more than a chunk (REQUEST_MAX_BODY_BYTES' bound).
    bound = CoreSettings.model_fields["request_max_body_bytes"].metadata
    assert any(getattr(m, "le", None) == MAX_CHUNK_SIZE for m in bound)
    assert f'"limit": {MAX_CHUNK_SIZE}' in text
