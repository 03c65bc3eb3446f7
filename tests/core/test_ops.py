from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi import FastAPI

from relaypacs.main import create_app
from relaypacs.settings import Settings
from tests.conftest import make_settings
from tests.servers import free_port


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_the_database(client: httpx.AsyncClient, settings: Settings) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True


async def test_readyz_is_503_naming_the_database_when_it_is_unreachable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/nothing"
    app = create_app(make_settings(url, tmp_path, readiness_timeout_seconds=3))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["ok"] is False
    assert body["error"]["code"] == "not_ready"
    assert body["error"]["components"] == ["database"]


async def test_request_id_is_generated_or_propagated(client: httpx.AsyncClient) -> None:
    generated = (await client.get("/healthz")).headers["x-request-id"]
    assert len(generated) == 32
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc.DEF-1"})
    assert echoed.headers["x-request-id"] == "abc.DEF-1"
    unsafe = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    await client.get("/api/unknown/123")
    text = (await client.get("/metrics")).text
    assert 'relaypacs_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert 'route="<unmatched>",status="404"' in text
    assert "/api/unknown/123" not in text
    assert "relaypacs_http_request_duration_seconds_bucket" in text


async def test_a_routers_routes_are_labelled_with_their_whole_path_template(
    client: httpx.AsyncClient,
) -> None:
    """Dashboards and alerts select routes by their full path (`/api/upload/init`): the
    prefix a router is included with is part of the label, and no id is."""
    upload_id = "0b7c9a52-3f7e-4c1e-9d55-5a8f2e6b1c3d"
    await client.post("/api/auth/login", json={"username": "nobody", "password": "x" * 12})
    await client.get(f"/api/upload/{upload_id}/status")
    text = (await client.get("/metrics")).text
    assert 'method="POST",route="/api/auth/login"' in text
    assert 'method="GET",route="/api/upload/{upload_id}/status"' in text
    assert upload_id not in text
    assert 'route="/login"' not in text


@pytest.mark.parametrize("settings_overrides", [{"metrics_token": "scrape-secret-0123"}])
async def test_metrics_need_the_token_when_one_is_configured(client: httpx.AsyncClient) -> None:
    missing = await client.get("/metrics")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "not_authenticated"
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = await client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-0123"})
    assert right.status_code == 200
    assert "relaypacs_http_requests_total" in right.text


async def test_openapi_docs_are_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert "/healthz" in spec["paths"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_json_logs_carry_request_id_and_no_query_string(
    database_url: str,
    tmp_path,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    app: FastAPI = create_app(make_settings(database_url, tmp_path, log_format="json"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.get("/healthz?patient=DOE^JOHN", headers={"X-Request-ID": "log-test-1"})
    logging.getLogger().handlers[0].flush()
    records = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    request_lines = [r for r in records if r.get("event") == "request"]
    assert request_lines, records
    assert request_lines[-1]["request_id"] == "log-test-1"
    assert request_lines[-1]["path"] == "/healthz"
    assert request_lines[-1]["status"] == 200
    assert not any("DOE^JOHN" in json.dumps(r) for r in records)
