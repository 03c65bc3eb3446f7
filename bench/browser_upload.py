"""Upload throughput of the web app in headless Chromium against the Python client, and the
browser's JS heap for a small and a large study.

One real `relaypacs serve` (SQLite, local storage, serving the built web app from
frontend/dist) takes, in this order and with the same settings (1 MiB chunks, 4 in flight):

1. the web app in Chromium with the small study (below);
2. the Python client of bench/upload_throughput.py (httpx, 4 files in flight, Content-MD5,
   X-Upload-Token) with the large study: MB/s over its chunk phase;
3. the web app with the large study;
4. the Python client again. Its figure is the mean of runs 2 and 4, which bracket run 3: the
   machine's other load drifts, and with 2 cores it moves the figures a lot.

The web app in Chromium (frontend/e2e/upload-bench.mjs, playwright-core driving
/usr/bin/chromium, a fresh persistent profile each time): sign in, choose the study's files
with the file picker, "Upload now", wait until the upload shows as sent. MB/s over the chunk
phase (first chunk PUT to last chunk answer) — comparable with the Python figure — and, for
reference, from the click to "sent" (which also includes saving the files in IndexedDB, init,
and complete).

The studies are the synthetic CT studies of bench/upload_throughput.py (default 1,024 × 512 KiB
≈ 512 MiB, and 64 × 512 KiB for the small one), generated once and cached in
bench/.work/studies/; they are read once before the runs so both clients find them in the page
cache. The JS heap (CDP Performance.getMetrics JSHeapUsedSize) is sampled every 200 ms during
each browser upload; its peak should not grow with the study's size.

    .venv/bin/python bench/browser_upload.py [--files 1024] [--small-files 64] [--file-kib 512]
        [--chunk-kib 1024] [--in-flight 4] [--quick] [--keep] [--check]

--quick uses 128 and 16 files. MB = 10^6 bytes. Exit status: 0 when the run completed (1 when a
server or the browser failed; with --check, 3 if a goal was missed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from _common import (
    REPO,
    UNLIMITED_LOGINS,
    BenchError,
    CpuMonitor,
    cpu_summary,
    create_admin,
    serve,
    sqlite_env,
    terminate_on_sigterm,
)
from upload_throughput import (
    EMAIL,
    MB,
    PASSWORD,
    USERNAME,
    WORK,
    GatewayResult,
    Study,
    code_version,
    run_gateway,
    sequential_read,
    study,
)

FRONTEND = REPO / "frontend"
SCENARIO = FRONTEND / "e2e" / "upload-bench.mjs"
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))

GOAL_RATIO = 0.9  # browser MB/s / Python client MB/s, at least
GOAL_HEAP_GROWTH = 1.5  # peak JS heap, large study / small study, at most ("flat")


@dataclass
class BrowserResult:
    files: int
    bytes: int
    raw: dict[str, Any]
    cpu: str

    @property
    def chunk_phase_mb_per_s(self) -> float:
        return self.bytes / float(self.raw["chunkPhaseSeconds"]) / MB

    @property
    def end_to_end_mb_per_s(self) -> float:
        return self.bytes / float(self.raw["totalSeconds"]) / MB

    @property
    def peak_heap_mb(self) -> float:
        return float(self.raw["heap"]["peak"]["used"]) / MB

    @property
    def baseline_heap_mb(self) -> float:
        return float(self.raw["heap"]["baseline"]["used"]) / MB


def build_frontend() -> Path:
    if shutil.which("node") is None:
        raise BenchError("node is not installed")
    if not CHROMIUM.exists():
        raise BenchError(f"{CHROMIUM} missing (apt-get install -y chromium)")
    result = subprocess.run(
        ["make", "-s", "frontend"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(f"building the frontend failed:\n{result.stdout}{result.stderr}")
    return FRONTEND / "dist"


def prepare_user(base_url: str, chunk_size: int) -> None:
    """The web app lets the server choose the chunk size from the preferences; the same studies
    go several times, so the duplicate check is off (the Python client sends force_upload)."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        login = client.post("/api/auth/login", json={"login": USERNAME, "password": PASSWORD})
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        client.patch(
            "/api/me/preferences",
            json={"chunk_size": chunk_size, "duplicate_check": False},
            headers=headers,
        ).raise_for_status()


def run_browser(base_url: str, server_pid: int, data: Study, run_dir: Path) -> BrowserResult:
    artifacts = run_dir / f"browser-{len(data.paths)}"
    artifacts.mkdir()
    file_list = artifacts / "files.json"
    file_list.write_text(json.dumps([str(p) for p in data.paths]))
    env = dict(os.environ)
    env.update(
        E2E_BASE_URL=base_url,
        E2E_ARTIFACTS=str(artifacts),
        E2E_CHROMIUM=str(CHROMIUM),
        E2E_USER_DATA_ROOT=str(artifacts / "profiles"),
        BENCH_FILE_LIST=str(file_list),
        BENCH_USERNAME=USERNAME,
        BENCH_PASSWORD=PASSWORD,
    )
    monitor = CpuMonitor(server_pid)
    monitor.start()
    result = subprocess.run(
        ["node", str(SCENARIO)],
        cwd=FRONTEND,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    usage = monitor.stop()
    (artifacts / "stderr.log").write_text(result.stderr)
    if result.returncode != 0:
        raise BenchError(
            f"browser run failed ({result.returncode}):\n{result.stderr[-4000:]}\n"
            f"(artifacts in {artifacts})"
        )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    raw: dict[str, Any] = json.loads(lines[-1])
    if raw["chunkOk"] < raw["chunkRequests"] or raw["files"] != len(data.paths):
        raise BenchError(f"browser run incomplete: {raw}")
    shutil.rmtree(artifacts / "profiles", ignore_errors=True)  # the IndexedDB copy of the study
    return BrowserResult(
        files=len(data.paths),
        bytes=data.total,
        raw=raw,
        cpu=usage.describe() if usage else "n/a",
    )


@dataclass
class Results:
    python_before: GatewayResult
    python_after: GatewayResult
    small: BrowserResult
    large: BrowserResult

    @property
    def python_mb_per_s(self) -> float:
        """Mean of the Python runs just before and just after the browser's: the machine's
        load drifts (other jobs share its CPUs), and this brackets the browser run."""
        return (self.python_before.transfer.mb_per_s + self.python_after.transfer.mb_per_s) / 2


def run(args: argparse.Namespace, large: Study, small: Study, run_dir: Path) -> Results:
    dist = build_frontend()
    directory = run_dir / "gateway"
    directory.mkdir()
    env = sqlite_env(
        directory,
        **UNLIMITED_LOGINS,
        FRONTEND_DIST=str(dist),
    )
    create_admin(env, cwd=directory, email=EMAIL, username=USERNAME, password=PASSWORD)
    chunk_size = args.chunk_kib * 1024
    for data in (large, small):
        sequential_read(data.paths)  # both clients start with the study in the page cache
    os.sync()
    with serve(env, cwd=directory) as server:
        prepare_user(server.base_url, chunk_size)

        def python_run() -> GatewayResult:
            result = asyncio.run(
                run_gateway(server.base_url, server.process.pid, large, chunk_size, args.in_flight)
            )
            server.check_alive()
            os.sync()
            return result

        small_run = run_browser(server.base_url, server.process.pid, small, run_dir)
        os.sync()
        before = python_run()
        large_run = run_browser(server.base_url, server.process.pid, large, run_dir)
        server.check_alive()
        os.sync()
        after = python_run()
    return Results(before, after, small_run, large_run)


def report(args: argparse.Namespace, large: Study, small: Study, r: Results) -> list[str]:
    python_mbps = r.python_mb_per_s
    browser_mbps = r.large.chunk_phase_mb_per_s
    ratio = browser_mbps / python_mbps
    heap_growth = r.large.peak_heap_mb / r.small.peak_heap_mb
    missed: list[str] = []

    def verdict(ok: bool, name: str) -> str:
        if not ok:
            missed.append(name)
        return "met" if ok else "MISSED"

    print(f"browser_upload: {cpu_summary()}; gateway code {code_version()}")
    print(
        f"  large study: {len(large.paths)} CT files, {large.total / MB:.1f} MB; small study: "
        f"{len(small.paths)} files, {small.total / MB:.1f} MB; chunks of {args.chunk_kib} KiB, "
        f"{args.in_flight} in flight; MB = 10^6 bytes; Chromium {CHROMIUM}"
    )
    rows = [
        ("Python client transfer, mean (MB/s)", f"{python_mbps:.1f}", "", ""),
        ("browser transfer, chunk phase (MB/s)", f"{browser_mbps:.1f}", "", ""),
        (
            "ratio browser / Python client",
            f"{ratio:.2f}",
            f"≥ {GOAL_RATIO:g}",
            verdict(ratio >= GOAL_RATIO, "ratio browser/python"),
        ),
        ("browser, click → sent (MB/s)", f"{r.large.end_to_end_mb_per_s:.1f}", "", ""),
        (f"peak JS heap, {len(small.paths)} files (MB)", f"{r.small.peak_heap_mb:.1f}", "", ""),
        (f"peak JS heap, {len(large.paths)} files (MB)", f"{r.large.peak_heap_mb:.1f}", "", ""),
        (
            "ratio peak heap large / small",
            f"{heap_growth:.2f}",
            f"≤ {GOAL_HEAP_GROWTH:g}",
            verdict(heap_growth <= GOAL_HEAP_GROWTH, "flat heap"),
        ),
    ]
    print(f"{'':<40}{'value':>10}  {'goal':<7} ")
    for label, value, goal, outcome in rows:
        print(f"{label:<40}{value:>10}  {goal:<7} {outcome}".rstrip())
    print("details:")
    for name, run in (("before", r.python_before), ("after", r.python_after)):
        t = run.transfer
        print(
            f"  python {name:<6} the browser's large run: {t.mb_per_s:6.1f} MB/s, chunk phase "
            f"{t.seconds:.2f} s, {len(t.latencies)} requests, latency p50 "
            f"{t.latency_ms(50):.1f} ms / p99 {t.latency_ms(99):.1f} ms; CPU s: server "
            f"{t.server_cpu:.2f}, client {t.client_cpu:.2f}, other processes {t.others_cpu:.2f}"
        )
    for name, b in (("small", r.small), ("large", r.large)):
        raw = b.raw
        print(
            f"  browser {name}: {b.files} files, {raw['chunkRequests']} chunk PUTs; choose files "
            f"{raw['selectSeconds']:.2f} s (DICM check + header); click → first chunk "
            f"{raw['startSeconds']:.2f} s (IndexedDB save, init, status); chunk phase "
            f"{raw['chunkPhaseSeconds']:.2f} s = {b.chunk_phase_mb_per_s:.1f} MB/s; last chunk "
            f"→ sent {raw['completeSeconds']:.2f} s (complete); total {raw['totalSeconds']:.2f} s"
        )
        heap = raw["heap"]
        print(
            f"  browser {name}: JS heap used {b.baseline_heap_mb:.1f} MB after sign-in (after a "
            f"GC), {heap['afterSelection']['used'] / MB:.1f} MB with the files chosen, peak "
            f"{b.peak_heap_mb:.1f} MB over {heap['samples']} samples; CPU during the run: {b.cpu}"
        )
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1024, help="large study, files (1024)")
    parser.add_argument("--small-files", type=int, default=64, help="small study, files (64)")
    parser.add_argument("--file-kib", type=int, default=512, help="≈ size of each, KiB (512)")
    parser.add_argument("--chunk-kib", type=int, default=1024, help="chunk size, KiB (1024)")
    parser.add_argument("--in-flight", type=int, default=4, help="Python: files in flight (4)")
    parser.add_argument("--quick", action="store_true", help="128 and 16 files")
    parser.add_argument("--keep", action="store_true", help="keep the run directory")
    parser.add_argument("--check", action="store_true", help="exit 3 when a goal is missed")
    args = parser.parse_args()
    if args.quick:
        args.files, args.small_files = 128, 16
    if min(args.files, args.small_files, args.file_kib, args.chunk_kib, args.in_flight) < 1:
        parser.error("sizes and counts must be >= 1")

    WORK.mkdir(parents=True, exist_ok=True)
    with terminate_on_sigterm():
        started = time.perf_counter()
        large, _ = study(args.files, args.file_kib)
        small, _ = study(args.small_files, args.file_kib)
        print(f"browser_upload: studies ready ({time.perf_counter() - started:.1f} s)")
        run_dir = Path(tempfile.mkdtemp(prefix="browser-run-", dir=WORK))
        keep = args.keep
        try:
            results = run(args, large, small, run_dir)
        except BenchError as exc:
            print(f"browser_upload: {exc}", file=sys.stderr)
            shutil.rmtree(run_dir / "gateway" / "storage", ignore_errors=True)
            print(f"browser_upload: run directory kept: {run_dir}", file=sys.stderr)
            return 1
    if keep:
        print(f"browser_upload: run directory kept: {run_dir}")
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
    missed = report(args, large, small, results)
    return 3 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
