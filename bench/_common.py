"""Helpers shared by the benchmarks: a real `relaypacs serve` process, ports, percentiles.

Benchmarks import this as `from _common import ...` (they run as scripts from `bench/`).
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
RELAYPACS = REPO / ".venv" / "bin" / "relaypacs"
if not RELAYPACS.exists():  # a git worktree without its own venv: the running one's
    RELAYPACS = Path(sys.executable).with_name("relaypacs")


class BenchError(Exception):
    """The benchmark could not run (server did not start, died, answered errors...)."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: Sequence[float], pct: float) -> float:
    """The pct-th percentile (0–100) with linear interpolation between ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# Benchmarks sign in far more often than a person: sign-in rate limits out of the way.
UNLIMITED_LOGINS = {
    "RATE_LIMIT__LOGIN_PER_IP": "1000000/minute",
    "RATE_LIMIT__LOGIN_PER_ACCOUNT": "1000000/minute",
}


def sqlite_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a throwaway SQLite-backed instance in data_dir."""
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'bench.db'}",
        "DATA_DIR": str(data_dir),
        "ENVIRONMENT": "development",
        "LOG_LEVEL": "WARNING",
    }
    env.update(extra)
    return env


def run_cli(
    args: Sequence[str], env: Mapping[str, str], *, cwd: Path, stdin: str | None = None
) -> str:
    """Run `relaypacs ARGS...`; raise BenchError with its output if it fails."""
    result = subprocess.run(
        [str(RELAYPACS), *args],
        env={**os.environ, **env},
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(
            f"relaypacs {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout}{result.stderr}"
        )
    return result.stdout


def create_admin(
    env: Mapping[str, str], *, cwd: Path, email: str, username: str, password: str
) -> None:
    """Migrate the database and create a verified admin, through the CLI."""
    run_cli(["db", "upgrade"], env, cwd=cwd)
    run_cli(
        ["users", "create-admin", "--email", email, "--username", username, "--password-stdin"],
        env,
        cwd=cwd,
        stdin=password + "\n",
    )


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self) -> None:
        if not self.alive():
            raise BenchError(
                f"server exited with code {self.process.returncode}:\n{self.log_tail()}"
            )


def _stop(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM the server's process group (uvicorn shuts down gracefully), then SIGKILL."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def wait_healthy(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=server.base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            server.check_alive()
            with contextlib.suppress(httpx.TransportError):
                if client.get("/healthz").status_code == 200:
                    return
            time.sleep(0.1)
    raise BenchError(f"server not healthy after {timeout:.0f} s:\n{server.log_tail()}")


@contextlib.contextmanager
def serve(
    env: Mapping[str, str], *, cwd: Path, port: int | None = None, startup_timeout: float = 60.0
) -> Iterator[Server]:
    """Run `relaypacs serve` (a real uvicorn process) until the block exits; yields once healthy.

    The server runs in its own process group, with its output in cwd/server.log; it is
    stopped however the block exits.
    """
    port = port or free_port()
    log_path = cwd / "server.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(RELAYPACS), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env={**os.environ, **env},
            cwd=cwd,  # no stray .env from the caller's directory
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    try:
        wait_healthy(server, startup_timeout)
        yield server
    finally:
        _stop(process)


@contextlib.contextmanager
def terminate_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into SystemExit so `finally` blocks (server clean-up) run."""

    def _raise(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass(frozen=True)
class CpuUsage:
    """CPU time over a span, in cores (1.0 = one core busy for the whole span)."""

    seconds: float
    ours: float  # the watched processes (their threads, and their reaped children)
    others: float  # every other process on the machine
    steal: float  # taken by the hypervisor (other virtual machines)

    def describe(self) -> str:
        return (
            f"ours {self.ours:.2f}, other processes {self.others:.2f}, steal {self.steal:.2f} cores"
        )


class CpuMonitor:
    """Who used the machine's CPUs between start() and stop() (Linux /proc; else None).

    Lets a benchmark tell a slow result from a busy machine: `others` is what the rest
    of the machine (a test run, another benchmark) took while it measured.
    """

    def __init__(self, *pids: int) -> None:
        self.pids = pids or (os.getpid(),)
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._start: tuple[float, int, int, int] | None = None

    @staticmethod
    def _machine() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal (guest time is inside user)
        busy = sum(fields[:8]) - fields[3] - fields[4] - fields[7]
        return busy, fields[7]

    def _ours(self) -> int:
        total = 0
        for pid in self.pids:
            with contextlib.suppress(OSError):
                with open(f"/proc/{pid}/stat") as stat:
                    after_name = stat.read().rsplit(")", 1)[1].split()
                # utime stime cutime cstime are fields 14–17, i.e. 11–14 after the name
                total += sum(int(v) for v in after_name[11:15])
        return total

    def start(self) -> None:
        try:
            busy, steal = self._machine()
        except OSError:
            return
        self._start = (time.monotonic(), busy, steal, self._ours())

    def stop(self) -> CpuUsage | None:
        if self._start is None:
            return None
        started, busy0, steal0, ours0 = self._start
        busy, steal = self._machine()
        ours = self._ours()
        seconds = time.monotonic() - started
        cores = self.tick * seconds
        return CpuUsage(
            seconds=seconds,
            ours=(ours - ours0) / cores,
            others=max(0.0, (busy - busy0) - (ours - ours0)) / cores,
            steal=(steal - steal0) / cores,
        )


def cpu_summary() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{usable} usable CPU(s) (os.cpu_count()={os.cpu_count()}), Python {sys.version.split()[0]}"
    )
