"""The connection pool pings a connection only when it has been idle (core/database.py):
a busy process reuses its connections without the three round trips of a ping, and a
connection that died while idle is replaced before a request sees it (real PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from relaypacs.core import database
from relaypacs.core.unavailable import is_unavailable
from tests.conftest import fresh_database_url, make_settings
from tests.servers import PostgresServer


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database_url(request, "postgresql", tmp_path)


@pytest.fixture
async def engine(pg_url: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = database.create_engine(make_settings(pg_url, tmp_path))
    yield engine
    await engine.dispose()


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the pings the pool makes (the asyncpg adapter's own ping, called for real)."""
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

    counted: list[int] = []
    real = AsyncAdapt_asyncpg_connection.ping

    def counting(self: AsyncAdapt_asyncpg_connection) -> None:
        counted.append(1)
        real(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counting)
    return counted


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def terminate(postgres_server: PostgresServer, pid: int) -> None:
    other = await asyncpg.connect(postgres_server.dsn("postgres"))
    try:
        assert await other.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await other.close()


async def test_a_connection_reused_at_once_is_not_pinged(
    engine: AsyncEngine, pings: list[int]
) -> None:
    first = await backend_pid(engine)
    for _ in range(20):
        assert await backend_pid(engine) == first  # the same pooled connection
    assert pings == []


async def test_a_connection_idle_past_the_threshold_is_pinged_and_if_dead_replaced(
    engine: AsyncEngine,
    pings: list[int],
    postgres_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = await backend_pid(engine)
    await terminate(postgres_server, first)  # dies while idle in the pool
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)
    second = await backend_pid(engine)  # no error: the ping found it dead
    assert second != first
    assert len(pings) >= 1


async def test_a_connection_dead_within_the_threshold_costs_one_unavailable_answer(
    engine: AsyncEngine, postgres_server: PostgresServer
) -> None:
    """What skipping the ping risks: the one request that draws the dead connection fails
    as "unavailable" (a 503 the client retries), and the pool recovers by itself."""
    first = await backend_pid(engine)
    await terminate(postgres_server, first)
    with pytest.raises(Exception) as failure:
        await backend_pid(engine)
    assert is_unavailable(failure.value)
    assert await backend_pid(engine) != first
