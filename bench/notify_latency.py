"""Notification latency across processes: from a report status change's API response to
its `report_updated` event at each of 50 SSE clients, with two gateway processes.

Starts a throwaway PostgreSQL and Redis (tests/servers.py), migrates the database with
`relaypacs db upgrade`, seeds it directly (one admin who makes the changes, one clinician
who uploaded the studies, --clients radiologists, --reports reports; the same factories
as the tests) and runs two `relaypacs serve` processes (uvicorn, LOG_LEVEL=WARNING,
REDIS_URL set) on that database. Then:

1. every radiologist signs in and opens GET /api/notifications/stream (ticket from POST
   /stream-ticket), alternately on process A and B; radiologists get `report_updated` for
   every report, so each change is due at every client;
2. warm-up: --warmup changes on reports of their own (not measured);
3. --changes status changes (ASSIGNED ↔ PENDING) through the API, alternately through A
   and B, by --concurrency workers that each own a share of the reports and change them
   one after another (a report is never changed twice at once, so the k-th event of a
   report at a client is its k-th change).

This process is both the trigger and all clients: one monotonic clock. A client's receipt
time is when its reader task parsed the event. Latency = receipt − the change's API
response (negative when the event beat the response, which is sent after publishing);
also shown from the request being sent, and from the change itself (the report's
`updated_at`, stamped by the server before its commit, on the same machine's wall clock:
commit + publish + Redis + SSE + client parsing). Prints p50/p99/max, same-process vs
cross-process deliveries, the API round trip of the change itself (the in-run baseline:
latency p99 / API p99), events received vs expected (clients × changes) and the CPU
taken meanwhile by this run and by the rest of the machine.

    .venv/bin/python bench/notify_latency.py [--clients 50] [--changes 500] [--reports 20]
        [--concurrency 4] [--warmup 20] [--keep] [--check]

Exit status: 0 when the run completed (1 if a server failed, answered errors or events
were missing; with --check, 3 if p99 is above the goal of 100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
from _common import (
    REPO,
    UNLIMITED_LOGINS,
    BenchError,
    CpuMonitor,
    CpuUsage,
    cpu_summary,
    free_port,
    percentile,
    run_cli,
    serve,
    terminate_on_sigterm,
)

sys.path.insert(0, str(REPO))  # tests/ is not installed; the servers and factories live there
from relaypacs.core.database import Database
from relaypacs.core.permissions import Role
from relaypacs.settings import Settings
from tests.factories import UserFixture, bearer
from tests.notifications.factories import create_report, create_user_in
from tests.notifications.sse_client import (
    STREAM_PATH,
    SseComment,
    SseEvent,
    SseStream,
    open_stream,
)
from tests.servers import PostgresServer, RedisServer, ServerUnavailable

GOAL_P99_MS = 100.0
BUSY_CORES = 0.3
EVENT = "report_updated"
TIMEOUT = httpx.Timeout(30.0, read=120.0)


@dataclass
class Change:
    report_id: str
    ordinal: int  # the k-th measured change of this report
    status: str
    via: int  # 0 = process A, 1 = process B
    sent: float
    answered: float


@dataclass
class Client:
    user: UserFixture
    server: int
    stream: SseStream | None = None
    # report id → the events of that report, in arrival order
    got: dict[str, list[SseEvent]] = field(default_factory=lambda: defaultdict(list))
    count: int = 0
    highest_id: int = 0
    # Events whose id is below one this client already had. Must stay 0: ids are handed out
    # in commit order and each process delivers in id order, so that a client's
    # Last-Event-ID is an exact resume point (a lower id arriving late would be lost to a
    # client that reconnected right after the higher one).
    out_of_order: int = 0


@dataclass
class Setup:
    admin: UserFixture
    radiologists: list[UserFixture]
    warmup_reports: list[str]
    reports: list[str]


async def seed(url: str, data_dir: Path, args: argparse.Namespace) -> Setup:
    database = Database(Settings(database_url=url, data_dir=data_dir, environment="development"))
    try:
        admin = await create_user_in(database, role=Role.admin, username="bench-admin")
        uploader = await create_user_in(database, role=Role.clinician, username="bench-uploader")
        radiologists = [
            await create_user_in(database, role=Role.radiologist, username=f"bench-rad{i}")
            for i in range(args.clients)
        ]
        warmup = [
            str(await create_report(database, uploader=uploader)) for _ in range(args.concurrency)
        ]
        reports = [
            str(await create_report(database, uploader=uploader)) for _ in range(args.reports)
        ]
    finally:
        await database.dispose()
    return Setup(admin, radiologists, warmup, reports)


async def sign_in(http: httpx.AsyncClient, user: UserFixture) -> dict[str, str]:
    response = await http.post(
        "/api/auth/login", json={"login": user.username, "password": user.password}
    )
    if response.status_code != 200:
        raise BenchError(f"login of {user.username}: HTTP {response.status_code} {response.text}")
    tokens: dict[str, str] = response.json()
    return bearer(tokens)


async def connect(http: httpx.AsyncClient, client: Client, exits: AsyncExitStack) -> None:
    auth = await sign_in(http, client.user)
    response = await http.post("/api/notifications/stream-ticket", headers=auth)
    if response.status_code != 201:
        raise BenchError(f"stream ticket: HTTP {response.status_code} {response.text}")
    stream = await exits.enter_async_context(
        open_stream(http, STREAM_PATH, params={"ticket": response.json()["ticket"]})
    )
    if stream.response.status_code != 200:
        raise BenchError(f"stream: HTTP {stream.response.status_code} {stream.response.text}")
    while True:  # subscribed once `connected` arrives
        item = await stream.next(30)
        if isinstance(item, SseComment) and item.text == "connected":
            break
    client.stream = stream


async def collect(client: Client) -> None:
    """Take the client's events off its stream as they arrive (they keep their parse time)."""
    assert client.stream is not None
    while True:
        item = await client.stream.next(3600)
        if isinstance(item, SseEvent) and item.event == EVENT:
            client.got[item.json()["report_id"]].append(item)
            client.count += 1
            event_id = int(item.id or 0)
            if event_id < client.highest_id:
                client.out_of_order += 1
            client.highest_id = max(client.highest_id, event_id)


async def trigger(
    https: list[httpx.AsyncClient],
    auth: dict[str, str],
    reports: list[str],
    count: int,
    changes: list[Change],
    offset: int,
) -> None:
    """`count` changes, round robin over `reports` (owned by this worker alone)."""
    status = dict.fromkeys(reports, "ASSIGNED")
    ordinal = dict.fromkeys(reports, 0)
    for i in range(count):
        report_id = reports[i % len(reports)]
        target = "PENDING" if status[report_id] == "ASSIGNED" else "ASSIGNED"
        via = (offset + i) % 2
        sent = time.monotonic()
        response = await https[via].post(
            f"/api/reports/{report_id}/status", json={"status": target}, headers=auth
        )
        answered = time.monotonic()
        if response.status_code != 200:
            raise BenchError(f"status change: HTTP {response.status_code} {response.text[:300]}")
        status[report_id] = target
        changes.append(Change(report_id, ordinal[report_id], target, via, sent, answered))
        ordinal[report_id] += 1


async def run_changes(
    https: list[httpx.AsyncClient],
    auth: dict[str, str],
    reports: list[str],
    total: int,
    concurrency: int,
) -> list[Change]:
    changes: list[Change] = []
    shares = [reports[w::concurrency] for w in range(concurrency)]
    counts = [
        total // concurrency + (1 if w < total % concurrency else 0) for w in range(concurrency)
    ]
    await asyncio.gather(
        *(
            trigger(https, auth, share, n, changes, w)
            for w, (share, n) in enumerate(zip(shares, counts, strict=True))
            if n
        )
    )
    return changes


async def wait_for(clients: list[Client], expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(c.count >= expected for c in clients):
            return
        await asyncio.sleep(0.05)


@dataclass
class Results:
    latency_ms: list[float]  # from the API response
    from_sent_ms: list[float]  # from the request being sent
    same_ms: list[float]
    cross_ms: list[float]
    from_change_ms: list[float]  # from the report's updated_at (server wall clock)
    api_ms: list[float]
    received: int
    expected: int
    mismatched: int
    out_of_order: int
    duration: float
    cpu: CpuUsage | None


async def measure(
    base_urls: list[str], pids: list[int], setup: Setup, args: argparse.Namespace
) -> Results:
    limits = httpx.Limits(max_connections=args.clients + 50, max_keepalive_connections=50)
    async with AsyncExitStack() as exits:
        https = [
            await exits.enter_async_context(
                httpx.AsyncClient(base_url=url, timeout=TIMEOUT, limits=limits)
            )
            for url in base_urls
        ]
        clients = [Client(user, i % 2) for i, user in enumerate(setup.radiologists)]
        for batch in range(0, len(clients), 10):  # logins are bcrypt: a few at a time
            await asyncio.gather(
                *(connect(https[c.server], c, exits) for c in clients[batch : batch + 10])
            )
        readers = [asyncio.create_task(collect(c)) for c in clients]
        try:
            auth = await sign_in(https[0], setup.admin)
            warmup = await run_changes(
                https, auth, setup.warmup_reports, args.warmup, args.concurrency
            )
            await wait_for(clients, len(warmup), 30)
            for client in clients:
                client.got.clear()
                client.count = 0
                client.out_of_order = 0

            monitor = CpuMonitor(os.getpid(), *pids)
            monitor.start()
            started = time.monotonic()
            changes = await run_changes(https, auth, setup.reports, args.changes, args.concurrency)
            await wait_for(clients, len(changes), 30)
            duration = time.monotonic() - started
            cpu = monitor.stop()
        finally:
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)

    by_key = {(c.report_id, c.ordinal): c for c in changes}
    latency: list[float] = []
    from_sent: list[float] = []
    same: list[float] = []
    cross: list[float] = []
    from_change: list[float] = []
    wall_offset = time.time() - time.monotonic()  # one machine: wall clocks agree
    mismatched = 0
    for client in clients:
        for report_id, events in client.got.items():
            for ordinal, event in enumerate(events):
                change = by_key.get((report_id, ordinal))
                if change is None or event.json()["status"] != change.status:
                    mismatched += 1
                    continue
                ms = (event.received_at - change.answered) * 1000
                latency.append(ms)
                from_sent.append((event.received_at - change.sent) * 1000)
                (same if change.via == client.server else cross).append(ms)
                changed = datetime.fromisoformat(event.json()["updated_at"]).timestamp()
                from_change.append((event.received_at + wall_offset - changed) * 1000)
    return Results(
        latency_ms=latency,
        from_sent_ms=from_sent,
        same_ms=same,
        cross_ms=cross,
        from_change_ms=from_change,
        api_ms=[(c.answered - c.sent) * 1000 for c in changes],
        received=sum(c.count for c in clients),
        expected=len(clients) * len(changes),
        mismatched=mismatched,
        out_of_order=sum(c.out_of_order for c in clients),
        duration=duration,
        cpu=cpu,
    )


def row(label: str, values: list[float]) -> str:
    if not values:
        return f"{label:<34}{'-':>9}{'-':>9}{'-':>9}{0:>9}"
    return (
        f"{label:<34}{percentile(values, 50):>9.1f}{percentile(values, 99):>9.1f}"
        f"{max(values):>9.1f}{len(values):>9}"
    )


def report(results: Results, args: argparse.Namespace) -> None:
    print()
    print(
        f"{args.clients} SSE clients on 2 processes, {args.changes} changes "
        f"({args.concurrency} at a time), {results.duration:.1f} s"
    )
    print(f"{'':<34}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'n':>9}")
    print(row("API response → event (all)", results.latency_ms))
    print(row("  same process as the change", results.same_ms))
    print(row("  the other process (via Redis)", results.cross_ms))
    print(row("request sent → event", results.from_sent_ms))
    print(row("change made (updated_at) → event", results.from_change_ms))
    print(row("baseline: status change API call", results.api_ms))
    early = sum(1 for v in results.latency_ms if v < 0)
    print(f"events before the API response: {early} of {len(results.latency_ms)}")
    print(
        f"events received {results.received} / expected {results.expected}"
        f" (unmatched {results.mismatched})"
    )
    print(f"events that came after a higher id: {results.out_of_order}")
    if results.from_sent_ms and results.api_ms:
        ratio = percentile(results.from_sent_ms, 99) / percentile(results.api_ms, 99)
        print(f"ratio (request sent → event) p99 / API call p99: {ratio:.2f} (< 1: every client")
        print("  has the event before the call that caused it returns)")
    if results.cpu is not None:
        print(f"CPU while measuring: {results.cpu.describe()}")
        if results.cpu.others > BUSY_CORES:
            print("  (the rest of the machine was busy: figures may be pessimistic)")
    p99 = percentile(results.latency_ms, 99) if results.latency_ms else float("inf")
    verdict = "met" if p99 <= GOAL_P99_MS else "MISSED"
    print(f"goal p99 ≤ {GOAL_P99_MS:.0f} ms: {verdict} (p99 {p99:.1f} ms)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--changes", type=int, default=500)
    parser.add_argument("--reports", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the run directory (logs)")
    parser.add_argument("--check", action="store_true", help="exit 3 if the goal is missed")
    args = parser.parse_args()
    if args.reports < args.concurrency:
        parser.error("--reports must be at least --concurrency")

    print(f"notify_latency: {cpu_summary()}")
    tmp = Path(tempfile.mkdtemp(prefix="relaypacs-bench-notify-"))
    results: Results | None = None
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
            }
            (tmp / "cli").mkdir()
            run_cli(["db", "upgrade"], env, cwd=tmp / "cli")
            setup = asyncio.run(seed(url, data_dir, args))
            servers = []
            for name in ("a", "b"):
                (tmp / name).mkdir()
                servers.append(stack.enter_context(serve(env, cwd=tmp / name, port=free_port())))
            results = asyncio.run(
                measure(
                    [s.base_url for s in servers], [s.process.pid for s in servers], setup, args
                )
            )
            for server in servers:
                server.check_alive()
    except BenchError as exc:
        print(f"notify_latency: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"run directory kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    report(results, args)
    if results.received != results.expected or results.mismatched:
        return 1
    if args.check and percentile(results.latency_ms, 99) > GOAL_P99_MS:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
