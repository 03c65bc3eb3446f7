"""The same stock tus client, tuspy, against the gateway's tus endpoint and @tus/server.

Uses upload_throughput.py's cached study (default 1,024 CT files of ≈ 512 KiB) and its
@tus/server baseline (bench/tus/). Each side gets the same files through tuspy's
`Uploader` (PATCHes of --chunk-kib, --in-flight files at a time on threads: tuspy is
synchronous), so the ratio compares the servers alone:

1. gateway: a real `relaypacs serve` on SQLite and local storage. `POST /api/upload/init`
   (not in the MB/s, as in upload_throughput.py), then per file a tuspy upload to
   `/api/tus/` with `upload_id`/`file_index` metadata and the upload token; `complete`
   afterwards must accept every instance (the bytes are checked, not only counted).
2. @tus/server with @tus/file-store (its own creation POST per file is in its MB/s).

    .venv/bin/python bench/tuspy_throughput.py [--files 1024] [--file-kib 512]
        [--chunk-kib 1024] [--in-flight 4] [--check]

Exit status: 0 when the run completed (1 if a server failed; with --check, 3 if the
gateway's MB/s is below @tus/server's).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from _common import (
    UNLIMITED_LOGINS,
    BenchError,
    create_admin,
    serve,
    sqlite_env,
    terminate_on_sigterm,
)
from tusclient import client as tus_client
from upload_throughput import (
    EMAIL,
    PASSWORD,
    PATIENT_NAME,
    STUDY_DATE,
    USERNAME,
    WORK,
    Study,
    cpu_seconds,
    ensure_tus_installed,
    study,
    tus_server,
)

GOAL_RATIO = 1.0
MB = 1_000_000


def _send_all(data: Study, uploader_for: object, in_flight: int) -> float:
    """Upload every file (in_flight at a time); the wall time in seconds."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        list(pool.map(lambda index: uploader_for(index).upload(), range(len(data.paths))))  # type: ignore[operator]
    return time.perf_counter() - started


def run_gateway(data: Study, directory: Path, chunk: int, in_flight: int) -> tuple[float, float]:
    """(MB/s, server CPU seconds) through the gateway's tus endpoint."""
    env = sqlite_env(directory / "data", FORWARD_WORKERS="0", **UNLIMITED_LOGINS)
    directory.mkdir(parents=True, exist_ok=True)
    create_admin(env, cwd=directory, email=EMAIL, username=USERNAME, password=PASSWORD)
    with (
        serve(env, cwd=directory) as server,
        httpx.Client(base_url=server.base_url, timeout=60) as api,
    ):
        login = api.post("/api/auth/login", json={"login": USERNAME, "password": PASSWORD})
        bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        files = [{"name": p.name, "size": s} for p, s in zip(data.paths, data.sizes, strict=True)]
        init = api.post(
            "/api/upload/init",
            json={
                "patient_name": PATIENT_NAME,
                "study_date": STUDY_DATE,
                "modality": "CT",
                "service_level": "ROUTINE",
                "files": files,
                "force_upload": True,
            },
            headers=bearer,
        )
        if init.status_code != 201:
            raise BenchError(f"init: {init.status_code} {init.text[:300]}")
        created = init.json()
        tus = tus_client.TusClient(
            f"{server.base_url}/api/tus/", headers={"X-Upload-Token": created["upload_token"]}
        )

        def uploader_for(index: int) -> object:
            return tus.uploader(
                str(data.paths[index]),
                chunk_size=chunk,
                metadata={
                    "upload_id": created["upload_id"],
                    "file_index": str(index),
                    "filename": data.paths[index].name,
                },
            )

        pid = server.process.pid
        cpu0 = cpu_seconds(pid)
        seconds = _send_all(data, uploader_for, in_flight)
        cpu = cpu_seconds(pid) - cpu0
        done = api.post(
            f"/api/upload/{created['upload_id']}/complete",
            headers={"X-Upload-Token": created["upload_token"]},
        )
        if done.status_code != 202 or done.json()["instances"] != len(data.paths):
            raise BenchError(f"complete: {done.status_code} {done.text[:300]}")
    return data.total / MB / seconds, cpu


def run_tus(data: Study, directory: Path, chunk: int, in_flight: int) -> tuple[float, float]:
    """(MB/s, server CPU seconds) through @tus/server."""
    ensure_tus_installed()
    with tus_server(directory) as (base_url, pid):
        tus = tus_client.TusClient(f"{base_url}/files/")

        def uploader_for(index: int) -> object:
            return tus.uploader(
                str(data.paths[index]),
                chunk_size=chunk,
                metadata={"filename": data.paths[index].name},
            )

        cpu0 = cpu_seconds(pid)
        seconds = _send_all(data, uploader_for, in_flight)
        return data.total / MB / seconds, cpu_seconds(pid) - cpu0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1024)
    parser.add_argument("--file-kib", type=int, default=512)
    parser.add_argument("--chunk-kib", type=int, default=1024, help="tuspy's PATCH size")
    parser.add_argument("--in-flight", type=int, default=4, help="files sent at once")
    parser.add_argument("--check", action="store_true", help="exit 3 when the goal is missed")
    args = parser.parse_args()
    data, _ = study(args.files, args.file_kib)
    chunk = args.chunk_kib * 1024
    WORK.mkdir(parents=True, exist_ok=True)
    with terminate_on_sigterm(), tempfile.TemporaryDirectory(dir=WORK) as tmp:
        try:
            gateway, gateway_cpu = run_gateway(data, Path(tmp) / "gateway", chunk, args.in_flight)
            tus, tus_cpu = run_tus(data, Path(tmp) / "tus", chunk, args.in_flight)
        except BenchError as exc:
            print(f"tuspy_throughput: {exc}", file=sys.stderr)
            return 1
    ratio = gateway / tus
    met = "met" if ratio >= GOAL_RATIO else "MISSED"
    print(
        f"tuspy, {len(data.paths)} files ({data.total / MB:.1f} MB), PATCHes of {args.chunk_kib} KiB,"
    )
    print(f"{args.in_flight} files in flight; one gateway process, one Node process")
    print(f"{'gateway /api/tus/ (MB/s)':<36}{gateway:>8.1f}   server CPU {gateway_cpu:.2f} s")
    print(f"{'@tus/server (MB/s)':<36}{tus:>8.1f}   server CPU {tus_cpu:.2f} s")
    print(f"{'ratio gateway / tus':<36}{ratio:>8.2f}   goal ≥ {GOAL_RATIO:g}  {met}")
    return 3 if args.check and ratio < GOAL_RATIO else 0


if __name__ == "__main__":
    sys.exit(main())
