"""`make bench`: run every benchmark in turn and print one summary of their goals.

Each benchmark prints its own report (kept in full under bench/.work/last/NAME.log); a
line of a report that judges a goal ends in "met" or "MISSED" (any case). The summary
lists those lines per benchmark, then whether each benchmark finished. Benchmarks run one
after another (never two at once: the machine is small and the figures are ratios
measured in one run).

    .venv/bin/python bench/run_all.py [--only NAME[,NAME...]] [--quick]

--quick passes each benchmark its own smaller-run options where it has them. Exit
status: 0 when every benchmark finished and met its goals, 3 when a goal was missed, 1
when a benchmark failed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
LAST = BENCH / ".work" / "last"
# In the order of the issues they answer; soak.py and scaling.py are long and run alone.
BENCHMARKS: dict[str, list[str]] = {
    "upload_throughput": [],
    "tuspy_throughput": [],
    "browser_upload": [],
    "forward_throughput": [],
    "notify_latency": [],
    "login_latency": [],
    "stats_latency": [],
}
QUICK: dict[str, list[str]] = {
    "upload_throughput": ["--files", "256"],
    "tuspy_throughput": ["--files", "256"],
    "browser_upload": ["--quick"],
    "forward_throughput": ["--instances", "100", "--skip-big"],
    "notify_latency": ["--changes", "100"],
    "login_latency": ["--duration", "5"],
    "stats_latency": ["--uploads", "10000", "--seconds", "5", "--repeat", "1"],
}
VERDICT = re.compile(r"\b(met|missed)\s*$", re.IGNORECASE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated benchmark names")
    parser.add_argument("--quick", action="store_true", help="smaller runs where offered")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    LAST.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str]] = []
    finished: dict[str, str] = {}
    for name in names:
        options = BENCHMARKS[name] + (QUICK.get(name, []) if args.quick else [])
        command = [sys.executable, str(BENCH / f"{name}.py"), *options]
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        started = time.monotonic()
        run = subprocess.run(command, check=False, cwd=BENCH.parent, capture_output=True, text=True)
        output = run.stdout + run.stderr
        (LAST / f"{name}.log").write_text(output)
        print(run.stdout, flush=True)
        finished[name] = f"exit {run.returncode} in {time.monotonic() - started:.0f} s"
        rows += [(name, line.strip()) for line in run.stdout.splitlines() if VERDICT.search(line)]
    print("\n== summary (goal lines of every report; full logs in bench/.work/last/)")
    width = max((len(n) for n, _ in rows), default=10)
    for name, line in rows:
        print(f"{name:<{width}}  {line}")
    for name, how in finished.items():
        print(f"{name:<{width}}  {how}")
    if any(not how.startswith("exit 0") for how in finished.values()):
        return 1
    return 3 if any(VERDICT.search(line).group(1).lower() == "missed" for _, line in rows) else 0  # type: ignore[union-attr]


if __name__ == "__main__":
    sys.exit(main())
