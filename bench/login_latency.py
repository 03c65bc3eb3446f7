"""Does bcrypt stay off the event loop? `/healthz` latency with and without a login storm.

Starts a real `relaypacs serve` (uvicorn) on a throwaway SQLite database, creates a
verified user through the CLI, then:

1. baseline: one client calls GET /healthz sequentially (after a warm-up), nothing else runs;
2. under load: N clients loop POST /api/auth/login (bcrypt cost 12) while the same kind
   of client measures /healthz for --duration seconds.

The /healthz measurer runs in its own process (own event loop, own connection), so the
loaders' event loop in this process does not distort its timings. Prints p50/p99 of both,
the ratio p99 under load / p99 baseline (goal ≤ 2) and the login throughput.

    .venv/bin/python bench/login_latency.py [--duration 20] [--clients 20]

Exit status: 0 when the run completed (1 if the server failed or answered errors;
with --check, 3 if the ratio is above the goal).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
from _common import (
    UNLIMITED_LOGINS,
    BenchError,
    CpuMonitor,
    CpuUsage,
    cpu_summary,
    create_admin,
    percentile,
    serve,
    sqlite_env,
    terminate_on_sigterm,
)

GOAL = 2.0
BUSY_CORES = 0.15  # CPU taken by the rest of the machine above which the run is suspect
EMAIL = "bench@example.org"
USERNAME = "bench"
PASSWORD = "orchid-telescope-granite-64"


# --- /healthz measurer (runs in a child process) ---------------------------------------


@dataclass
class HealthzRun:
    latencies: list[float]  # seconds, one per request
    started: float  # time.monotonic() (system-wide clock, comparable across processes)
    ended: float


async def _measure(base_url: str, warmup: int, count: int, duration: float) -> HealthzRun:
    """Sequential GET /healthz: `count` requests, or for `duration` seconds when count is 0."""
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as client:
        for _ in range(warmup):
            (await client.get("/healthz")).raise_for_status()
        started = time.monotonic()
        deadline = started + duration
        while (len(latencies) < count) if count else (time.monotonic() < deadline):
            t0 = time.perf_counter()
            response = await client.get("/healthz")
            latencies.append(time.perf_counter() - t0)
            response.raise_for_status()
        ended = time.monotonic()
    return HealthzRun(latencies, started, ended)


def _measurer_main(
    conn: Connection, base_url: str, warmup: int, count: int, duration: float
) -> None:
    # Plain tuples over the pipe: this module is __mp_main__ in the child.
    try:
        run = asyncio.run(_measure(base_url, warmup, count, duration))
        conn.send(("ok", run.latencies, run.started, run.ended))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the run
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    conn.close()


async def measure_healthz(
    base_url: str, *, warmup: int, count: int = 0, duration: float = 0.0
) -> HealthzRun:
    """Run the measurer in a fresh process and wait for its result without blocking our loop."""
    ctx = multiprocessing.get_context("spawn")
    parent_conn, child_conn = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=_measurer_main,
        args=(child_conn, base_url, warmup, count, duration),
        name="healthz-measurer",
        daemon=True,
    )
    process.start()
    child_conn.close()  # so recv() raises EOFError if the child dies
    try:
        try:
            message = await asyncio.to_thread(parent_conn.recv)
        except EOFError:
            raise BenchError(f"the measurer process died (exit code {process.exitcode})") from None
        if message[0] != "ok":
            raise BenchError(f"/healthz measurement failed: {message[1]}")
        _, latencies, started, ended = message
        return HealthzRun(list(latencies), float(started), float(ended))
    finally:
        parent_conn.close()
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join()


# --- login load (runs in this process) ----------------------------------------------------


@dataclass
class LoginStats:
    done: list[tuple[float, float]] = field(default_factory=list)  # (finished, latency)
    errors: int = 0
    first_error: str = ""


async def login_loop(base_url: str, stats: LoginStats) -> None:
    body = {"login": USERNAME, "password": PASSWORD}
    # Its own client and connection: one simulated user.
    async with httpx.AsyncClient(base_url=base_url, timeout=120.0) as client:
        while True:
            t0 = time.perf_counter()
            try:
                response = await client.post("/api/auth/login", json=body)
                ok = response.status_code == 200 and "access_token" in response.json()
                problem = f"HTTP {response.status_code}: {response.text[:200]}"
            except httpx.HTTPError as exc:
                ok, problem = False, f"{type(exc).__name__}: {exc}"
            if ok:
                stats.done.append((time.monotonic(), time.perf_counter() - t0))
            else:
                stats.errors += 1
                stats.first_error = stats.first_error or problem
                await asyncio.sleep(0.1)


# --- the run ------------------------------------------------------------------------------


@dataclass
class Summary:
    label: str
    latencies: list[float]

    def row(self) -> str:
        ms = [v * 1000 for v in self.latencies]
        return (
            f"{self.label:<22}{percentile(ms, 50):>9.2f}{percentile(ms, 99):>9.2f}"
            f"{max(ms):>9.1f}{len(ms):>10}"
        )


@dataclass
class Results:
    baseline: Summary
    loaded: Summary
    logins: LoginStats
    window: float  # seconds of the measurement under load
    cpu: dict[str, CpuUsage | None]


async def run(base_url: str, server_pid: int, args: argparse.Namespace) -> Results:
    cpu: dict[str, CpuUsage | None] = {}
    monitor = CpuMonitor(os.getpid(), server_pid)  # the measurer is our (reaped) child
    monitor.start()
    baseline = await measure_healthz(base_url, warmup=args.warmup, count=args.baseline_requests)
    cpu["baseline"] = monitor.stop()

    monitor.start()
    stats = LoginStats()
    loaders = [asyncio.create_task(login_loop(base_url, stats)) for _ in range(args.clients)]
    try:
        await asyncio.sleep(args.ramp)  # every client has a login in flight: steady state
        loaded = await measure_healthz(base_url, warmup=50, duration=args.duration)
    finally:
        for task in loaders:
            task.cancel()
        await asyncio.gather(*loaders, return_exceptions=True)
    cpu["login load"] = monitor.stop()

    # Logins/s counts the logins that finished while the measurer was measuring.
    stats.done = [d for d in stats.done if loaded.started <= d[0] <= loaded.ended]
    return Results(
        Summary("healthz baseline", baseline.latencies),
        Summary("healthz under logins", loaded.latencies),
        stats,
        loaded.ended - loaded.started,
        cpu,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds under load (20)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent login clients (20)")
    parser.add_argument(
        "--baseline-requests", type=int, default=2000, help="baseline /healthz requests (2000)"
    )
    parser.add_argument("--warmup", type=int, default=200, help="baseline warm-up requests")
    parser.add_argument(
        "--ramp", type=float, default=2.0, help="seconds of login load before measuring (2)"
    )
    parser.add_argument(
        "--hash-concurrency",
        type=int,
        default=None,
        help="set PASSWORD_HASH_CONCURRENCY (default: the app's, cpu_count-1)",
    )
    parser.add_argument(
        "--check", action="store_true", help=f"exit 3 when the p99 ratio is above {GOAL:g}"
    )
    args = parser.parse_args()

    with terminate_on_sigterm(), tempfile.TemporaryDirectory(prefix="relaypacs-bench-") as tmp:
        data_dir = Path(tmp)
        env = sqlite_env(data_dir, **UNLIMITED_LOGINS)
        if args.hash_concurrency is not None:
            env["PASSWORD_HASH_CONCURRENCY"] = str(args.hash_concurrency)
        try:
            create_admin(env, cwd=data_dir, email=EMAIL, username=USERNAME, password=PASSWORD)
            with serve(env, cwd=data_dir) as server:
                results = asyncio.run(run(server.base_url, server.process.pid, args))
                server.check_alive()
        except BenchError as exc:
            print(f"login_latency: {exc}", file=sys.stderr)
            return 1

    baseline, loaded, stats = results.baseline, results.loaded, results.logins
    ratio = percentile(loaded.latencies, 99) / percentile(baseline.latencies, 99)
    login_ms = [d[1] * 1000 for d in stats.done]
    concurrency = args.hash_concurrency if args.hash_concurrency is not None else "app default"
    print(f"login_latency: {cpu_summary()}")
    print(
        f"  {args.clients} login clients, {args.duration:g} s under load, "
        f"PASSWORD_HASH_CONCURRENCY={concurrency}"
    )
    print(f"{'':<22}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'requests':>10}")
    print(baseline.row())
    print(loaded.row())
    verdict = "ok" if ratio <= GOAL else "ABOVE GOAL"
    print(f"p99 ratio (under logins / baseline): {ratio:.2f}  (goal ≤ {GOAL:g}: {verdict})")
    if login_ms:
        print(
            f"logins: {len(login_ms) / results.window:.2f}/s "
            f"({len(login_ms)} in {results.window:.1f} s), "
            f"login latency p50 {percentile(login_ms, 50):.0f} ms, "
            f"p99 {percentile(login_ms, 99):.0f} ms, errors {stats.errors}"
        )
    else:
        print(f"logins: none completed, errors {stats.errors}")
    busy = False
    for phase, usage in results.cpu.items():
        if usage is not None:
            print(f"CPU during {phase}: {usage.describe()}")
            busy = busy or usage.others + usage.steal > BUSY_CORES
    if busy:
        print(
            "login_latency: WARNING: other processes took CPU during the run; "
            "these figures are not representative (run it on a quiet machine)",
            file=sys.stderr,
        )
    if stats.errors or not login_ms:
        print(f"login_latency: logins failed: {stats.first_error}", file=sys.stderr)
        return 1
    if args.check and ratio > GOAL:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
