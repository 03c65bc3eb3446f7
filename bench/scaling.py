"""Scaling figures of issue 16: the same client load against 1, 2 and 3 replicas.

One PostgreSQL, one Redis and one Orthanc are started once; for every replica count in
--replicas (default 1,2,3,1: the second N=1 shows the run-to-run noise) a fresh moto S3,
a fresh database ("relaypacs", dropped after each run) and a Cluster(size=N) of
tests/cluster/stack.py (N `relaypacs serve` processes behind nginx round-robin, the
deployment's own nginx config) are started, then the SAME load is applied through the
balancer:

- --clients C concurrent clients (default 8), each re-uploading its own study of
  --instances K CT instances of ≈ --instance-kib KiB (default 8 × 1 MiB) again and again:
  init (force_upload, chunk_size 256 KiB) → every chunk, --in-flight per client at a time
  (default 2, with Content-MD5) → complete. Requests are retried on 502/503/504 and
  transport errors (tests/cluster/client.py).
- --warmup s of load first (default 5), then a measured window of --seconds (default 30);
  when it ends the clients are cancelled (their unfinished uploads are left behind: the
  database is dropped anyway).

By default the replicas run with FORWARD_WORKERS=0: the figures are those of the upload
path only (chunks into S3, complete), not of forwarding to the PACS; --forward keeps the
stack's forwarding on (2 workers per replica, to Orthanc), which then competes for CPU.
LOG_LEVEL is WARNING (--log-level).

Figures, over the measured window: MB/s of acknowledged chunk bytes (MB = 10^6 bytes),
chunks/s, chunk latency p50/p99 (one PUT until its 200, retries included), completes/s and
their p50; the CPU time (utime + stime from /proc, children reaped included) of the
replica processes, nginx, PostgreSQL (postmaster and its backends), moto, Redis, Orthanc
and the client (this process), the machine's busy CPU (/proc/stat) and what is left,
`other` (processes not in the stack: e.g. someone else's tests); the share of chunk PUTs
each replica served (nginx access log); PostgreSQL connections at the end of the window.
Ratios are against the first run of the first replica count. Then the script prints its
interpretation of the curve from these figures (CPU-bound? which process? DB-bound?) and
the ceilings the measured CPU cost per MB predicts for a machine with more cores.

    .venv/bin/python bench/scaling.py [--replicas 1,2,3,1] [--clients 8] [--instances 8]
        [--instance-kib 1024] [--in-flight 2] [--seconds 30] [--warmup 5] [--forward]
        [--cores-for-prediction 8] [--out PATH] [--keep]

Results are written as JSON to bench/.work/scaling/scaling-<time>.json (git-ignored) or
--out. On this 2-core machine one pass of the default four runs takes ≈ 3–4 minutes.
Exit status: 0 when every run completed without unexpected 5xx, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / ".work" / "scaling"
sys.path.insert(0, str(REPO))  # tests/ is not installed: the cluster support lives there

import httpx  # noqa: E402

from tests.cluster.client import Client, Observed  # noqa: E402
from tests.cluster.stack import DATABASE, Cluster, sign_in  # noqa: E402
from tests.dicom_factory import write_study  # noqa: E402
from tests.servers import (  # noqa: E402
    MotoS3Server,
    OrthancServer,
    PostgresServer,
    RedisServer,
)
from tests.upload_client import content_md5, init_body  # noqa: E402

CHUNK = 256 * 1024
MB = 1_000_000
TICK = os.sysconf("SC_CLK_TCK")
GROUPS = ("replicas", "nginx", "postgres", "moto", "redis", "orthanc", "client")


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = int(rank), min(int(rank) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# --- CPU from /proc -----------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, int, int]]:
    """pid → (ppid, own ticks utime+stime, reaped children's ticks cutime+cstime)."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
            table[int(entry.name)] = (
                int(fields[1]),
                int(fields[11]) + int(fields[12]),
                int(fields[13]) + int(fields[14]),
            )
    return table


def _tree_ticks(table: dict[int, tuple[int, int, int]], roots: list[int]) -> int:
    """CPU ticks of the roots and all their descendants, reaped children included (a child
    that exits within the window is then counted whole at the end, and its part before the
    window at the start, so the difference is right)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    seen, todo, ticks = set(), list(roots), 0
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in table:
            continue
        seen.add(pid)
        ticks += table[pid][1] + table[pid][2]
        todo += children.get(pid, [])
    return ticks


def machine_ticks() -> tuple[int, int]:
    """(busy, total) ticks of all CPUs since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(fields[:8])  # guest time is already in user/nice
    return total - fields[3] - fields[4], total


def cpu_snapshot(roots: dict[str, list[int]]) -> dict[str, int]:
    table = _proc_table()
    snapshot = {name: _tree_ticks(table, pids) for name, pids in roots.items()}
    own = table.get(os.getpid())
    snapshot["client"] = own[1] if own else 0  # this process only: its children are servers
    snapshot["machine_busy"], snapshot["machine_total"] = machine_ticks()
    return snapshot


# --- the load -----------------------------------------------------------------------------


@dataclass
class StudyData:
    paths: list[Path]
    patient: str
    chunks: dict[tuple[int, int], tuple[bytes, str]]  # (file, index) → (data, Content-MD5)


def prepare_studies(
    directory: Path, clients: int, instances: int, pixel_bytes: int
) -> list[StudyData]:
    studies = []
    for i in range(clients):
        patient = f"SCALING^CLIENT{i:02d}"
        written = write_study(
            directory / f"client-{i:02d}",
            count=instances,
            pixel_bytes=pixel_bytes,
            patient_name=patient,
            patient_id=f"SCALING-{i:02d}",
        )
        chunks = {}
        for f, path in enumerate(written.paths):
            data = path.read_bytes()
            for index in range(0, max(1, -(-len(data) // CHUNK))):
                piece = data[index * CHUNK : (index + 1) * CHUNK]
                chunks[(f, index)] = (piece, content_md5(piece))
        studies.append(StudyData(written.paths, patient, chunks))
    return studies


@dataclass
class Load:
    observed: Observed = field(default_factory=Observed)
    chunks: list[tuple[float, int, float]] = field(default_factory=list)  # end, bytes, seconds
    completes: list[tuple[float, float]] = field(default_factory=list)  # end, seconds
    failures: list[str] = field(default_factory=list)


async def client_loop(
    url: str, bearer: dict[str, str], study: StudyData, in_flight: int, load: Load
) -> None:
    client = Client(url, bearer, observed=load.observed, timeout=60, deadline=120)
    limits = httpx.Limits(max_connections=in_flight + 1, max_keepalive_connections=in_flight + 1)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        while True:
            init = await client.request(
                http,
                "POST",
                "/api/upload/init",
                ok={201},
                json=init_body(
                    study.paths, patient_name=study.patient, chunk_size=CHUNK, force_upload=True
                ),
                headers=bearer,
            )
            if init.status_code != 201:
                load.failures.append(f"init → {init.status_code}: {init.text[:200]}")
                await asyncio.sleep(1)
                continue
            created = init.json()
            upload_id = created["upload_id"]
            assert created["chunk_size"] == CHUNK, created["chunk_size"]
            jobs = [(f["index"], i) for f in created["files"] for i in range(f["total_chunks"])]
            semaphore = asyncio.Semaphore(in_flight)

            async def one(
                file: int,
                index: int,
                upload_id: str = upload_id,
                semaphore: asyncio.Semaphore = semaphore,
            ) -> None:
                data, md5 = study.chunks[(file, index)]
                async with semaphore:
                    started = time.monotonic()
                    response = await client.request(
                        http,
                        "PUT",
                        f"/api/upload/{upload_id}/chunk",
                        ok={200},
                        params={"file": file, "index": index},
                        content=data,
                        headers=bearer
                        | {"Content-MD5": md5, "Content-Type": "application/octet-stream"},
                    )
                    ended = time.monotonic()
                if response.status_code == 200:
                    load.chunks.append((ended, len(data), ended - started))
                else:
                    load.failures.append(f"chunk → {response.status_code}: {response.text[:200]}")

            await asyncio.gather(*(one(f, i) for f, i in jobs))
            started = time.monotonic()
            body = await client.complete(http, upload_id)
            load.completes.append((time.monotonic(), time.monotonic() - started))
            if body.get("state") in {"failed", "expired", "cancelled"}:
                load.failures.append(f"complete → {body.get('state')}")


# --- one run ------------------------------------------------------------------------------


@dataclass
class Run:
    replicas: int
    order: int
    seconds: float = 0.0
    mb_per_s: float = 0.0
    chunks_per_s: float = 0.0
    chunk_p50_ms: float | None = None
    chunk_p99_ms: float | None = None
    completes_per_s: float = 0.0
    complete_p50_ms: float | None = None
    cpu_cores: dict[str, float] = field(default_factory=dict)  # CPU s / window s, per group
    machine_busy_cores: float = 0.0
    machine_cores: int = 0
    other_cores: float = 0.0
    stack_cores: float = 0.0  # machine busy − other: the CPU the stack and its clients got
    mb_per_s_per_stack_core: float = 0.0
    cpu_s_per_mb: dict[str, float] = field(default_factory=dict)
    per_replica_put_share: list[float] = field(default_factory=list)
    postgres_connections: int | None = None
    statuses: dict[str, int] = field(default_factory=dict)
    transport_errors: int = 0
    unexpected_5xx: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    startup_seconds: float = 0.0


def put_shares(cluster: Cluster, since_line: int) -> list[float]:
    """Share of chunk PUTs each replica answered, from nginx's access log."""
    assert cluster.nginx is not None
    counts: Counter[str] = Counter()
    with contextlib.suppress(OSError):
        lines = cluster.nginx.access_log.read_text(errors="replace").splitlines()[since_line:]
        for line in lines:
            if '"PUT /api/upload/' in line and (m := re.search(r"upstream=(\S+)", line)):
                counts[m.group(1).split(",")[-1].strip()] += 1
    total = sum(counts.values()) or 1
    addresses = [r.base_url[len("http://") :] for r in cluster.replicas]
    return [round(counts[a] / total, 3) for a in addresses]


async def one_run(
    args: argparse.Namespace,
    order: int,
    size: int,
    base: Path,
    postgres: PostgresServer,
    redis: RedisServer,
    orthanc: OrthancServer,
    studies: list[StudyData],
) -> Run:
    run = Run(replicas=size, order=order, machine_cores=os.cpu_count() or 1)
    s3 = MotoS3Server(base / "s3")
    s3.start()
    extra_env = {"LOG_LEVEL": args.log_level}
    if not args.forward:
        extra_env["FORWARD_WORKERS"] = "0"
    cluster = Cluster(
        base=base / "cluster",
        postgres=postgres,
        redis=redis,
        s3=s3,
        orthanc=orthanc,
        extra_env=extra_env,
        size=size,
    )
    tasks: list[asyncio.Task[None]] = []
    try:
        started = time.monotonic()
        await cluster.start()
        bearer = await sign_in(cluster.url)
        run.startup_seconds = round(time.monotonic() - started, 1)
        assert cluster.nginx is not None
        roots = {
            "replicas": [r.pid for r in cluster.replicas if r.pid is not None],
            "nginx": [cluster.nginx._proc.pid] if cluster.nginx._proc else [],
            "postgres": [p] if (p := postgres._postmaster_pid()) else [],
            "moto": [s3._proc.pid] if s3._proc else [],
            "redis": [redis._proc.pid] if redis._proc else [],
            "orthanc": [orthanc._proc.pid] if orthanc._proc else [],
        }
        load = Load()
        tasks = [
            asyncio.create_task(client_loop(cluster.url, bearer, study, args.in_flight, load))
            for study in studies
        ]
        await asyncio.sleep(args.warmup)
        for task in tasks:
            if task.done():  # a client died in the warm-up: report why
                task.result()
        log_start = len(cluster.nginx.access_log.read_text(errors="replace").splitlines())
        before, t0 = cpu_snapshot(roots), time.monotonic()
        await asyncio.sleep(args.seconds)
        after, t1 = cpu_snapshot(roots), time.monotonic()
        for task in tasks:
            task.cancel()
        for outcome in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(outcome, Exception):  # a client that stopped before the end
                load.failures.append(f"client: {type(outcome).__name__}: {str(outcome)[:200]}")
        window = t1 - t0
        run.seconds = round(window, 2)

        chunks = [c for c in load.chunks if t0 <= c[0] <= t1]
        completes = [c for c in load.completes if t0 <= c[0] <= t1]
        total_bytes = sum(c[1] for c in chunks)
        mb = total_bytes / MB
        run.mb_per_s = round(mb / window, 2)
        run.chunks_per_s = round(len(chunks) / window, 1)
        latencies = [c[2] for c in chunks]
        for name, pct in (("chunk_p50_ms", 50), ("chunk_p99_ms", 99)):
            value = percentile(latencies, pct)
            setattr(run, name, round(value * 1000, 1) if value is not None else None)
        run.completes_per_s = round(len(completes) / window, 2)
        if (p50 := percentile([c[1] for c in completes], 50)) is not None:
            run.complete_p50_ms = round(p50 * 1000, 1)

        ticks = {k: after[k] - before[k] for k in after}
        for group in GROUPS:
            run.cpu_cores[group] = round(ticks[group] / TICK / window, 3)
            run.cpu_s_per_mb[group] = round(ticks[group] / TICK / mb, 4) if mb else 0.0
        run.machine_busy_cores = round(ticks["machine_busy"] / TICK / window, 3)
        run.other_cores = round(
            max(0.0, run.machine_busy_cores - sum(run.cpu_cores[g] for g in GROUPS)), 3
        )
        run.stack_cores = round(run.machine_busy_cores - run.other_cores, 3)
        if run.stack_cores > 0:
            run.mb_per_s_per_stack_core = round(run.mb_per_s / run.stack_cores, 2)
        run.per_replica_put_share = put_shares(cluster, log_start)
        with contextlib.suppress(Exception):
            run.postgres_connections = int(
                postgres.psql(
                    f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{DATABASE}'"
                ).strip()
            )
        run.statuses = {str(k): v for k, v in sorted(load.observed.statuses.items())}
        run.transport_errors = load.observed.transport_errors
        run.unexpected_5xx = load.observed.unexpected[:20]
        run.failures = load.failures[:20]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.to_thread(cluster.close)
        s3.stop()
        with contextlib.suppress(Exception):
            postgres.drop_database(DATABASE)
    return run


# --- report -------------------------------------------------------------------------------


def ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "—"
    return f"{value / base:.2f}×"


def print_table(runs: list[Run]) -> None:
    base = runs[0]
    print()
    print(
        f"{'run':>3} {'N':>2} {'MB/s':>7} {'×':>6} {'chunk/s':>8} {'p50 ms':>7} {'×':>6}"
        f" {'p99 ms':>7} {'×':>6} {'cmpl/s':>6} {'busy':>5} "
        + " ".join(f"{g[:6]:>6}" for g in GROUPS)
        + f" {'other':>6} {'MB/s/core':>9} {'×':>6}  PUT share per replica"
    )
    for r in runs:
        print(
            f"{r.order:>3} {r.replicas:>2} {r.mb_per_s:>7.1f} {ratio(r.mb_per_s, base.mb_per_s):>6}"
            f" {r.chunks_per_s:>8.1f} {r.chunk_p50_ms or 0:>7.0f}"
            f" {ratio(r.chunk_p50_ms, base.chunk_p50_ms):>6} {r.chunk_p99_ms or 0:>7.0f}"
            f" {ratio(r.chunk_p99_ms, base.chunk_p99_ms):>6} {r.completes_per_s:>6.2f}"
            f" {r.machine_busy_cores:>5.2f} "
            + " ".join(f"{r.cpu_cores[g]:>6.2f}" for g in GROUPS)
            + f" {r.other_cores:>6.2f} {r.mb_per_s_per_stack_core:>9.2f}"
            f" {ratio(r.mb_per_s_per_stack_core, base.mb_per_s_per_stack_core):>6}"
            f"  {r.per_replica_put_share}"
        )
    print(
        "CPU columns are cores (CPU s per wall s); busy = the whole machine "
        f"(of {base.machine_cores}); other = busy − the listed processes; MB/s/core = MB/s per "
        "core the stack got (busy − other), which corrects for the machine's other load."
    )
    print("CPU s per MB acknowledged:")
    for r in runs:
        print(
            f"{r.order:>3} {r.replicas:>2} "
            + " ".join(f"{g}={r.cpu_s_per_mb[g]:.4f}" for g in GROUPS)
        )


def interpret(runs: list[Run], cores_for_prediction: int) -> str:
    cores = runs[0].machine_cores
    base = runs[0]
    by_n: dict[int, list[Run]] = {}
    for r in runs:
        by_n.setdefault(r.replicas, []).append(r)
    mean = {n: sum(r.mb_per_s for r in rs) / len(rs) for n, rs in by_n.items()}
    parts = []
    curve = ", ".join(
        f"N={n}: {mean[n]:.1f} MB/s ({mean[n] / mean[base.replicas]:.2f}×)" for n in sorted(mean)
    )
    parts.append(f"Throughput {curve}.")
    if len(by_n.get(base.replicas, [])) > 1:
        values = [r.mb_per_s for r in by_n[base.replicas]]
        noise = (max(values) - min(values)) / (sum(values) / len(values))
        per_core = [r.mb_per_s_per_stack_core for r in by_n[base.replicas]]
        noise_core = (max(per_core) - min(per_core)) / (sum(per_core) / len(per_core))
        parts.append(
            f"Repeating N={base.replicas} moved raw throughput by {noise:.0%} and throughput "
            f"per core the stack got by {noise_core:.0%}: differences smaller than that are "
            "noise."
        )
    # where the CPU went
    for n in sorted(by_n):
        r = by_n[n][0]
        util = r.machine_busy_cores / cores
        per_replica = r.cpu_cores["replicas"] / max(1, n)
        top = sorted(GROUPS, key=lambda g: -r.cpu_cores[g])[:3]
        parts.append(
            f"N={n}: machine {util:.0%} busy ({r.machine_busy_cores:.2f} of {cores} cores; "
            f"top: {', '.join(f'{g} {r.cpu_cores[g]:.2f}' for g in top)}; other "
            f"{r.other_cores:.2f}); {per_replica:.2f} core per replica."
        )
    other = sum(r.other_cores for r in runs) / len(runs)
    if other >= 0.15:
        parts.append(
            f"Processes outside the stack (`other`, e.g. someone else's tests) took {other:.2f} "
            f"cores on average, so the stack and its clients had only ≈ {cores - other:.1f} of "
            f"the {cores} cores: every figure here is for that share of the machine."
        )
    client = sum(r.cpu_cores["client"] for r in runs) / len(runs)
    parts.append(f"The clients (this process) took {client:.2f} cores on the same machine.")
    saturated = [n for n in sorted(by_n) if by_n[n][0].machine_busy_cores >= 0.85 * cores]
    one = by_n.get(1, [None])[0]
    efficiency = {n: sum(r.mb_per_s_per_stack_core for r in rs) / len(rs) for n, rs in by_n.items()}
    if len(saturated) == len(by_n):
        first = efficiency[base.replicas]
        spread = (max(efficiency.values()) - min(efficiency.values())) / first if first else 0
        shape = (
            "flat within 15 %"
            if spread <= 0.15
            else "rising with N"
            if efficiency[max(efficiency)] > efficiency[min(efficiency)]
            else "falling with N"
        )
        parts.append(
            "The machine was saturated (≥ 85 % busy) in every run, so throughput is the CPU "
            "the stack got divided by its CPU cost per MB: per core the stack got it was "
            + ", ".join(
                f"N={n} {efficiency[n]:.2f} MB/s ({efficiency[n] / first:.2f}×)"
                for n in sorted(efficiency)
            )
            + f", i.e. {shape}. The curve is CPU-bound: on 2 cores more replicas do not add "
            "capacity, they split the same cores"
            + (
                f" (a replica is not the serial point — at N=1 it used "
                f"{one.cpu_cores['replicas']:.2f} core, not a full one)"
                if one is not None and one.cpu_cores["replicas"] < 0.8
                else ""
            )
            + "; differences in raw MB/s between runs follow how much CPU the other processes "
            "left over."
        )
    elif one is not None and one.cpu_cores["replicas"] >= 0.8:
        rest = [n for n in saturated if n > 1]
        tail = (
            f" and from N={rest[0]} on the machine is saturated "
            f"({by_n[rest[0]][0].machine_busy_cores:.2f} cores busy), so more replicas add no "
            "CPU: CPU-bound."
            if rest
            else "; the machine still had spare CPU at every N, so the limit is elsewhere "
            "(see the shared components below)."
        )
        parts.append(
            f"One replica used {one.cpu_cores['replicas']:.2f} core: a single Python process "
            f"(one event loop, the GIL) is the limit at N=1, which is why a second replica "
            f"helps{tail}"
        )
    elif saturated:
        parts.append(
            f"The machine is saturated from N={saturated[0]} on: CPU-bound beyond that point."
        )
    else:
        parts.append(
            "The machine never reached saturation and a replica used under 0.8 core: the "
            "load itself (clients × in-flight chunks, i.e. latency-bound round trips) is the "
            "limit; raise --clients to find the ceiling."
        )
    # the database, and the other shared single processes
    last = runs[-1] if runs[-1].replicas == max(by_n) else by_n[max(by_n)][0]
    pg = last.cpu_cores["postgres"]
    share = pg / last.machine_busy_cores if last.machine_busy_cores else 0.0
    if pg >= 0.6 * cores / 2 and share >= 0.3:
        parts.append(
            f"PostgreSQL used {pg:.2f} cores ({share:.0%} of the busy CPU) at N={last.replicas}: "
            "a large part of the cost is in the database — DB-bound tendency."
        )
    else:
        parts.append(
            f"PostgreSQL used only {pg:.2f} cores ({share:.0%} of the busy CPU) at "
            f"N={last.replicas} with {last.postgres_connections} connections: not DB-bound; "
            "its round trips add latency per chunk, not a throughput ceiling here."
        )
    for single, what in (
        ("moto", "moto (one Python process, a stand-in for S3)"),
        ("nginx", "nginx (worker_processes 1)"),
    ):
        if last.cpu_cores[single] >= 0.8:
            parts.append(
                f"{what} used {last.cpu_cores[single]:.2f} core: a serial bottleneck of the "
                "test stack."
            )
    if base.chunk_p50_ms and last.chunk_p50_ms:
        parts.append(
            f"Chunk latency follows throughput (the load keeps the same number of chunks in "
            f"flight, so by Little's law latency ≈ in-flight / chunks per s): p50 "
            f"{base.chunk_p50_ms:.0f} → {last.chunk_p50_ms:.0f} ms, p99 "
            f"{base.chunk_p99_ms:.0f} → {last.chunk_p99_ms:.0f} ms."
        )
    # prediction for more cores, from the CPU cost per MB (means over the runs)
    per_mb = {g: sum(r.cpu_s_per_mb[g] for r in runs) / len(runs) for g in GROUPS}
    server_side = sum(per_mb[g] for g in GROUPS if g != "client")
    if per_mb["replicas"] and server_side:
        ceilings = {
            "one replica (1 core)": 1 / per_mb["replicas"],
            f"{cores_for_prediction} cores, clients elsewhere": cores_for_prediction / server_side,
        }
        for g, label in (
            ("nginx", "one nginx worker"),
            ("moto", "moto"),
            ("postgres", "PostgreSQL, 1 core"),
        ):
            if per_mb[g]:
                ceilings[label] = 1 / per_mb[g]
        shared = min(v for k, v in ceilings.items() if k != "one replica (1 core)")
        parts.append(
            "CPU cost per MB acknowledged: "
            + ", ".join(f"{g} {per_mb[g]:.4f} s" for g in GROUPS if per_mb[g])
            + ". So each replica can take ≈ "
            f"{ceilings['one replica (1 core)']:.0f} MB/s; on a machine with "
            f"{cores_for_prediction} cores (clients remote) throughput should grow about "
            f"linearly with N, ≈ {ceilings['one replica (1 core)']:.0f} MB/s per replica, until "
            f"the whole stack's CPU runs out at ≈ "
            f"{ceilings[f'{cores_for_prediction} cores, clients elsewhere']:.0f} MB/s "
            f"(nginx one worker ≤ {ceilings.get('one nginx worker', float('inf')):.0f} MB/s, "
            f"moto ≤ {ceilings.get('moto', float('inf')):.0f} MB/s — a real S3 has no such "
            f"limit; PostgreSQL scales over its backends). With moto as the S3, as in this "
            f"test stack, the ceiling is the smallest of these: ≈ {shared:.0f} MB/s, reached "
            f"at ≈ {shared / ceilings['one replica (1 core)']:.1f} replicas."
        )
    return " ".join(parts)


# --- main ---------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace) -> int:
    sizes = [int(n) for n in args.replicas.split(",")]
    base = Path(tempfile.mkdtemp(prefix="relaypacs-scaling-"))
    print(
        f"scaling: replicas {sizes}, {args.clients} clients × {args.in_flight} chunks in "
        f"flight, studies of {args.instances} × {args.instance_kib} KiB, chunk 256 KiB, "
        f"warm-up {args.warmup:.0f} s + {args.seconds:.0f} s measured per run, forwarding "
        f"{'on (2 workers per replica)' if args.forward else 'off (FORWARD_WORKERS=0)'}; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    postgres = PostgresServer(base / "pg")
    redis = RedisServer(base / "redis")
    orthanc = OrthancServer(base / "orthanc", "scaling")
    runs: list[Run] = []
    try:
        postgres.start()
        redis.start()
        orthanc.start()
        studies = await asyncio.to_thread(
            prepare_studies,
            base / "studies",
            args.clients,
            args.instances,
            args.instance_kib * 1024,
        )
        for order, size in enumerate(sizes, 1):
            run = await one_run(
                args, order, size, base / f"run-{order}-n{size}", postgres, redis, orthanc, studies
            )
            runs.append(run)
            print(
                f"run {order}: N={size}: {run.mb_per_s:.1f} MB/s, {run.chunks_per_s:.0f} chunks/s, "
                f"p50/p99 {run.chunk_p50_ms}/{run.chunk_p99_ms} ms, machine "
                f"{run.machine_busy_cores:.2f} cores busy (started in {run.startup_seconds} s)",
                flush=True,
            )
    finally:
        for server in (orthanc, redis, postgres):
            with contextlib.suppress(Exception):
                server.stop()
        if args.keep:
            print(f"scaling: work files kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    print_table(runs)
    text = interpret(runs, args.cores_for_prediction)
    print()
    print("Interpretation:", text)
    out = args.out or WORK / f"scaling-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "settings": {
                    k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
                },
                "cores": os.cpu_count(),
                "runs": [asdict(r) for r in runs],
                "interpretation": text,
            },
            indent=2,
        )
    )
    print(f"\nscaling: results written to {out}")
    bad = [r for r in runs if r.unexpected_5xx or r.failures]
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", default="1,2,3,1", help="replica counts, in order")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument("--instances", type=int, default=8, help="instances per study (8)")
    parser.add_argument("--instance-kib", type=int, default=1024, help="pixel data KiB (1024)")
    parser.add_argument("--in-flight", type=int, default=2, help="chunks in flight per client")
    parser.add_argument("--seconds", type=float, default=30, help="measured window per run")
    parser.add_argument("--warmup", type=float, default=5, help="load before the window")
    parser.add_argument("--forward", action="store_true", help="keep forwarding to the PACS on")
    parser.add_argument("--log-level", default="WARNING", help="the replicas' LOG_LEVEL")
    parser.add_argument("--cores-for-prediction", type=int, default=8)
    parser.add_argument("--out", type=Path, help="JSON results (bench/.work/scaling/...)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if not re.fullmatch(r"[1-9](,[1-9])*", args.replicas):
        parser.error("--replicas is a comma-separated list of counts 1–9, e.g. 1,2,3,1")
    if min(args.clients, args.instances, args.instance_kib, args.in_flight) <= 0:
        parser.error("--clients, --instances, --instance-kib and --in-flight must be > 0")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
