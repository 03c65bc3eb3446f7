"""Shared fixtures: real servers (session-scoped), a database per test on SQLite and
PostgreSQL, and the app with its lifespan running behind an httpx client."""

from __future__ import annotations

import os
import shutil
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI

from relaypacs.core import migrate
from relaypacs.main import create_app
from relaypacs.settings import Settings
from tests.servers import (
    MotoS3Server,
    OrthancServer,
    PostgresServer,
    RedisServer,
    ServerUnavailable,
)

# The suite-wide PHI log scan: fails the run if a patient name or ID used by the tests
# reaches a log line (see tests/phi_scan.py).
pytest_plugins = ["tests.phi_scan", "pytester"]

IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
DATABASES = ("sqlite", "postgresql")

S = TypeVar("S")


def start_or_skip(factory: Callable[[], S]) -> S:
    """Start a real server; a missing binary skips locally and fails in CI."""
    try:
        return factory()
    except ServerUnavailable as exc:
        if IN_CI:
            pytest.fail(f"required server unavailable in CI: {exc}")
        pytest.skip(str(exc))


def _started(server: Any) -> Any:
    server.start()
    return server


# --- real servers -----------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = start_or_skip(lambda: _started(PostgresServer(tmp_path_factory.mktemp("pg"))))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_or_skip(lambda: _started(RedisServer(tmp_path_factory.mktemp("redis"))))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3Server]:
    server = start_or_skip(lambda: _started(MotoS3Server(tmp_path_factory.mktemp("s3"))))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancServer]:
    base = tmp_path_factory.mktemp("orthanc-a")
    server = start_or_skip(lambda: _started(OrthancServer(base, "orthanc-a")))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def orthanc_b(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancServer]:
    """A second, independent PACS for multi-destination tests."""
    base = tmp_path_factory.mktemp("orthanc-b")
    server = start_or_skip(lambda: _started(OrthancServer(base, "orthanc-b")))
    yield server
    server.stop()


# --- databases --------------------------------------------------------------------


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "secret_key": TEST_SECRET,
        "database_url": database_url,
        "data_dir": data_dir,
        "db_migrate_on_startup": False,
        "log_format": "console",
        # Forwarding workers only where a test asks for them (and names its PACS).
        "forward_workers": 0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate.upgrade(make_settings(f"sqlite+aiosqlite:///{path}", path.parent))
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> str:
    """A migrated PostgreSQL database; each test gets a copy (CREATE DATABASE … TEMPLATE)."""
    name = "relaypacs_template"
    postgres_server.create_database(name)
    migrate.upgrade(make_settings(postgres_server.url(name), Path("/nonexistent")))
    return name


def fresh_database_url(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> Iterator[str]:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "relaypacs.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:16]}"
    server.create_database(name, template=request.getfixturevalue("postgres_template"))
    yield server.url(name)
    server.drop_database(name)


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of each kind: every test using it runs twice."""
    yield from fresh_database_url(request, request.param, tmp_path)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module (or parametrize) to change the app's settings."""
    return {}


@pytest.fixture
def settings(database_url: str, tmp_path: Path, settings_overrides: dict[str, Any]) -> Settings:
    return make_settings(database_url, tmp_path / "data", **settings_overrides)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


# --- reporting: how many tests ran on each database ---------------------------------

_backend_of: dict[str, str] = {}
_passed_on: Counter[str] = Counter()
_failed_on: Counter[str] = Counter()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("database_url") if callspec else None
        if backend in DATABASES:
            _backend_of[item.nodeid] = backend


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    backend = _backend_of.get(report.nodeid)
    if backend is None:
        return
    if report.when == "call" and report.passed:
        _passed_on[backend] += 1
    elif report.failed:
        _failed_on[backend] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    parts = [f"{db}: {_passed_on[db]} passed, {_failed_on[db]} failed" for db in DATABASES]
    terminalreporter.write_sep("=", "tests per database — " + "; ".join(parts))


# --- a real SMTP server (aiosmtpd) ------------------------------------------------


class MailSink:
    """Collects every message the SMTP server receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, MailSink]]:
    from aiosmtpd.controller import Controller

    from tests.servers import free_port

    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, sink
    controller.stop()
