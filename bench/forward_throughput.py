"""Forwarding throughput of the gateway against a direct dicomweb-client baseline, and the
gateway's peak memory while it forwards a ≈1 GB study.

One synthetic CT study (default 500 instances of ≈512 KiB, made with pydicom and cached
under bench/.work/studies/, the same cache as upload_throughput.py), over loopback, each
destination a fresh Orthanc 1.10 with the DICOMweb plugin (tests/servers.py):

1. gateway: a real `relaypacs serve` (uvicorn; SQLite and local storage in a throwaway
   directory; FORWARD_WORKERS=1, FORWARD_POLL_SECONDS=0.2, LOG_LEVEL=WARNING,
   PACS_ORTHANC__BATCH_MAX_INSTANCES=N and BATCH_MAX_BYTES large enough that only N bounds
   a batch). The study is uploaded through the API (init, every chunk with 8 in flight,
   complete); then the FORWARDING time is measured: from the `complete` response to the
   upload's state becoming `forwarded` (GET /api/upload/{id}, polled every 0.25 s). That
   span includes the worker's wake-up, the health probe, the STOW-RS batches, the database
   bookkeeping and, with FORWARD_VERIFY=true (the default), the QIDO-RS check of every
   instance. It runs twice: FORWARD_VERIFY=true and FORWARD_VERIFY=false, each against its
   own fresh Orthanc. The server-side figure (complete response → the job's delivered_at,
   from the database) and the sum of the STOW requests' durations (forward receipts) are
   printed as well, to tell the PACS's time from the gateway's own. The upload's dirty pages
   are written back (sync) before `complete`, so that writeback doesn't land in the timing.
2. direct baseline: the same files to another fresh Orthanc with dicomweb-client
   `DICOMwebClient.store_instances(datasets, study_instance_uid)` in batches of the same N,
   each batch read with pydicom just before it is sent; the timing covers reading and
   sending (after a sync, as for the gateway).

With --repeat R, each round runs the three measurements in a rotated order (so no variant
always comes first) and the summary takes the median of each over the rounds.
3. peak RSS (skipped with --skip-big): a ≈1 GB study (default 2,000 × 512 KiB) is uploaded
   to a gateway started with FORWARD_WORKERS=0; that gateway is stopped and a new one is
   started on the same data with FORWARD_WORKERS=1, so the job is forwarded by a process
   that did nothing else. Its VmHWM (/proc/<pid>/status, the whole life of the process,
   start-up included) when the upload is `forwarded` is the peak RSS; VmRSS is also sampled.

Instances/s = instances / seconds. The goals: gateway (verify on) / direct ≥ 1.0, and peak
RSS ≤ 250 MB (MB = 10^6 bytes).

    .venv/bin/python bench/forward_throughput.py [--instances 500] [--kib 512] [--batch 50]
        [--repeat 1] [--skip-big] [--big-instances 2000] [--big-kib 512] [--keep] [--check]

Exit status: 0 when the run completed (1 if a server failed or answered errors; with
--check, 3 if a goal was missed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from _common import (
    REPO,
    BenchError,
    CpuMonitor,
    cpu_summary,
    create_admin,
    serve,
    sqlite_env,
    terminate_on_sigterm,
)

sys.path.insert(0, str(REPO))  # tests/ is not installed; the servers and factories live there
from tests.servers import OrthancServer, ServerUnavailable
from tests.upload_client import init_body, send_all

BENCH = Path(__file__).resolve().parent
WORK = BENCH / ".work"

EMAIL = "bench@example.org"
USERNAME = "bench"
PASSWORD = "orchid-telescope-granite-64"
PATIENT_NAME, STUDY_DATE, DICOM_DATE = "DOE^JANE", "2026-01-15", "20260115"

GOAL_RATIO = 1.0  # gateway instances/s over direct instances/s, at least (issue 17)
GOAL_RSS_MB = 250.0  # gateway peak RSS while forwarding, at most
MB = 1_000_000
POLL_SECONDS = 0.25
CHUNKS_IN_FLIGHT = 8
MAX_ATTEMPTS = 3  # forwarding attempts after which a run is reported as broken


def forward_timeout(instances: int) -> float:
    return max(300.0, 0.5 * instances)


# --- the study ------------------------------------------------------------------------


@dataclass(frozen=True)
class Study:
    directory: Path
    study_uid: str
    paths: list[Path]
    sizes: list[int]

    @property
    def total(self) -> int:
        return sum(self.sizes)


def study(files: int, file_kib: int) -> tuple[Study, bool]:
    """The cached study for these dimensions, generated first if absent; (study, generated).

    Same layout as upload_throughput.py's cache (bench/.work/studies/ct-NxKKiB/)."""
    directory = WORK / "studies" / f"ct-{files}x{file_kib}KiB"
    manifest = directory / "manifest.json"
    with contextlib.suppress(OSError, ValueError, KeyError):
        listed = json.loads(manifest.read_text())
        paths = [directory / f["name"] for f in listed["files"]]
        sizes = [int(f["size"]) for f in listed["files"]]
        if len(paths) == files and all(
            p.stat().st_size == s for p, s in zip(paths, sizes, strict=True)
        ):
            return Study(directory, str(listed["study_uid"]), paths, sizes), False

    from tests.dicom_factory import write_study

    shutil.rmtree(directory, ignore_errors=True)
    directory.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f"{directory.name}.", dir=directory.parent))
    written = write_study(
        building,
        count=files,
        pixel_bytes=file_kib * 1024,
        patient_name=PATIENT_NAME,
        study_date=DICOM_DATE,
    )
    listed_files = [{"name": p.name, "size": p.stat().st_size} for p in written.paths]
    (building / "manifest.json").write_text(
        json.dumps({"study_uid": written.study_uid, "files": listed_files}, indent=1)
    )
    building.rename(directory)
    paths = [directory / f["name"] for f in listed_files]
    sizes = [int(f["size"]) for f in listed_files]
    return Study(directory, written.study_uid, paths, sizes), True


# --- processes: CPU and memory from /proc -------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise BenchError(f"no {key} in /proc/{pid}/status")


class RssSampler:
    """VmRSS of a process sampled in a thread (a cross-check of its VmHWM)."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss-{pid}", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, BenchError):
                self.peak_kib = max(self.peak_kib, status_kib(self.pid, "VmRSS"))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def orthanc_pid(orthanc: OrthancServer) -> int:
    proc = getattr(orthanc, "_proc", None)
    if proc is None:
        raise BenchError(f"Orthanc {orthanc.name} is not running")
    return int(proc.pid)


def orthanc_instances(orthanc: OrthancServer) -> int:
    return int(orthanc.request("GET", "/statistics")["CountInstances"])


@contextlib.contextmanager
def orthanc(base: Path, name: str) -> Iterator[OrthancServer]:
    server = OrthancServer(base / name, name)
    try:
        server.start()
    except ServerUnavailable as exc:
        raise BenchError(str(exc)) from exc
    try:
        yield server
    finally:
        server.stop()


# --- gateway --------------------------------------------------------------------------


def gateway_env(
    data_dir: Path, pacs: OrthancServer, *, batch: int, max_bytes: int, workers: int, verify: bool
) -> dict[str, str]:
    return sqlite_env(
        data_dir,
        STORAGE_BACKEND="local",
        REDIS_URL="",
        DB_MIGRATE_ON_STARTUP="false",
        ACTIVE_PACS="orthanc",
        FALLBACK_PACS="",
        FORWARD_WORKERS=str(workers),
        FORWARD_POLL_SECONDS="0.2",
        FORWARD_VERIFY="true" if verify else "false",
        PACS_ORTHANC__TYPE="dicomweb",
        PACS_ORTHANC__URL=pacs.dicomweb_url,
        PACS_ORTHANC__AUTH="basic",
        PACS_ORTHANC__USERNAME=pacs.username,
        PACS_ORTHANC__PASSWORD=pacs.password,
        PACS_ORTHANC__BATCH_MAX_INSTANCES=str(batch),
        PACS_ORTHANC__BATCH_MAX_BYTES=str(max_bytes),
    )


def expect(response: httpx.Response, status: int, what: str) -> httpx.Response:
    if response.status_code != status:
        raise BenchError(f"{what}: HTTP {response.status_code} {response.text[:500]}")
    return response


@dataclass
class Uploaded:
    upload_id: str
    token: str  # the admin's access token
    instances: int
    upload_seconds: float
    complete_seconds: float
    completed_at: datetime  # wall clock (UTC) when the complete response arrived
    completed_clock: float  # perf_counter at the same moment


async def login(client: httpx.AsyncClient) -> str:
    response = await client.post("/api/auth/login", json={"login": USERNAME, "password": PASSWORD})
    return str(expect(response, 200, "login").json()["access_token"])


async def upload(base_url: str, data: Study) -> Uploaded:
    """init → every chunk (8 in flight) → complete, through the API."""
    limits = httpx.Limits(max_connections=CHUNKS_IN_FLIGHT, max_keepalive_connections=8)
    async with httpx.AsyncClient(base_url=base_url, timeout=900.0, limits=limits) as client:
        token = await login(client)
        bearer = {"Authorization": f"Bearer {token}"}
        body = init_body(
            data.paths, patient_name=PATIENT_NAME, study_date=STUDY_DATE, force_upload=True
        )
        t0 = time.perf_counter()
        created = expect(
            await client.post("/api/upload/init", json=body, headers=bearer), 201, "init"
        ).json()
        upload_headers = {"X-Upload-Token": created["upload_token"]}
        await send_all(client, created, data.paths, upload_headers, concurrency=CHUNKS_IN_FLIGHT)
        upload_seconds = time.perf_counter() - t0
        # Write back the upload's dirty pages now, so they don't slow the forwarding down.
        await asyncio.to_thread(os.sync)
        t1 = time.perf_counter()
        done = await client.post(
            f"/api/upload/{created['upload_id']}/complete", headers=upload_headers
        )
        completed_clock = time.perf_counter()
        completed_at = datetime.now(UTC)
        accepted = expect(done, 202, "complete").json()
        if accepted["instances"] != len(data.paths):
            raise BenchError(f"complete accepted {accepted['instances']} of {len(data.paths)}")
        return Uploaded(
            upload_id=created["upload_id"],
            token=token,
            instances=int(accepted["instances"]),
            upload_seconds=upload_seconds,
            complete_seconds=completed_clock - t1,
            completed_at=completed_at,
            completed_clock=completed_clock,
        )


async def wait_forwarded(
    base_url: str, upload_id: str, token: str, timeout: float, on_poll: Any = None
) -> float:
    """Poll GET /api/upload/{id} until `forwarded`; return perf_counter() when seen."""
    deadline = time.perf_counter() + timeout
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0) as client:
        while True:
            response = await client.get(
                f"/api/upload/{upload_id}", headers={"Authorization": f"Bearer {token}"}
            )
            now = time.perf_counter()
            detail = expect(response, 200, "upload detail").json()
            if detail["state"] == "forwarded":
                return now
            if detail["state"] == "failed":
                raise BenchError(f"forwarding failed: {json.dumps(detail['forwarding'])[:800]}")
            if any(job["attempts"] >= MAX_ATTEMPTS for job in detail["forwarding"]):
                # A healthy run forwards in one attempt; more means the worker keeps failing.
                raise BenchError(
                    f"forwarding retried {MAX_ATTEMPTS}+ times: "
                    f"{json.dumps(detail['forwarding'])[:800]}"
                )
            if on_poll is not None:
                on_poll()
            if now > deadline:
                raise BenchError(
                    f"not forwarded after {timeout:.0f} s (state {detail['state']}): "
                    f"{json.dumps(detail['forwarding'])[:800]}"
                )
            await asyncio.sleep(POLL_SECONDS)


def _utc(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class ServerSide:
    """What the gateway recorded about the job (its SQLite database)."""

    attempts: int
    batches: int
    stow_seconds: float  # sum of the STOW requests' durations
    first_stow_at: datetime | None
    last_stow_end: datetime | None
    delivered_at: datetime | None


def server_side(db_path: Path) -> ServerSide:
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        jobs = db.execute("SELECT attempts, delivered_at, state FROM forward_job").fetchall()
        if len(jobs) != 1:
            raise BenchError(f"expected one forward job, found {len(jobs)}")
        attempts, delivered_at, _state = jobs[0]
        receipts = db.execute(
            "SELECT started_at, duration_ms FROM forward_receipt ORDER BY started_at"
        ).fetchall()
    starts = [_utc(r[0]) for r in receipts]
    ends = [
        s.timestamp() + r[1] / 1000 for s, r in zip(starts, receipts, strict=True) if s is not None
    ]
    return ServerSide(
        attempts=int(attempts),
        batches=len(receipts),
        stow_seconds=sum(r[1] for r in receipts) / 1000,
        first_stow_at=starts[0] if starts else None,
        last_stow_end=datetime.fromtimestamp(max(ends), UTC) if ends else None,
        delivered_at=_utc(delivered_at),
    )


@dataclass
class Measure:
    """One forwarding measurement (gateway) or one direct send (baseline)."""

    label: str
    instances: int
    seconds: float
    cpu_ours: dict[str, float] = field(default_factory=dict)  # CPU seconds per process
    others_cores: float | None = None  # other processes' CPU during the span, in cores
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.instances / self.seconds


def prepare_gateway(data_dir: Path, env: dict[str, str]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    create_admin(env, cwd=data_dir, email=EMAIL, username=USERNAME, password=PASSWORD)


def run_gateway(
    base: Path, data: Study, pacs: OrthancServer, *, batch: int, max_bytes: int, verify: bool
) -> Measure:
    label = f"gateway, verify {'on ' if verify else 'off'}"
    data_dir = base / f"gateway-{'verify' if verify else 'noverify'}"
    env = gateway_env(data_dir, pacs, batch=batch, max_bytes=max_bytes, workers=1, verify=verify)
    prepare_gateway(data_dir, env)
    with serve(env, cwd=data_dir) as server:
        gw = server.process.pid
        uploaded = asyncio.run(upload(server.base_url, data))
        pids = {"gateway": gw, "orthanc": orthanc_pid(pacs)}
        cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
        monitor = CpuMonitor(gw, pids["orthanc"], os.getpid())
        monitor.start()
        try:
            seen = asyncio.run(
                wait_forwarded(
                    server.base_url,
                    uploaded.upload_id,
                    uploaded.token,
                    timeout=forward_timeout(len(data.paths)),
                    on_poll=server.check_alive,
                )
            )
        except BenchError as exc:
            raise BenchError(f"{exc}\ngateway log:\n{server.log_tail()}") from None
        usage = monitor.stop()
        cpu = {k: cpu_seconds(p) - cpu0[k] for k, p in pids.items()}
    held = orthanc_instances(pacs)
    if held != len(data.paths):
        raise BenchError(f"Orthanc {pacs.name} holds {held} instances, sent {len(data.paths)}")
    side = server_side(data_dir / "bench.db")
    seconds = seen - uploaded.completed_clock
    measure = Measure(label, uploaded.instances, seconds, cpu, usage.others if usage else None)
    measure.notes.append(
        f"upload {uploaded.upload_seconds:.1f} s, complete {uploaded.complete_seconds:.1f} s "
        "(not counted)"
    )
    if side.delivered_at is not None:
        exact = (side.delivered_at - uploaded.completed_at).total_seconds()
        measure.notes.append(
            f"server side: complete response → job delivered_at {exact:.2f} s "
            f"({uploaded.instances / exact:.1f} inst/s)"
        )
    if side.first_stow_at and side.last_stow_end and side.delivered_at:
        lead = (side.first_stow_at - uploaded.completed_at).total_seconds()
        span = (side.last_stow_end - side.first_stow_at).total_seconds()
        tail = (side.delivered_at - side.last_stow_end).total_seconds()
        poll_lag = seconds - (side.delivered_at - uploaded.completed_at).total_seconds()
        gaps = span - side.stow_seconds
        between = (
            f"between them (reading their answers, database updates) {gaps:.2f} s"
            if gaps >= 0  # one request at a time
            else f"first to last {span:.2f} s: requests overlapping (STOW_IN_FLIGHT)"
        )
        measure.notes.append(
            f"{side.batches} STOW request(s) {side.stow_seconds:.2f} s in all; before the first "
            f"(claim, health probe, queries) {lead:.2f} s; {between}; after the last (verify, "
            f"finish) {tail:.2f} s; delivered → seen by polling {poll_lag:.2f} s; "
            f"attempts {side.attempts}"
        )
    return measure


# --- direct baseline --------------------------------------------------------------------


def run_direct(data: Study, pacs: OrthancServer, *, batch: int) -> Measure:
    import pydicom
    from dicomweb_client.api import DICOMwebClient
    from dicomweb_client.session_utils import create_session_from_user_pass

    session = create_session_from_user_pass(pacs.username, pacs.password)
    client = DICOMwebClient(url=pacs.dicomweb_url, session=session)
    stored = 0
    pids = {"orthanc": orthanc_pid(pacs)}
    cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
    own0 = time.process_time()
    os.sync()  # same as the gateway: earlier writes are on disk before the timing starts
    monitor = CpuMonitor(pids["orthanc"], os.getpid())
    monitor.start()
    t0 = time.perf_counter()
    for start in range(0, len(data.paths), batch):
        datasets = [pydicom.dcmread(p) for p in data.paths[start : start + batch]]
        answer = client.store_instances(datasets, study_instance_uid=data.study_uid)
        failed = answer.get("FailedSOPSequence")
        if failed:
            raise BenchError(f"direct STOW: {len(failed)} instance(s) failed")
        stored += len(answer.get("ReferencedSOPSequence", []))
    seconds = time.perf_counter() - t0
    usage = monitor.stop()
    session.close()
    cpu = {k: cpu_seconds(p) - cpu0[k] for k, p in pids.items()}
    cpu["client"] = time.process_time() - own0
    if stored != len(data.paths):
        raise BenchError(f"direct STOW: {stored} referenced of {len(data.paths)}")
    held = orthanc_instances(pacs)
    if held != len(data.paths):
        raise BenchError(f"Orthanc {pacs.name} holds {held} instances, sent {len(data.paths)}")
    label = "direct dicomweb-client"
    return Measure(label, stored, seconds, cpu, usage.others if usage else None)


# --- peak RSS while forwarding a big study -------------------------------------------------


@dataclass
class BigResult:
    instances: int
    bytes: int
    hwm_kib: int
    sampled_kib: int
    final_rss_kib: int  # VmRSS when the upload was seen `forwarded`
    startup_rss_kib: int  # VmRSS of the uploading gateway once started, before any upload
    seconds_from_start: float  # process start → forwarded (start-up included)
    stow_span: float | None  # first STOW → delivered_at
    upload_hwm_kib: int
    smaller: BigResult | None = None  # the same measurement with the throughput study


def run_big(
    base: Path,
    data: Study,
    pacs: OrthancServer,
    *,
    batch: int,
    max_bytes: int,
    name: str = "big",
) -> BigResult:
    data_dir = base / f"gateway-{name}"
    upload_env = gateway_env(
        data_dir, pacs, batch=batch, max_bytes=max_bytes, workers=0, verify=True
    )
    prepare_gateway(data_dir, upload_env)
    with serve(upload_env, cwd=data_dir) as server:
        time.sleep(1.0)  # let start-up settle
        startup_rss = status_kib(server.process.pid, "VmRSS")
        uploaded = asyncio.run(upload(server.base_url, data))
        upload_hwm = status_kib(server.process.pid, "VmHWM")
    forward_env = {**upload_env, "FORWARD_WORKERS": "1"}
    started = time.perf_counter()
    with serve(forward_env, cwd=data_dir) as server:
        pid = server.process.pid
        with RssSampler(pid) as sampler:
            try:
                seen = asyncio.run(
                    wait_forwarded(
                        server.base_url,
                        uploaded.upload_id,
                        uploaded.token,
                        timeout=forward_timeout(len(data.paths)),
                        on_poll=server.check_alive,
                    )
                )
            except BenchError as exc:
                raise BenchError(f"{exc}\ngateway log:\n{server.log_tail()}") from None
            hwm = status_kib(pid, "VmHWM")
            final = status_kib(pid, "VmRSS")
    held = orthanc_instances(pacs)
    if held != len(data.paths):
        raise BenchError(f"Orthanc {pacs.name} holds {held} instances, sent {len(data.paths)}")
    side = server_side(data_dir / "bench.db")
    span = (
        (side.delivered_at - side.first_stow_at).total_seconds()
        if side.delivered_at and side.first_stow_at
        else None
    )
    return BigResult(
        instances=uploaded.instances,
        bytes=data.total,
        hwm_kib=hwm,
        sampled_kib=sampler.peak_kib,
        final_rss_kib=final,
        startup_rss_kib=startup_rss,
        seconds_from_start=seen - started,
        stow_span=span,
        upload_hwm_kib=upload_hwm,
    )


# --- report ---------------------------------------------------------------------------


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def describe_cpu(m: Measure) -> str:
    parts = [f"{name} {seconds:.1f} s" for name, seconds in m.cpu_ours.items()]
    if m.others_cores is not None:
        parts.append(f"other processes {m.others_cores:.2f} cores")
    return "CPU: " + ", ".join(parts)


def print_report(
    args: argparse.Namespace,
    data: Study,
    rounds: list[list[Measure]],
    big: BigResult | None,
    loads: list[str],
) -> bool:
    print()
    print(
        f"forward_throughput: {len(data.paths)} CT instances, {data.total / MB:.1f} MB "
        f"(≈{data.total / len(data.paths) / MB:.2f} MB each), STOW batches of {args.batch}, "
        f"{cpu_summary()}"
    )
    print(f"load average (1/5/15 min): {' → '.join(loads)}")
    print()
    header = f"{'':<28}{'round':>6}{'seconds':>10}{'inst/s':>10}{'MB/s':>9}"
    print(header)
    print("-" * len(header))
    per_instance = data.total / len(data.paths)
    for n, measures in enumerate(rounds, 1):
        for m in measures:
            mbps = m.rate * per_instance / MB
            print(f"{m.label:<28}{n:>6}{m.seconds:>10.2f}{m.rate:>10.1f}{mbps:>9.1f}")
    print()
    by_label: dict[str, list[float]] = {}
    for measures in rounds:
        for m in measures:
            by_label.setdefault(m.label, []).append(m.rate)
    median = {k: statistics.median(v) for k, v in by_label.items()}
    direct = median["direct dicomweb-client"]
    ok = True
    print(f"{'median over rounds':<28}{'inst/s':>10}{'gateway/direct':>16}")
    for label, rate in median.items():
        ratio = f"{rate / direct:>16.2f}" if label != "direct dicomweb-client" else ""
        print(f"{label:<28}{rate:>10.1f}{ratio}")
    gateway_verify = median.get("gateway, verify on ")
    if gateway_verify is not None:
        ratio = gateway_verify / direct
        met = ratio >= GOAL_RATIO
        ok &= met
        print(
            f"goal: gateway (verify on, the default) / direct ≥ {GOAL_RATIO}: "
            f"{ratio:.2f} — {'met' if met else 'MISSED'}"
        )
    print()
    for n, measures in enumerate(rounds, 1):
        for m in measures:
            print(f"round {n}, {m.label.strip()}: {describe_cpu(m)}")
            for note in m.notes:
                print(f"    {note}")
    if big is not None:
        print()
        rss_mb = big.hwm_kib * 1024 / MB
        met = rss_mb <= GOAL_RSS_MB
        ok &= met
        print(
            f"peak RSS while forwarding {big.instances} instances ({big.bytes / MB:.0f} MB), "
            f"a fresh gateway process with FORWARD_WORKERS=1 that only forwarded:"
        )
        print(
            f"  VmHWM {rss_mb:.1f} MB (sampled VmRSS peak {big.sampled_kib * 1024 / MB:.1f} MB, "
            f"VmRSS when forwarded {big.final_rss_kib * 1024 / MB:.1f} MB); "
            f"goal ≤ {GOAL_RSS_MB:.0f} MB — {'met' if met else 'MISSED'}"
        )
        print(
            f"  for scale: an idle gateway right after start-up has VmRSS "
            f"{big.startup_rss_kib * 1024 / MB:.1f} MB, so forwarding added "
            f"{(big.hwm_kib - big.startup_rss_kib) * 1024 / MB:.1f} MB at its peak"
        )
        span = (
            f"; first STOW → delivered {big.stow_span:.1f} s "
            f"({big.instances / big.stow_span:.1f} inst/s)"
            if big.stow_span
            else ""
        )
        if big.smaller is not None:
            small = big.smaller
            added_small = (small.hwm_kib - small.startup_rss_kib) * 1024 / MB
            added_big = (big.hwm_kib - big.startup_rss_kib) * 1024 / MB
            print(
                f"  growth with the number of instances: {small.instances} instances added "
                f"{added_small:.1f} MB (VmHWM {small.hwm_kib * 1024 / MB:.1f} MB), "
                f"{big.instances} added {added_big:.1f} MB: "
                f"{added_big - added_small:+.1f} MB for {big.instances - small.instances} more"
            )
        print(
            f"  process start → forwarded {big.seconds_from_start:.1f} s{span}; "
            f"(the uploading process, FORWARD_WORKERS=0, peaked at "
            f"{big.upload_hwm_kib * 1024 / MB:.1f} MB)"
        )
    return ok


# --- main -------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=500, help="instances in the study")
    parser.add_argument("--kib", type=int, default=512, help="pixel data per instance, KiB")
    parser.add_argument("--batch", type=int, default=50, help="instances per STOW request (N)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the throughput runs")
    parser.add_argument("--skip-big", action="store_true", help="skip the peak-RSS run")
    parser.add_argument("--big-instances", type=int, default=2000)
    parser.add_argument("--big-kib", type=int, default=512)
    parser.add_argument("--no-verify-run", action="store_true", help="skip FORWARD_VERIFY=false")
    parser.add_argument("--keep", action="store_true", help="keep the run directory")
    parser.add_argument("--check", action="store_true", help="exit 3 when a goal is missed")
    args = parser.parse_args()

    loads = [load_average()]
    data, generated = study(args.instances, args.kib)
    if generated:
        print(f"forward_throughput: generated {data.directory}")
    big_data = None
    if not args.skip_big:
        big_data, generated = study(args.big_instances, args.big_kib)
        if generated:
            print(f"forward_throughput: generated {big_data.directory}")
    # Only the instance count bounds a batch (same N as the baseline), not the byte limit.
    largest = max(data.sizes + (big_data.sizes if big_data else []))
    max_bytes = max(64 * 1024 * 1024, args.batch * largest + 1)

    WORK.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="forward-run-", dir=WORK))
    rounds: list[list[Measure]] = []
    big = None
    try:
        with terminate_on_sigterm():
            for n in range(args.repeat):
                # Each round rotates the order, so no variant always runs first (or last).
                variants: list[bool | None] = [True, False, None]  # verify on, off, direct
                if args.no_verify_run:
                    variants.remove(False)
                shift = n % len(variants)
                measures = []
                for variant in variants[shift:] + variants[:shift]:
                    if variant is None:
                        with orthanc(base, f"b{n}") as pacs:
                            measures.append(run_direct(data, pacs, batch=args.batch))
                    else:
                        name = f"a{n}-{'verify' if variant else 'noverify'}"
                        with orthanc(base, name) as pacs:
                            measures.append(
                                run_gateway(
                                    base / f"round{n}",
                                    data,
                                    pacs,
                                    batch=args.batch,
                                    max_bytes=max_bytes,
                                    verify=variant,
                                )
                            )
                    print(f"  {measures[-1].label}: {measures[-1].rate:.1f} inst/s", flush=True)
                order = ["gateway, verify on ", "gateway, verify off", "direct dicomweb-client"]
                measures.sort(key=lambda m: order.index(m.label))
                rounds.append(measures)
                loads.append(load_average())
            if big_data is not None:
                with orthanc(base, "big") as pacs:
                    big = run_big(base, big_data, pacs, batch=args.batch, max_bytes=max_bytes)
                # The same measurement on the smaller study: what forwarding adds must not
                # grow with the number of instances.
                with orthanc(base, "small") as pacs:
                    small = run_big(
                        base, data, pacs, batch=args.batch, max_bytes=max_bytes, name="small"
                    )
                big = dataclasses.replace(big, smaller=small)
                loads.append(load_average())
    except BenchError as exc:
        print(f"forward_throughput: {exc}", file=sys.stderr)
        print(f"forward_throughput: run directory kept: {base}", file=sys.stderr)
        return 1
    ok = print_report(args, data, rounds, big, loads)
    if args.keep:
        print(f"run directory kept: {base}")
    else:
        shutil.rmtree(base, ignore_errors=True)
    return 3 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
