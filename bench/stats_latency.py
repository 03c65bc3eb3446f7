"""Upload stats latency on PostgreSQL with 100,000 uploads: cached vs uncached.

Starts a throwaway PostgreSQL and Redis (tests/servers.py), migrates with `relaypacs db
upgrade`, and seeds --uploads uploads (default 100,000: ~1,000 a day over --days 100
days, 5 facilities, a realistic modality, service-level and state mix) and a study for
each completed one, by bulk INSERT. Users: one admin, and per facility a radiographer and
four clinicians, who own the uploads.

1. SQL time of each query shape (relaypacs.stats.queries: breakdown, daily, volume,
   export) on a cold stats cache, for `1m` and `all`, everyone's scope and one
   facility's: the first run and the median of --repeat runs.
2. Two runs of one `relaypacs serve` (uvicorn, LOG_LEVEL=WARNING, REDIS_URL set): with
   STATS_CACHE_SECONDS=60, then with 0 (no cache). In each, --clients concurrent clients
   (admins, radiographers and clinicians in turn) request GET /api/upload/stats for random
   periods for --seconds seconds. Prints p50/p99/max and requests/s per run, p99 per
   period, and the ratio uncached/cached (the in-run baseline).
3. The dashboard's time to first full render in headless Chromium belongs to the PWA
   (branch stats-ui): give --dashboard-cmd "<command>" and it runs once against the seeded,
   still-running server with RELAYPACS_URL, RELAYPACS_USERNAME and RELAYPACS_PASSWORD set
   and its output printed; without it, that part is reported as not run.

    .venv/bin/python bench/stats_latency.py [--uploads 100000] [--days 100] [--clients 50]
        [--seconds 30] [--repeat 5] [--dashboard-cmd CMD] [--keep] [--check]

Goals (issue 13): p99 ≤ 50 ms cached; ≤ 500 ms uncached for `all`. Exit status 0 when the
run completed, 1 on errors, with --check 3 when a goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from _common import (
    REPO,
    UNLIMITED_LOGINS,
    BenchError,
    CpuMonitor,
    cpu_summary,
    free_port,
    percentile,
    run_cli,
    serve,
    terminate_on_sigterm,
)

sys.path.insert(0, str(REPO))  # tests/ is not installed; the servers and factories live there
from sqlalchemy import insert

from relaypacs.core.database import Database, utcnow
from relaypacs.core.permissions import Role
from relaypacs.settings import Settings
from relaypacs.stats import periods, queries
from relaypacs.stats.schemas import Period
from relaypacs.uploads.models import Study, Upload, UploadState
from tests.factories import DEFAULT_PASSWORD, UserFixture
from tests.notifications.factories import create_user_in
from tests.servers import PostgresServer, RedisServer, ServerUnavailable

GOAL_CACHED_P99_MS = 50.0
GOAL_UNCACHED_ALL_P99_MS = 500.0
FACILITIES = ("North General", "South Clinic", "East Rural", "West Children's", "Central")
MODALITIES = {"CT": 30, "MR": 18, "CR": 20, "DX": 12, "US": 12, "XA": 4, "MG": 4}
LEVELS = {"ROUTINE": 75, "EMERGENCY": 15, "STAT": 10}
STATES = {
    UploadState.forwarded: 86,
    UploadState.failed: 3,
    UploadState.cancelled: 3,
    UploadState.expired: 5,
    UploadState.uploading: 1,
    UploadState.queued: 1,
    UploadState.forwarding: 1,
}
PERIODS = [p.value for p in Period]


def pick(rng: random.Random, weights: dict[Any, int]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass
class Setup:
    admin: UserFixture
    users: list[UserFixture]  # radiographers and clinicians, facility by facility
    facility_id: uuid.UUID
    seeded: int


async def seed(url: str, data_dir: Path, args: argparse.Namespace) -> Setup:
    settings = Settings(database_url=url, data_dir=data_dir, environment="development")
    database = Database(settings)
    rng = random.Random(13)
    try:
        admin = await create_user_in(
            database, role=Role.admin, username="bench-admin", facility=None
        )
        users: list[UserFixture] = []
        uploaders: list[UserFixture] = []
        for n, name in enumerate(FACILITIES):
            radiographer = await create_user_in(
                database, role=Role.radiographer, username=f"bench-rg{n}", facility=name
            )
            clinicians = [
                await create_user_in(
                    database, role=Role.clinician, username=f"bench-c{n}-{i}", facility=name
                )
                for i in range(4)
            ]
            users += [radiographer, clinicians[0]]
            uploaders += [radiographer, *clinicians]
        now = utcnow()
        span = timedelta(days=args.days).total_seconds()
        uploads: list[dict[str, Any]] = []
        studies: list[dict[str, Any]] = []
        for n in range(args.uploads):
            user = rng.choice(uploaders)
            created = now - timedelta(seconds=rng.random() * span)
            state = pick(rng, STATES)
            done = state not in (UploadState.uploading, UploadState.cancelled, UploadState.expired)
            completed = created + timedelta(seconds=rng.uniform(5, 600)) if done else None
            upload_id = uuid.uuid4()
            size = int(rng.lognormvariate(18, 1))  # ~65 MB median
            uploads.append(
                {
                    "id": upload_id,
                    "user_id": user.id,
                    "facility_id": user.facility_id,
                    "facility": user.facility,
                    "patient_name": f"Bench^Patient{n}",
                    "study_date": created.date(),
                    "modality": pick(rng, MODALITIES),
                    "service_level": pick(rng, LEVELS),
                    "notes": None,
                    "chunk_size": 1 << 20,
                    "file_count": 100,
                    "total_bytes": size,
                    "state": state,
                    "duplicate_key": f"{n:064x}",
                    "force_upload": False,
                    "upload_token_hash": f"{n:064x}",
                    "expires_at": created + timedelta(hours=24),
                    "created_at": created,
                    "updated_at": completed or created,
                    "processing_started_at": None,
                    "completed_at": completed,
                    "forwarded_at": completed + timedelta(seconds=rng.uniform(2, 300))
                    if completed and state is UploadState.forwarded
                    else None,
                    "failed_at": completed + timedelta(hours=1)
                    if completed and state is UploadState.failed
                    else None,
                    "study_instance_uid": f"1.2.826.0.1.3680043.10.1.{n}" if done else None,
                    "warnings": [],
                    "skipped_files": [],
                }
            )
            if done:
                studies.append(
                    {
                        "id": uuid.uuid4(),
                        "upload_id": upload_id,
                        "study_instance_uid": f"1.2.826.0.1.3680043.10.1.{n}",
                        "patient_name": None,
                        "study_date": created.date(),
                        "modality": uploads[-1]["modality"],
                        "instance_count": 100,
                        "total_bytes": size,
                        "created_at": completed,
                    }
                )
        async with database.sessionmaker() as session:
            for start in range(0, len(uploads), 5000):
                await session.execute(insert(Upload), uploads[start : start + 5000])
            for start in range(0, len(studies), 5000):
                await session.execute(insert(Study), studies[start : start + 5000])
            await session.commit()
            await session.execute(text_analyze())
        return Setup(admin, users, users[0].facility_id or uuid.uuid4(), len(uploads))
    finally:
        await database.dispose()


def text_analyze() -> Any:
    from sqlalchemy import text

    return text("ANALYZE upload")


def query_shapes(
    session: Any, condition: Any, start: Any, now: Any, day: Any
) -> dict[str, Callable[[], Awaitable[object]]]:
    async def export() -> None:
        async for _ in queries.export(session, scope=condition, start=start, now=now, day=day):
            pass

    return {
        "breakdown": lambda: queries.breakdown(
            session, dialect="postgresql", scope=condition, start=start, now=now
        ),
        "daily": lambda: queries.daily(session, scope=condition, start=start, day=day),
        "volume": lambda: queries.volume(session, scope=condition, start=start),
        "export": export,
    }


async def sql_shapes(url: str, data_dir: Path, setup: Setup, repeat: int) -> list[str]:
    """Each query shape timed straight on the database (no HTTP, no stats cache)."""
    database = Database(Settings(database_url=url, data_dir=data_dir, environment="development"))
    from relaypacs.stats.scope import Scope

    scopes = {
        "everyone": Scope(key="all"),
        "facility": Scope(key="f", facility_id=setup.facility_id),
    }
    lines = []
    try:
        async with database.sessionmaker() as session:
            for period in (Period.m1, Period.all):
                for scope_name, scope in scopes.items():
                    now = utcnow()
                    window = periods.window(period, periods.zone("Europe/London"), now)
                    condition = scope.condition()
                    day = queries.day_bucket("postgresql", window.zone, [(now, 0)])

                    shapes = query_shapes(session, condition, window.start, now, day)
                    for name, run in shapes.items():
                        times = []
                        for _ in range(repeat):
                            started = time.perf_counter()
                            await run()
                            times.append((time.perf_counter() - started) * 1000)
                        lines.append(
                            f"  {name:<9} {period.value:>3} {scope_name:<8}  first "
                            f"{times[0]:7.1f} ms   median {statistics.median(times):7.1f} ms"
                        )
    finally:
        await database.dispose()
    return lines


@dataclass
class Run:
    label: str
    seconds: float = 0.0
    latency_ms: list[float] = field(default_factory=list)
    by_period: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: int = 0
    reconnects: int = 0
    cpu: str = ""


async def load(base_url: str, pid: int, setup: Setup, args: argparse.Namespace, label: str) -> Run:
    run = Run(label)
    limits = httpx.Limits(max_connections=args.clients + 5)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
        people = [setup.admin, *setup.users]
        tokens: list[dict[str, str]] = []
        for user in people:
            response = await http.post(
                "/api/auth/login", json={"login": user.username, "password": user.password}
            )
            if response.status_code != 200:
                raise BenchError(f"login {user.username}: {response.status_code} {response.text}")
            tokens.append({"Authorization": f"Bearer {response.json()['access_token']}"})
        # Warm-up: connections, imports, one request per period (not measured).
        for period in PERIODS:
            await http.get("/api/upload/stats", params={"period": period}, headers=tokens[0])
        stop_at = time.monotonic() + args.seconds
        monitor = CpuMonitor(pid)
        monitor.start()

        async def client(n: int) -> None:
            rng = random.Random(n)
            # Half the clients are admins (the dashboard's main users), the rest others.
            headers = tokens[0] if n % 2 == 0 else tokens[1 + n % (len(tokens) - 1)]
            while time.monotonic() < stop_at:
                period = rng.choice(PERIODS)
                started = time.perf_counter()
                try:
                    response = await http.get(
                        "/api/upload/stats", params={"period": period}, headers=headers
                    )
                except httpx.RemoteProtocolError:
                    # uvicorn closed an idle keep-alive connection as it was reused: not a
                    # stats failure; counted, and the request is not measured.
                    run.reconnects += 1
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    run.errors += 1
                    continue
                run.latency_ms.append(elapsed)
                run.by_period[period].append(elapsed)

        started = time.monotonic()
        await asyncio.gather(*(client(n) for n in range(args.clients)))
        run.seconds = time.monotonic() - started
        usage = monitor.stop()
        run.cpu = usage.describe() if usage else "n/a"
    return run


def describe(run: Run) -> list[str]:
    if not run.latency_ms:
        return [f"{run.label}: no successful requests ({run.errors} errors)"]
    lines = [
        f"{run.label}: {len(run.latency_ms)} requests in {run.seconds:.1f} s = "
        f"{len(run.latency_ms) / run.seconds:.0f} req/s, errors {run.errors}, "
        f"keep-alive reconnects {run.reconnects}",
        f"  latency p50 {percentile(run.latency_ms, 50):.1f} ms, p99 "
        f"{percentile(run.latency_ms, 99):.1f} ms, max {max(run.latency_ms):.1f} ms",
        "  p99 by period: "
        + ", ".join(
            f"{p} {percentile(run.by_period[p], 99):.0f} ms" for p in PERIODS if run.by_period[p]
        ),
        f"  CPU: {run.cpu}",
    ]
    return lines


def dashboard(cmd: str | None, base_url: str) -> str:
    if not cmd:
        return "dashboard first full render: not run (the PWA's part, branch stats-ui: --dashboard-cmd)"
    env = {
        **os.environ,
        "RELAYPACS_URL": base_url,
        "RELAYPACS_USERNAME": "bench-admin",
        "RELAYPACS_PASSWORD": DEFAULT_PASSWORD,
    }
    done = subprocess.run(
        shlex.split(cmd), env=env, capture_output=True, text=True, timeout=600, check=False
    )
    return f"dashboard ({cmd}): exit {done.returncode}\n{done.stdout}{done.stderr}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dashboard-cmd", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the run directory (logs)")
    parser.add_argument("--check", action="store_true", help="exit 3 if a goal is missed")
    args = parser.parse_args()

    print(f"stats_latency: {cpu_summary()}")
    tmp = Path(tempfile.mkdtemp(prefix="relaypacs-bench-stats-"))
    runs: list[Run] = []
    try:
        with terminate_on_sigterm(), contextlib.ExitStack() as stack:
            postgres = PostgresServer(tmp / "pg")
            redis = RedisServer(tmp / "redis")
            try:
                postgres.start()
                stack.callback(postgres.stop)
                redis.start()
                stack.callback(redis.stop)
            except ServerUnavailable as exc:
                raise BenchError(str(exc)) from exc
            postgres.create_database("relaypacs_bench")
            url = postgres.url("relaypacs_bench")
            data_dir = tmp / "data"
            env = {
                "DATABASE_URL": url,
                "DATA_DIR": str(data_dir),
                "ENVIRONMENT": "development",
                "LOG_LEVEL": "WARNING",
                "REDIS_URL": redis.url,
                "DB_MIGRATE_ON_STARTUP": "false",
                **UNLIMITED_LOGINS,
                "STORAGE_BACKEND": "local",
                "FORWARD_WORKERS": "0",
            }
            (tmp / "cli").mkdir()
            run_cli(["db", "upgrade"], env, cwd=tmp / "cli")
            started = time.monotonic()
            setup = asyncio.run(seed(url, data_dir, args))
            print(f"seeded {setup.seeded} uploads in {time.monotonic() - started:.0f} s")
            print("SQL per query shape, cold stats cache (PostgreSQL, tz Europe/London):")
            for line in asyncio.run(sql_shapes(url, data_dir, setup, args.repeat)):
                print(line)
            rendered = ""
            for label, ttl in (("cached (STATS_CACHE_SECONDS=60)", "60"), ("uncached (0)", "0")):
                workdir = tmp / f"serve-{ttl}"
                workdir.mkdir()
                with serve(
                    env | {"STATS_CACHE_SECONDS": ttl}, cwd=workdir, port=free_port()
                ) as server:
                    runs.append(
                        asyncio.run(load(server.base_url, server.process.pid, setup, args, label))
                    )
                    server.check_alive()
                    if ttl == "60":
                        rendered = dashboard(args.dashboard_cmd, server.base_url)
    except BenchError as exc:
        print(f"stats_latency: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"run directory kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    for run in runs:
        for line in describe(run):
            print(line)
    cached, uncached = runs
    if cached.latency_ms and uncached.latency_ms:
        ratio = percentile(uncached.latency_ms, 99) / percentile(cached.latency_ms, 99)
        print(f"ratio uncached/cached p99: {ratio:.1f}x")
    print(rendered)
    if cached.errors or uncached.errors:
        return 1
    missed = percentile(cached.latency_ms, 99) > GOAL_CACHED_P99_MS or (
        uncached.by_period["all"]
        and percentile(uncached.by_period["all"], 99) > GOAL_UNCACHED_ALL_P99_MS
    )
    print(
        f"goals: cached p99 ≤ {GOAL_CACHED_P99_MS:.0f} ms, uncached `all` p99 ≤ "
        f"{GOAL_UNCACHED_ALL_P99_MS:.0f} ms: {'missed' if missed else 'met'}"
    )
    return 3 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
