"""Concurrent `complete` calls never hold a database connection while they wait or hash:
25 of them at once, on a real server and PostgreSQL with the default pool (10 + 10), for
an upload large enough that its completion takes seconds (its chunks' digests from receipt
removed, as when they came through other replicas, so the study is read and hashed),
while another client keeps
asking /healthz and /api/auth/me. Every call ends with the one outcome, the study is
recorded once and completely, and the other client is answered promptly throughout.

PostgreSQL itself is watched meanwhile (pg_stat_activity): a connection "idle in
transaction" is one a request holds while it does something else. Holding them while
waiting or hashing is what drained the pool: the winner's and every waiter's transaction
stayed open for the whole run. Now each transaction is short next to the run (the
longest is the one that records the study)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from relaypacs.audit.models import AuditEvent
from relaypacs.core.database import Database
from relaypacs.pacs.models import ForwardJob
from relaypacs.uploads.models import Instance, Study, UploadFile
from relaypacs.users import commands
from tests.conftest import make_settings
from tests.dicom_factory import write_study
from tests.live_server import LiveServer, server_env
from tests.upload_client import chunk_of, init_body, put_chunk

COMPLETES = 25
FILES = 16
CHUNK = 4 * 1024 * 1024
PIXEL_BYTES = 6 * 1024 * 1024  # ≈ 96 MiB in all, two chunks per file
P99_BOUND = 1.0  # seconds, for /healthz and /api/auth/me while the completes run
PROBERS = 3  # clients asking them meanwhile, each one request at a time
PASSWORD = "concurrent-complete-password-83"
TIMEOUT = httpx.Timeout(150.0)


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def _probe(
    client: httpx.AsyncClient, bearer: dict[str, str], stop: asyncio.Event
) -> dict[str, list[float]]:
    """PROBERS loops, each one request at a time, alternating paths, until told to stop;
    the latencies per path."""
    latencies: dict[str, list[float]] = {"/healthz": [], "/api/auth/me": []}

    async def loop() -> None:
        while not stop.is_set():
            for path, samples in latencies.items():
                started = time.perf_counter()
                r = await client.get(path, headers=bearer)
                samples.append(time.perf_counter() - started)
                assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"

    await asyncio.gather(*(loop() for _ in range(PROBERS)))
    return latencies


OPEN_TRANSACTIONS = text(
    "SELECT count(*), coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0)"
    " FROM pg_stat_activity WHERE datname = current_database()"
    " AND pid <> pg_backend_pid() AND state = 'idle in transaction'"
)


async def _watch_transactions(database: Database, stop: asyncio.Event) -> list[tuple[int, float]]:
    """Every 20 ms: how many of the server's connections sit idle inside a transaction,
    and for how long the oldest of those transactions has been open."""
    samples: list[tuple[int, float]] = []
    async with database.engine.connect() as conn:
        while not stop.is_set():
            held, oldest = (await conn.execute(OPEN_TRANSACTIONS)).one()
            samples.append((int(held), float(oldest)))
            await conn.commit()
            await asyncio.sleep(0.02)
    return samples


async def _send_all(
    client: httpx.AsyncClient, created: dict[str, Any], paths: list[Path], token: dict[str, str]
) -> None:
    semaphore = asyncio.Semaphore(4)

    async def one(file: int, index: int) -> None:
        async with semaphore:
            data = chunk_of(paths[file], index, CHUNK)
            r = await put_chunk(client, created["upload_id"], file, index, data, token)
            assert r.status_code == 200, r.text

    await asyncio.gather(
        *(one(f["index"], i) for f in created["files"] for i in range(f["total_chunks"]))
    )


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_concurrent_completes_hold_no_connection_and_other_requests_stay_fast(
    database_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    settings = make_settings(database_url, data_dir)
    assert settings.database_pool_size == 10  # the default pool: 10, and 10 more overflow
    await commands.create_admin(
        settings,
        email="complete-admin@example.org",
        username="completeadmin",
        password=PASSWORD,
        full_name="Complete Test",
        facility="General Hospital",
    )
    study = write_study(tmp_path / "study", count=FILES, pixel_bytes=PIXEL_BYTES)
    sources = [hashlib.sha256(p.read_bytes()).hexdigest() for p in study.paths]
    env = server_env(database_url, data_dir, FORWARD_WORKERS="0", UPLOAD_VALIDATION_CONCURRENCY="1")
    server = LiveServer(env, tmp_path / "server")
    database = Database(settings)
    try:
        await server.start_and_wait()
        limits = httpx.Limits(max_connections=COMPLETES + 5)
        async with (
            httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT, limits=limits) as client,
            httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT) as prober,
        ):
            login = {"login": "completeadmin", "password": PASSWORD}
            r = await client.post("/api/auth/login", json=login)
            assert r.status_code == 200, r.text
            bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
            r = await client.post(
                "/api/upload/init",
                json=init_body(study.paths, chunk_size=CHUNK),
                headers=bearer,
            )
            assert r.status_code == 201, r.text
            created = r.json()
            token = {"X-Upload-Token": created["upload_token"]}
            await _send_all(client, created, study.paths, token)
            # As if the chunks had come through other replicas: no digest from receipt, so
            # `complete` reads and hashes the whole study (what takes seconds, and what no
            # transaction may be held across).
            async with database.engine.begin() as conn:
                await conn.execute(
                    text("UPDATE upload_chunk SET file_sha256 = NULL, sha256_chain = NULL")
                )

            stop = asyncio.Event()
            probing = asyncio.create_task(_probe(prober, bearer, stop))
            watching = asyncio.create_task(_watch_transactions(database, stop))
            await asyncio.sleep(0.2)  # a baseline before the storm
            started = time.perf_counter()

            async def complete() -> tuple[httpx.Response, float]:
                r = await client.post(f"/api/upload/{created['upload_id']}/complete", headers=token)
                return r, time.perf_counter() - started

            outcomes = await asyncio.gather(*(complete() for _ in range(COMPLETES)))
            stop.set()
            latencies = await probing
            held = await watching
    finally:
        await asyncio.to_thread(server.close)

    durations = sorted(elapsed for _, elapsed in outcomes)
    p99 = {path: _p99(samples) for path, samples in latencies.items()}
    print(
        f"{COMPLETES} concurrent completes of {FILES} files, "
        f"{FILES * PIXEL_BYTES / 2**20:.0f} MiB: all answered within {durations[-1]:.1f} s "
        f"(first {durations[0]:.1f} s); meanwhile "
        + ", ".join(
            f"{path} p99 {p99[path] * 1000:.0f} ms (max {max(latencies[path]) * 1000:.0f} ms, "
            f"{len(latencies[path])} requests)"
            for path in latencies
        )
        + f"; connections idle in a transaction: at most {max(n for n, _ in held)} at once,"
        f" the oldest such transaction {max(age for _, age in held) * 1000:.0f} ms old"
        f" ({len(held)} samples)"
    )
    for r, _ in outcomes:
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["state"] == "queued" and body["instances"] == FILES, body
    assert len(held) >= 10, "too few samples of the server's connections"
    oldest = max(age for _, age in held)
    # Held across the hashing, a transaction would be about as old as the run itself.
    assert oldest < durations[0] / 2, (
        f"a transaction stayed open {oldest:.2f} s of the {durations[0]:.2f} s run: {held}"
    )
    for path, value in p99.items():
        assert value < P99_BOUND, f"{path}: p99 {value:.2f} s while the completes ran"

    try:
        async with database.sessionmaker() as session:
            upload_id = created["upload_id"]
            studies = (
                await session.scalars(select(Study).where(Study.upload_id == upload_id))
            ).all()
            assert len(studies) == 1 and studies[0].instance_count == FILES
            instances = await session.scalar(
                select(func.count()).select_from(Instance).where(Instance.upload_id == upload_id)
            )
            assert instances == FILES
            recorded = (
                await session.scalars(
                    select(UploadFile.sha256)
                    .where(UploadFile.upload_id == upload_id)
                    .order_by(UploadFile.index)
                )
            ).all()
            assert list(recorded) == sources
            assert (
                await session.scalar(
                    select(func.count())
                    .select_from(ForwardJob)
                    .where(ForwardJob.upload_id == upload_id)
                )
                == 1
            )
            completed = await session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "upload_completed")
            )
            assert completed == 1
    finally:
        await database.dispose()
