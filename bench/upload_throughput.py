"""Upload throughput of the gateway against a tus baseline, the disk, and a plain read.

Uploads one synthetic CT study (default 1,024 instances of ≈512 KiB, ≈512 MiB, made with
pydicom and cached under bench/.work/studies/) over loopback:

1. gateway: a real `relaypacs serve` (uvicorn; SQLite and local storage in a throwaway
   directory). Log in, `POST /api/upload/init` with 1 MiB chunks, then every chunk with
   `PUT .../chunk` (Content-MD5, X-Upload-Token): 4 files in flight, each file's chunks
   one at a time. MB/s = study bytes / wall time of the chunk phase. Then `POST .../complete`
   is timed on its own. The server's peak RSS is its VmHWM (reset before the transfer and
   again before complete; the larger of the two, so startup does not count).
2. tus baseline: Node @tus/server with @tus/file-store (bench/tus/, `npm ci` on first use),
   the same files through the same client machinery (same concurrency, same 1 MiB chunk
   reads and MD5s): per file `POST /files/` (Upload-Length) then sequential PATCHes
   (Upload-Offset, application/offset+octet-stream). Its MB/s includes the per-file POST,
   tus's equivalent of init.
3. the physical limit: `dd if=/dev/zero bs=1M count=512 conv=fsync` in the same filesystem
   (and, for reference, with oflag=dsync: an fsync after every 1 MiB, as per-chunk
   durability requires).
4. one sequential read of the study (1 MiB reads), right after the uploads: the files are
   in the page cache then, so this is a warm read; a cold read (pages evicted with
   posix_fadvise DONTNEED) and a read that also computes SHA-256 and MD5 (the least work
   `complete` must do) are printed for reference. The goal compares `complete` with the
   warm read.

MB are 10^6 bytes throughout. The machine's other load shows in the output (load average,
CPU used by other processes during each transfer): with few cores, anything else running
moves the figures a lot. --rounds N repeats gateway + tus N times and reports medians;
--tus-durable adds a tus run with an fdatasync after every PATCH (durability like the
gateway's), as a reference.

    .venv/bin/python bench/upload_throughput.py [--files 1024] [--file-kib 512] [--keep]
        [--rounds 1] [--tus-durable] [--chunk-kib 1024] [--in-flight 4] [--check]

Exit status: 0 when the run completed (1 if a server failed or answered errors; with
--check, 3 if a goal was missed).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _common import (
    REPO,
    UNLIMITED_LOGINS,
    BenchError,
    cpu_summary,
    create_admin,
    free_port,
    percentile,
    serve,
    sqlite_env,
    terminate_on_sigterm,
)

BENCH = Path(__file__).resolve().parent
WORK = BENCH / ".work"
TUS_DIR = BENCH / "tus"

EMAIL = "bench@example.org"
USERNAME = "bench"
PASSWORD = "orchid-telescope-granite-64"
PATIENT_NAME, STUDY_DATE, DICOM_DATE = "DOE^JANE", "2026-01-15", "20260115"

GOAL_RATIO = 1.0  # gateway MB/s / tus MB/s, at least
GOAL_COMPLETE = 1.5  # complete seconds / sequential read seconds, at most
GOAL_RSS_MB = 200.0  # gateway peak RSS, at most
MB = 1_000_000
READ_BLOCK = 1024 * 1024


# --- the study ------------------------------------------------------------------------


@dataclass(frozen=True)
class Study:
    directory: Path
    paths: list[Path]
    sizes: list[int]

    @property
    def total(self) -> int:
        return sum(self.sizes)


def _cached(directory: Path, files: int) -> Study | None:
    """The study in `directory` if it is complete (manifest, every file at its size)."""
    with contextlib.suppress(OSError, ValueError, KeyError):
        listed = json.loads((directory / "manifest.json").read_text())["files"]
        paths = [directory / f["name"] for f in listed]
        sizes = [int(f["size"]) for f in listed]
        if len(paths) == files and all(
            p.stat().st_size == s for p, s in zip(paths, sizes, strict=True)
        ):
            return Study(directory, paths, sizes)
    return None


def study(files: int, file_kib: int) -> tuple[Study, bool]:
    """The cached study for these dimensions, generated first if absent; (study, generated).

    Other benchmarks share the cache: a study appears by an atomic rename, only complete.
    """
    directory = WORK / "studies" / f"ct-{files}x{file_kib}KiB"
    if (cached := _cached(directory, files)) is not None:
        return cached, False

    sys.path.insert(0, str(REPO))  # tests/ is not installed; the factory lives there
    from tests.dicom_factory import write_study

    directory.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f"{directory.name}.", dir=directory.parent))
    try:
        written = write_study(
            building,
            count=files,
            pixel_bytes=file_kib * 1024,
            patient_name=PATIENT_NAME,
            study_date=DICOM_DATE,
        )
        names = [p.name for p in written.paths]
        sizes = [p.stat().st_size for p in written.paths]
        listed = [{"name": n, "size": z} for n, z in zip(names, sizes, strict=True)]
        (building / "manifest.json").write_text(
            json.dumps({"study_uid": written.study_uid, "files": listed}, indent=1)
        )
        if (cached := _cached(directory, files)) is not None:
            return cached, False  # another run finished the same study meanwhile
        shutil.rmtree(directory, ignore_errors=True)  # an incomplete or damaged cache
        building.rename(directory)
    finally:
        shutil.rmtree(building, ignore_errors=True)  # gone already when renamed
    return Study(directory, [directory / n for n in names], sizes), True


def read_range(path: Path, offset: int, length: int) -> bytes:
    with path.open("rb") as f:
        f.seek(offset)
        return f.read(length)


# --- a process's memory and CPU, from /proc ----------------------------------------------


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise BenchError(f"no {key} in /proc/{pid}/status")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time the whole machine has spent busy (all CPUs, everyone), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    guest = sum(fields[8:10])  # already counted in user and nice
    return (sum(fields) - idle - guest) / os.sysconf("SC_CLK_TCK")


class MemoryWatch:
    """Peak RSS of a process: its VmHWM, plus VmRSS sampled in a thread as a cross-check."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.sampled_peak_kib = 0
        self.hwm_reset = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss-{pid}", daemon=True)

    def reset_peak(self) -> None:
        """Forget the peak so far (e.g. startup's)."""
        self.reset_hwm()
        self.sampled_peak_kib = 0

    def reset_hwm(self) -> None:
        """Writing 5 to clear_refs resets VmHWM to the current RSS."""
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
            self.hwm_reset = True
        except OSError:
            self.hwm_reset = False  # then VmHWM is the peak over the whole lifetime

    def rss_kib(self) -> int:
        return _status_kib(self.pid, "VmRSS")

    def hwm_kib(self) -> int:
        return _status_kib(self.pid, "VmHWM")

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, BenchError):
                self.sampled_peak_kib = max(self.sampled_peak_kib, self.rss_kib())
            self._stop.wait(self.interval)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- the client machinery, shared by both servers ----------------------------------------


def content_md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


@dataclass
class Transfer:
    seconds: float = 0.0
    bytes: int = 0
    latencies: list[float] = field(default_factory=list)  # every request, seconds
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    others_cpu: float = 0.0  # CPU used meanwhile by every other process on the machine

    @property
    def mb_per_s(self) -> float:
        return self.bytes / self.seconds / MB

    def latency_ms(self, pct: float) -> float:
        return percentile(self.latencies, pct) * 1000


# send_file(client, file_index, transfer) uploads one file, its chunks one at a time.
SendFile = Callable[[httpx.AsyncClient, int, Transfer], Awaitable[None]]


def new_client(base_url: str, in_flight: int) -> httpx.AsyncClient:
    """HTTP/1.1 with keep-alive: one reused connection per file in flight."""
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=300.0)


async def transfer_all(
    client: httpx.AsyncClient, files: int, in_flight: int, server_pid: int, send_file: SendFile
) -> Transfer:
    """`in_flight` workers, each taking the next file and sending it to the end."""
    transfer = Transfer()
    pending = iter(range(files))

    async def worker() -> None:
        for index in pending:  # shared iterator: each file goes to exactly one worker
            await send_file(client, index, transfer)

    server_cpu, client_cpu = cpu_seconds(server_pid), time.process_time()
    busy = machine_busy_seconds()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    transfer.seconds = time.perf_counter() - started
    transfer.server_cpu = cpu_seconds(server_pid) - server_cpu
    transfer.client_cpu = time.process_time() - client_cpu
    transfer.others_cpu = max(
        0.0, machine_busy_seconds() - busy - transfer.server_cpu - transfer.client_cpu
    )
    return transfer


async def timed(transfer: Transfer, request: Awaitable[httpx.Response]) -> httpx.Response:
    t0 = time.perf_counter()
    response = await request
    transfer.latencies.append(time.perf_counter() - t0)
    return response


def expect(response: httpx.Response, status: int, what: str) -> httpx.Response:
    if response.status_code != status:
        raise BenchError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    return response


# --- gateway --------------------------------------------------------------------------


@dataclass
class GatewayResult:
    transfer: Transfer
    init_seconds: float
    complete_seconds: float
    complete_cpu: float
    instances: int
    idle_rss_kib: int
    transfer_hwm_kib: int
    complete_hwm_kib: int
    sampled_peak_kib: int
    hwm_reset: bool

    @property
    def peak_hwm_kib(self) -> int:
        return max(self.transfer_hwm_kib, self.complete_hwm_kib)


async def run_gateway(
    base_url: str, pid: int, data: Study, chunk_size: int, in_flight: int
) -> GatewayResult:
    async with new_client(base_url, in_flight) as client:
        login = await client.post("/api/auth/login", json={"login": USERNAME, "password": PASSWORD})
        token = expect(login, 200, "login").json()["access_token"]
        body = {
            "patient_name": PATIENT_NAME,
            "study_date": STUDY_DATE,
            "modality": "CT",
            "service_level": "ROUTINE",
            "files": [
                {"name": p.name, "size": s} for p, s in zip(data.paths, data.sizes, strict=True)
            ],
            "chunk_size": chunk_size,
            "force_upload": True,
        }
        t0 = time.perf_counter()
        init = await client.post(
            "/api/upload/init", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        init_seconds = time.perf_counter() - t0
        created = expect(init, 201, "init").json()
        upload_id, chunk_size = created["upload_id"], created["chunk_size"]
        totals = {f["index"]: f["total_chunks"] for f in created["files"]}
        upload_headers = {"X-Upload-Token": created["upload_token"]}

        async def send_file(client: httpx.AsyncClient, index: int, transfer: Transfer) -> None:
            path, size = data.paths[index], data.sizes[index]
            for chunk in range(totals[index]):
                offset = chunk * chunk_size
                payload = read_range(path, offset, min(chunk_size, size - offset))
                response = await timed(
                    transfer,
                    client.put(
                        f"/api/upload/{upload_id}/chunk",
                        params={"file": index, "index": chunk},
                        content=payload,
                        headers=upload_headers
                        | {
                            "Content-MD5": content_md5(payload),
                            "Content-Type": "application/octet-stream",
                        },
                    ),
                )
                expect(response, 200, f"chunk {chunk} of file {index}")
                transfer.bytes += len(payload)

        with MemoryWatch(pid) as memory:
            idle_rss = memory.rss_kib()
            memory.reset_peak()
            transfer = await transfer_all(client, len(data.paths), in_flight, pid, send_file)
            transfer_hwm = memory.hwm_kib()
            memory.reset_hwm()
            cpu0, t0 = cpu_seconds(pid), time.perf_counter()
            done = await client.post(f"/api/upload/{upload_id}/complete", headers=upload_headers)
            complete_seconds = time.perf_counter() - t0
            complete_cpu = cpu_seconds(pid) - cpu0
            accepted = expect(done, 202, "complete").json()
            complete_hwm = memory.hwm_kib()
        return GatewayResult(
            transfer=transfer,
            init_seconds=init_seconds,
            complete_seconds=complete_seconds,
            complete_cpu=complete_cpu,
            instances=int(accepted["instances"]),
            idle_rss_kib=idle_rss,
            transfer_hwm_kib=transfer_hwm,
            complete_hwm_kib=complete_hwm,
            sampled_peak_kib=memory.sampled_peak_kib,
            hwm_reset=memory.hwm_reset,
        )


# --- tus baseline ---------------------------------------------------------------------


def ensure_tus_installed() -> None:
    if (TUS_DIR / "node_modules" / "@tus" / "server").is_dir() and (
        TUS_DIR / "node_modules" / "@tus" / "file-store"
    ).is_dir():
        return
    command = ["npm", "ci"] if (TUS_DIR / "package-lock.json").exists() else ["npm", "install"]
    print(f"upload_throughput: installing the tus baseline ({' '.join(command)} in bench/tus)")
    result = subprocess.run(
        [*command, "--no-audit", "--no-fund"],
        cwd=TUS_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(f"npm failed in {TUS_DIR}:\n{result.stdout}{result.stderr}")


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@contextlib.contextmanager
def tus_server(directory: Path, *, durable: bool = False) -> Iterator[tuple[str, int]]:
    """Run bench/tus/server.mjs until the block exits; yields (base URL, pid) once it answers."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = directory.parent / f"{directory.name}.log"
    command = ["node", str(TUS_DIR / "server.mjs"), "--port", str(port), "--dir", str(directory)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*command, *(["--durable"] if durable else [])],
            cwd=TUS_DIR,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        with httpx.Client(base_url=base_url, timeout=2.0) as probe:
            while True:
                if process.poll() is not None:
                    raise BenchError(f"tus server exited: {log_path.read_text()[-2000:]}")
                with contextlib.suppress(httpx.TransportError):
                    if probe.options("/files/").status_code == 204:
                        break
                if time.monotonic() > deadline:
                    raise BenchError("tus server did not answer within 30 s")
                time.sleep(0.1)
        yield base_url, process.pid
    finally:
        _stop_group(process)


@dataclass
class TusResult:
    transfer: Transfer
    peak_hwm_kib: int


async def run_tus(
    base_url: str, pid: int, data: Study, chunk_size: int, in_flight: int
) -> TusResult:
    tus = {"Tus-Resumable": "1.0.0"}

    async def send_file(client: httpx.AsyncClient, index: int, transfer: Transfer) -> None:
        path, size = data.paths[index], data.sizes[index]
        name = base64.b64encode(path.name.encode()).decode()
        created = await timed(
            transfer,
            client.post(
                "/files/",
                headers=tus | {"Upload-Length": str(size), "Upload-Metadata": f"filename {name}"},
            ),
        )
        location = expect(created, 201, f"tus creation of file {index}").headers["Location"]
        offset = 0
        while offset < size:
            payload = read_range(path, offset, min(chunk_size, size - offset))
            response = await timed(
                transfer,
                client.patch(
                    location,
                    content=payload,
                    headers=tus
                    | {
                        "Upload-Offset": str(offset),
                        "Content-Type": "application/offset+octet-stream",
                        # Same client work as for the gateway; tus ignores the header.
                        "Content-MD5": content_md5(payload),
                    },
                ),
            )
            expect(response, 204, f"tus PATCH of file {index} at {offset}")
            new_offset = int(response.headers["Upload-Offset"])
            if new_offset != offset + len(payload):
                raise BenchError(f"tus acknowledged offset {new_offset}, sent up to {offset}")
            offset = new_offset
            transfer.bytes += len(payload)

    async with new_client(base_url, in_flight) as client:
        with MemoryWatch(pid) as memory:
            memory.reset_peak()
            transfer = await transfer_all(client, len(data.paths), in_flight, pid, send_file)
            return TusResult(transfer, memory.hwm_kib())


# --- disk and read references ---------------------------------------------------------


def dd_write(target: Path, count: int, flag: str) -> float:
    """MB/s of `dd if=/dev/zero of=target bs=1M count=COUNT <flag>`, from its own report."""
    result = subprocess.run(
        ["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={count}", flag],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    target.unlink(missing_ok=True)
    match = re.search(r"(\d+) bytes .* copied, ([\d.e+-]+) s", result.stderr)
    if result.returncode != 0 or match is None:
        raise BenchError(f"dd failed: {result.stderr.strip()}")
    return int(match.group(1)) / float(match.group(2)) / MB


def sequential_read(paths: list[Path], *, evict: bool = False, digest: bool = False) -> float:
    """Seconds to read every file once, in order, 1 MiB at a time (optionally cold, hashed)."""
    if evict:
        os.sync()
        for path in paths:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
    buffer = bytearray(READ_BLOCK)
    view = memoryview(buffer)
    started = time.perf_counter()
    for path in paths:
        sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
        with path.open("rb", buffering=0) as f:
            while n := f.readinto(buffer):
                if digest:
                    sha.update(view[:n])
                    md5.update(view[:n])
    return time.perf_counter() - started


# --- the run ------------------------------------------------------------------------------


@dataclass
class Round:
    gateway: GatewayResult
    tus: TusResult
    tus_durable: TusResult | None


@dataclass
class Results:
    rounds: list[Round]
    dd_fsync: float
    dd_dsync: float
    read_warm: float
    read_cold: float
    read_hashed: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]


def gateway_round(args: argparse.Namespace, data: Study, directory: Path) -> GatewayResult:
    directory.mkdir()
    env = sqlite_env(directory, **UNLIMITED_LOGINS)
    create_admin(env, cwd=directory, email=EMAIL, username=USERNAME, password=PASSWORD)
    os.sync()  # start every phase without someone else's dirty pages being written back
    with serve(env, cwd=directory) as server:
        gateway = asyncio.run(
            run_gateway(
                server.base_url, server.process.pid, data, args.chunk_kib * 1024, args.in_flight
            )
        )
        server.check_alive()
    if gateway.instances != len(data.paths):
        raise BenchError(f"complete recorded {gateway.instances} instances, not {len(data.paths)}")
    return gateway


def tus_round(args: argparse.Namespace, data: Study, directory: Path, durable: bool) -> TusResult:
    os.sync()
    with tus_server(directory, durable=durable) as (base_url, pid):
        return asyncio.run(run_tus(base_url, pid, data, args.chunk_kib * 1024, args.in_flight))


def run(args: argparse.Namespace, data: Study, run_dir: Path) -> Results:
    load_before = os.getloadavg()
    ensure_tus_installed()
    rounds = []
    for n in range(1, args.rounds + 1):
        gateway = gateway_round(args, data, run_dir / f"gateway-{n}")
        tus = tus_round(args, data, run_dir / f"tus-{n}", durable=False)
        durable = (
            tus_round(args, data, run_dir / f"tus-durable-{n}", True) if args.tus_durable else None
        )
        rounds.append(Round(gateway, tus, durable))
        if not args.keep:  # the next round needs the disk space more than we need the data
            drop_uploaded_data(run_dir)

    os.sync()
    dd_fsync = dd_write(run_dir / "dd.bin", 512, "conv=fsync")
    dd_dsync = dd_write(run_dir / "dd.bin", 128, "oflag=dsync")
    read_warm = sequential_read(data.paths)
    read_hashed = sequential_read(data.paths, digest=True)
    read_cold = sequential_read(data.paths, evict=True)
    return Results(
        rounds,
        dd_fsync,
        dd_dsync,
        read_warm,
        read_cold,
        read_hashed,
        load_before,
        os.getloadavg(),
    )


def code_version() -> str:
    """The gateway code measured: commit, and whether the working tree differs from it."""
    git = ["git", "-C", str(REPO)]
    try:
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no", "--", "backend"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return f"{head}{' + uncommitted changes in backend/' if dirty else ''}"


def median(values: list[float]) -> float:
    return percentile(values, 50)


def report(args: argparse.Namespace, data: Study, r: Results) -> list[str]:
    """Print the table (medians over the rounds; the worst RSS); return the goals missed."""
    gateway_mbps = median([x.gateway.transfer.mb_per_s for x in r.rounds])
    tus_mbps = median([x.tus.transfer.mb_per_s for x in r.rounds])
    ratio = median([x.gateway.transfer.mb_per_s / x.tus.transfer.mb_per_s for x in r.rounds])
    complete = median([x.gateway.complete_seconds for x in r.rounds])
    complete_ratio = complete / r.read_warm
    rss_mb = max(x.gateway.peak_hwm_kib for x in r.rounds) * 1024 / MB
    missed = []

    def verdict(ok: bool, name: str) -> str:
        if not ok:
            missed.append(name)
        return "met" if ok else "MISSED"

    print(f"upload_throughput: {cpu_summary()}; gateway code {code_version()}")
    print(
        f"  study: {len(data.paths)} CT files of ≈{args.file_kib} KiB, {data.total / MB:.1f} MB "
        f"({data.total / 2**20:.1f} MiB); chunks of {args.chunk_kib} KiB, "
        f"{args.in_flight} files in flight, one chunk at a time per file; MB = 10^6 bytes"
    )
    load = ", ".join(f"{a:.2f} → {b:.2f}" for a, b in zip(r.load_before, r.load_after, strict=True))
    print(f"  load average (1, 5, 15 min) before → after: {load}")
    if len(r.rounds) > 1:
        print(f"  {len(r.rounds)} rounds: medians (ratio: median of the rounds' ratios), worst RSS")
    rows = [
        ("gateway transfer (MB/s)", f"{gateway_mbps:.1f}", "", ""),
        ("tus baseline transfer (MB/s)", f"{tus_mbps:.1f}", "", ""),
        (
            "ratio gateway / tus",
            f"{ratio:.2f}",
            f"≥ {GOAL_RATIO:g}",
            verdict(ratio >= GOAL_RATIO, "ratio gateway/tus"),
        ),
        ("disk write, dd conv=fsync (MB/s)", f"{r.dd_fsync:.1f}", "", ""),
        ("complete (s)", f"{complete:.2f}", "", ""),
        ("sequential read of the study (s)", f"{r.read_warm:.2f}", "", ""),
        (
            "ratio complete / sequential read",
            f"{complete_ratio:.2f}",
            f"≤ {GOAL_COMPLETE:g}",
            verdict(complete_ratio <= GOAL_COMPLETE, "complete/read"),
        ),
        (
            "gateway peak RSS (MB)",
            f"{rss_mb:.1f}",
            f"≤ {GOAL_RSS_MB:g}",
            verdict(rss_mb <= GOAL_RSS_MB, "peak RSS"),
        ),
    ]
    print(f"{'':<36}{'value':>10}  {'goal':<7} ")
    for label, value, goal, outcome in rows:
        print(f"{label:<36}{value:>10}  {goal:<7} {outcome}".rstrip())

    print("details:")
    for n, x in enumerate(r.rounds, 1):
        g = x.gateway
        prefix = f"  round {n}: " if len(r.rounds) > 1 else "  "
        transfers = [("gateway", g.transfer), ("tus", x.tus.transfer)]
        if x.tus_durable is not None:
            transfers.append(("tus+sync", x.tus_durable.transfer))
        for name, t in transfers:
            print(
                f"{prefix}{name:<8} {t.mb_per_s:6.1f} MB/s, chunk phase {t.seconds:.2f} s, "
                f"{len(t.latencies)} requests, latency p50 {t.latency_ms(50):.1f} ms / "
                f"p99 {t.latency_ms(99):.1f} ms; CPU s: server {t.server_cpu:.2f}, "
                f"client {t.client_cpu:.2f}, other processes {t.others_cpu:.2f}"
            )
        print(
            f"{prefix}gateway  init {g.init_seconds:.2f} s (not in its MB/s; tus's per-file "
            f"POSTs are in its own); complete {g.complete_seconds:.2f} s for {g.instances} "
            f"instances, server CPU {g.complete_cpu:.2f} s"
        )
        print(
            f"{prefix}gateway  RSS: idle {g.idle_rss_kib * 1024 / MB:.1f} MB before the "
            f"transfer; peak {g.transfer_hwm_kib * 1024 / MB:.1f} MB during the transfer, "
            f"{g.complete_hwm_kib * 1024 / MB:.1f} MB during complete (VmHWM"
            f"{', reset before each' if g.hwm_reset else ', lifetime'}); sampled VmRSS peak "
            f"{g.sampled_peak_kib * 1024 / MB:.1f} MB; tus (node) peak "
            f"{x.tus.peak_hwm_kib * 1024 / MB:.1f} MB"
        )
    print(
        "  tus's file store never fsyncs (a PATCH is acknowledged from the page cache); the "
        "gateway acknowledges a chunk only after fdatasync and SQLite commits (synchronous=FULL)"
        + (
            "; tus+sync: tus with an fdatasync per PATCH, a reference only"
            if args.tus_durable
            else ""
        )
    )
    print(f"  disk write, dd oflag=dsync (fsync per 1 MiB): {r.dd_dsync:.1f} MB/s")
    print(
        f"  sequential read: {r.read_warm:.2f} s warm (page cache: the files were just read by "
        f"the uploads), {r.read_cold:.2f} s cold (evicted with fadvise DONTNEED), "
        f"{r.read_hashed:.2f} s warm with SHA-256 + MD5 (complete / that "
        f"{complete / r.read_hashed:.2f}); complete reads its stored copy, also in the page cache"
    )
    print(
        "  'other processes': CPU used during the transfer by everything else on the machine "
        "(other jobs competing for the same CPUs make the figures noisy)"
    )
    return missed


def drop_uploaded_data(run_dir: Path) -> None:
    """Remove the bulky part of a run directory (stored uploads, dd file); logs stay."""
    for path in [*run_dir.glob("gateway-*/storage"), *run_dir.glob("tus*/"), run_dir / "dd.bin"]:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1024, help="CT instances (1024)")
    parser.add_argument("--file-kib", type=int, default=512, help="≈ size of each, KiB (512)")
    parser.add_argument("--chunk-kib", type=int, default=1024, help="chunk size, KiB (1024)")
    parser.add_argument("--in-flight", type=int, default=4, help="files in flight (4)")
    parser.add_argument(
        "--rounds", type=int, default=1, help="gateway + tus runs, medians reported (1)"
    )
    parser.add_argument(
        "--tus-durable",
        action="store_true",
        help="also run tus with an fdatasync after every PATCH (reference point)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the run directory (servers' data and logs)"
    )
    parser.add_argument("--check", action="store_true", help="exit 3 when a goal is missed")
    args = parser.parse_args()
    if min(args.files, args.file_kib, args.chunk_kib, args.in_flight, args.rounds) < 1:
        parser.error("--files, --file-kib, --chunk-kib, --in-flight and --rounds must be >= 1")

    WORK.mkdir(parents=True, exist_ok=True)
    with terminate_on_sigterm():
        started = time.perf_counter()
        data, generated = study(args.files, args.file_kib)
        print(
            f"upload_throughput: study {'generated' if generated else 'reused'} in "
            f"{data.directory.relative_to(REPO)} ({time.perf_counter() - started:.1f} s)"
        )
        run_dir = Path(tempfile.mkdtemp(prefix="upload-run-", dir=WORK))
        keep = args.keep
        try:
            results = run(args, data, run_dir)
        except BenchError as exc:
            print(f"upload_throughput: {exc}", file=sys.stderr)
            if not keep:  # keep the servers' logs for diagnosis, not the uploaded copies
                drop_uploaded_data(run_dir)
                keep = True
            return 1
        finally:
            if keep:
                print(f"upload_throughput: run directory kept: {run_dir}", file=sys.stderr)
            else:
                shutil.rmtree(run_dir, ignore_errors=True)
    missed = report(args, data, results)
    return 3 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
