"""The soak of issue 16, full length: tests/cluster/test_soak.py run with long settings.

Three `relaypacs serve` replicas on one PostgreSQL, Redis and moto S3 behind nginx
(tests/cluster/stack.py), Orthanc as the PACS behind a fault proxy. By default 200 studies
of 1–200 instances (pixel data 4–128 KiB per instance, log-uniform) are uploaded by 20
concurrent clients through the balancer for at least 600 s (clients keep starting new
studies until both the count is reached and the time has passed), while a chaos loop
SIGKILLs a random replica every 20–40 s and restarts it 1–3 s later, restarts Redis once
and PostgreSQL once (a 1–2 s gap each) and flaps the PACS (3 s up, 2 s down) for most of
the run. Then it waits for every accepted upload to settle and checks Orthanc.

The report (JSON; the figures are explained in tests/cluster/soak.py): studies sent,
delivered, lost (goal 0), SHA-256 mismatches in Orthanc (goal 0), duplicate deliveries
after success from the forward receipts (goal 0), 5xx other than 502/503/504 seen by the
clients (goal 0), p50/p99 chunk latency, time from the last fault to the last delivery,
and the faults done. It is written to bench/.work/soak/report-<time>.json (or --report).

    .venv/bin/python bench/soak.py [--seconds 600] [--studies 200] [--clients 20]
        [--max-instances 200] [--max-pixel-kib 128] [--kill-every 20,40] [--seed N]
        [--drain-seconds 900] [--report PATH] [--quick]

--quick is the bounded version of `make test` (60 s, 12 studies, 4 clients, 1–12
instances, kills every 15–25 s).

Exit status: pytest's (0 when every goal held, 1 when one was missed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / ".work" / "soak"
PYTHON = REPO / ".venv" / "bin" / "python"
if not PYTHON.exists():  # a git worktree without its own venv: the running one's
    PYTHON = Path(sys.executable)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600, help="chaos and load, s (600)")
    parser.add_argument("--studies", type=int, default=200, help="at least this many (200)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (20)")
    parser.add_argument("--max-instances", type=int, default=200, help="per study (200)")
    parser.add_argument("--max-pixel-kib", type=int, default=128, help="per instance (128)")
    parser.add_argument("--kill-every", default="20,40", help="min,max s between kills")
    parser.add_argument("--seed", type=int, help="the chaos and sizes' random seed")
    parser.add_argument("--drain-seconds", type=float, default=900, help="wait to settle")
    parser.add_argument("--report", type=Path, help="where to write the JSON report")
    parser.add_argument("--quick", action="store_true", help="the bounded `make test` soak")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.studies, args.clients, args.max_instances = 60, 12, 4, 12
        args.max_pixel_kib, args.kill_every, args.drain_seconds = 256, "15,25", 300
    low, _, high = args.kill_every.partition(",")
    try:
        if not 0 < float(low) <= float(high or low):
            raise ValueError
    except ValueError:
        parser.error("--kill-every must be min,max seconds with 0 < min <= max")
    if min(args.seconds, args.studies, args.clients, args.max_instances) <= 0:
        parser.error("--seconds, --studies, --clients and --max-instances must be > 0")

    WORK.mkdir(parents=True, exist_ok=True)
    report = args.report or WORK / f"report-{time.strftime('%Y%m%d-%H%M%S')}.json"
    report = report.resolve()
    env = os.environ | {
        "SOAK_SECONDS": str(args.seconds),
        "SOAK_STUDIES": str(args.studies),
        "SOAK_CLIENTS": str(args.clients),
        "SOAK_MAX_INSTANCES": str(args.max_instances),
        "SOAK_MAX_PIXEL_KIB": str(args.max_pixel_kib),
        "SOAK_KILL_EVERY": f"{low},{high or low}",
        "SOAK_DRAIN_SECONDS": str(args.drain_seconds),
        "SOAK_REPORT": str(report),
    }
    if args.seed is not None:
        env["SOAK_SEED"] = str(args.seed)
    # pytest.ini fails a test after 10 min; the long soak gets its length plus an hour.
    timeout = int(args.seconds + args.drain_seconds + 3600)
    argv = [str(PYTHON), "-m", "pytest", "tests/cluster/test_soak.py", "-s", f"--timeout={timeout}"]
    print(
        f"soak: {args.studies}+ studies (1–{args.max_instances} instances), {args.clients} "
        f"clients, ≥ {args.seconds:.0f} s, kills every {low}–{high or low} s",
        flush=True,
    )
    started = time.monotonic()
    status = subprocess.run(argv, cwd=REPO, env=env, check=False).returncode
    print(f"soak: pytest exited {status} after {time.monotonic() - started:.0f} s")
    if report.exists():
        figures = json.loads(report.read_text())
        missed = [
            name
            for name, bad in (
                ("lost", figures["lost"]),
                ("sha_mismatches", figures["sha_mismatches"]),
                ("duplicate_deliveries", figures["duplicate_deliveries"]),
                ("unexpected_5xx", len(figures["unexpected_5xx"])),
                ("not_accepted", len(figures["not_accepted"])),
            )
            if bad
        ]
        print(
            f"soak: sent {figures['sent']}, delivered {figures['delivered']}, lost "
            f"{figures['lost']}, chunk p50/p99 {figures['chunk_p50_s']}/"
            f"{figures['chunk_p99_s']} s; goals missed: {', '.join(missed) or 'none'}"
        )
        print(f"soak: report written to {report}")
    else:
        print(f"soak: no report at {report} (the run failed before its verdict)")
    return status


if __name__ == "__main__":
    sys.exit(main())
