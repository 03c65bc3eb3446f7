"""The web front under test: one gateway (`relaypacs serve` on SQLite, forwarding to the
Orthanc fixture) and one nginx running deploy/nginx/relaypacs.conf.template in front of it,
rendered only for its listen address, the gateway's address and the built app
(frontend/dist). Started once for the package's tests. The gateway serves the same build,
so a test can compare the front's answers with the gateway's own.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from relaypacs.core.database import Database
from tests import phi_scan
from tests.conftest import make_settings, start_or_skip
from tests.deploy.nginx_server import NginxServer, nginx_binary
from tests.deploy.web_front import TIMEOUT, Stack
from tests.e2e.harness import build_frontend
from tests.live_server import LiveServer, server_env
from tests.servers import OrthancServer


@pytest.fixture(scope="package")
def nginx_available() -> None:
    start_or_skip(nginx_binary)


@pytest.fixture(scope="package")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_frontend(tmp_path_factory.mktemp("frontend") / "dist")


@pytest.fixture(scope="package")
def stack(
    nginx_available: None,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    orthanc: OrthancServer,
    dist: Path,
) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("web-front")
    database = base / "relaypacs.db"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite+aiosqlite:///{database}"
    env = server_env(
        url,
        base / "data",
        FRONTEND_DIST=str(dist),
        # Pings once a minute: nothing but the event itself can push it through a buffer.
        SSE_PING_SECONDS="60",
        ACTIVE_PACS="orthanc",
        FALLBACK_PACS="",
        FORWARD_WORKERS="1",
        FORWARD_POLL_SECONDS="0.2",
        PACS_ORTHANC__URL=orthanc.dicomweb_url,
        PACS_ORTHANC__AUTH="basic",
        PACS_ORTHANC__USERNAME=orthanc.username,
        PACS_ORTHANC__PASSWORD=orthanc.password,
    )
    gateway = LiveServer(env, base / "gateway")
    nginx = NginxServer(base / "nginx", gateway=f"127.0.0.1:{gateway.port}", web_root=dist)
    try:
        asyncio.run(gateway.start_and_wait())
        nginx.start()
        phi_scan.watch_log_file(nginx.access_log)
        phi_scan.watch_log_file(nginx.error_log)
        yield Stack(gateway, nginx, url, base, dist)
    finally:
        nginx.stop()
        gateway.close()


@pytest.fixture
async def front(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    assert stack.gateway.is_running(), stack.gateway.log_tail()
    async with httpx.AsyncClient(base_url=stack.nginx.base_url, timeout=TIMEOUT) as client:
        yield client


@pytest.fixture
async def direct(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.gateway.base_url, timeout=TIMEOUT) as client:
        yield client


@pytest.fixture
async def database(stack: Stack) -> AsyncIterator[Database]:
    db = Database(make_settings(stack.database_url, stack.base / "data"))
    yield db
    await db.dispose()
