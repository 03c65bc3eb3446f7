"""Fixtures for the browser end-to-end tests (see tests/e2e/README.md)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MailSink, fresh_database_url
from tests.e2e.harness import (
    ARTIFACTS_ROOT,
    CHROMIUM,
    FRONTEND,
    Browser,
    MailHttp,
    build_frontend,
    require,
)
from tests.live_server import LiveServer, server_env
from tests.servers import OrthancServer, free_port


@pytest.fixture(scope="session")
def frontend_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_frontend(tmp_path_factory.mktemp("frontend") / "dist")


@pytest.fixture(scope="session")
def chromium() -> Path:
    require(CHROMIUM.exists(), f"{CHROMIUM} missing (apt-get install -y chromium)")
    require(
        (FRONTEND / "node_modules" / "playwright-core").is_dir(),
        "frontend/node_modules/playwright-core missing (make frontend)",
    )
    return CHROMIUM


@pytest.fixture
def pacs(orthanc: OrthancServer) -> Iterator[OrthancServer]:
    if not orthanc.running:
        orthanc.start()
    orthanc.clear()
    yield orthanc


def pacs_env(pacs: OrthancServer) -> dict[str, str]:
    return {
        "ACTIVE_PACS": "orthanc",
        "FALLBACK_PACS": "",
        "FORWARD_WORKERS": "1",
        "FORWARD_POLL_SECONDS": "0.2",
        "FORWARD_BACKOFF_BASE_SECONDS": "0.2",
        "FORWARD_BACKOFF_MAX_SECONDS": "1",
        "PACS_ORTHANC__TYPE": "dicomweb",
        "PACS_ORTHANC__URL": pacs.dicomweb_url,
        "PACS_ORTHANC__AUTH": "basic",
        "PACS_ORTHANC__USERNAME": pacs.username,
        "PACS_ORTHANC__PASSWORD": pacs.password,
        "PACS_ORTHANC__BATCH_MAX_INSTANCES": "4",
        "PACS_ORTHANC__TIMEOUT_SECONDS": "20",
    }


@pytest.fixture
def gateway_env_overrides() -> dict[str, str]:
    """Override in a test module to change the gateway's environment."""
    return {}


@pytest.fixture
def gateway(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    frontend_dist: Path,
    pacs: OrthancServer,
    smtp_server: tuple[int, MailSink],
    gateway_env_overrides: dict[str, str],
) -> Iterator[LiveServer]:
    """`relaypacs serve` on SQLite with the built web app, Orthanc as PACS, mail to the sink."""
    database_url = next(fresh_database_url(request, "sqlite", tmp_path))
    port = free_port()
    smtp_port, _sink = smtp_server
    env = server_env(
        database_url,
        tmp_path / "data",
        FRONTEND_DIST=str(frontend_dist),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        SMTP_STARTTLS="false",
        SMTP_USE_TLS="false",
        **pacs_env(pacs),
    )
    env.update(gateway_env_overrides)
    server = LiveServer(env, tmp_path / "server", port=port)
    try:
        asyncio.run(server.start_and_wait())
        yield server
    finally:
        server.close()


@pytest.fixture
def mail_http(smtp_server: tuple[int, MailSink]) -> Iterator[MailHttp]:
    web = MailHttp(smtp_server[1])
    yield web
    web.close()


@pytest.fixture
def browser(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    chromium: Path,
    gateway: LiveServer,
    mail_http: MailHttp,
) -> Iterator[Browser]:
    """Run scenarios with `browser.run_scenario(name, **env)`; artifacts kept under test-artifacts/."""
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    runner = Browser(
        server=gateway, mail_url=mail_http.url, artifacts=artifacts, kept=ARTIFACTS_ROOT / safe
    )
    try:
        yield runner
    finally:
        runner.keep_artifacts()


def run_scenario(browser: Browser, name: str, **env: Any) -> dict[str, Any]:
    """Function form of `browser.run_scenario`."""
    return browser.run_scenario(name, **env)
