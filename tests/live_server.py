"""`relaypacs serve` as a real process, for tests that need real sockets, several
processes or a crash: start, wait until it answers, SIGKILL, restart on the same port.

Each server process runs in its own session (process group) with its output appended
to a log file, so it never blocks on a full pipe and a kill takes any child with it.
Every server still running is killed at interpreter exit.

Importing the application takes seconds of CPU, which dominates a test that restarts
the server a dozen times. With ``preload=True`` a small launcher process imports
``relaypacs`` once and, for every start, forks a fresh child that runs the same entry
point as the ``relaypacs`` console script (``relaypacs.cli:main`` with
``serve --host … --port …``). The child has never served anything: the application,
its settings, database pools and storage are all created after the fork, exactly as in
a cold start; only the module imports are shared.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx

from tests import phi_scan
from tests.conftest import TEST_SECRET
from tests.servers import free_port

RELAYPACS = Path(sys.executable).with_name("relaypacs")
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0

# The launcher for `preload=True`. It reads one command per line on stdin and answers
# on stdout: "start <port> <log path>" → the child's pid; "wait <pid>" → its exit code.
_LAUNCHER = r"""
import os, sys, traceback
import uvicorn, relaypacs.cli, relaypacs.main  # the slow part, done once
print("ready", flush=True)
for line in sys.stdin:
    command, _, argument = line.strip().partition(" ")
    if command == "start":
        port, log = argument.split(" ", 1)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.setsid()
                out = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                os.dup2(out, 1)
                os.dup2(out, 2)
                os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
                sys.argv = ["relaypacs", "serve", "--host", "127.0.0.1", "--port", port]
                relaypacs.cli.main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(pid, flush=True)
    elif command == "wait":
        _, status = os.waitpid(int(argument), 0)
        print(os.waitstatus_to_exitcode(status), flush=True)
"""

_running: set[LiveServer] = set()


@atexit.register
def _kill_leftovers() -> None:
    for server in list(_running):
        server.close()


def server_env(database_url: str, data_dir: Path, **overrides: str) -> dict[str, str]:
    """The process environment for a development server on this database and data dir."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DATA_DIR=str(data_dir),
        ENVIRONMENT="development",
        SECRET_KEY=TEST_SECRET,
        DB_MIGRATE_ON_STARTUP="false",
        # Every test signs in, and registers, from 127.0.0.1 (per-account limits stay).
        RATE_LIMIT__LOGIN_PER_IP="100000/minute",
        RATE_LIMIT__LOGIN_2FA_PER_IP="100000/minute",
        RATE_LIMIT__REGISTER_PER_IP="100000/hour",
        RATE_LIMIT__VERIFY_RESEND_PER_IP="100000/hour",
        LOG_FORMAT="console",
        REDIS_URL="",
        STORAGE_BACKEND="local",
    )
    env.update(overrides)
    return env


class LiveServer:
    """One `relaypacs serve` on a fixed loopback port; may be killed and started again."""

    def __init__(
        self,
        env: Mapping[str, str],
        workdir: Path,
        *,
        port: int | None = None,
        preload: bool = False,
    ) -> None:
        self.env = dict(env)
        # The working directory holds the log and keeps a stray `.env` from being read.
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.log_path = workdir / "server.log"
        phi_scan.watch_log_file(self.log_path)
        self.preload = preload
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None  # without preload
        self._launcher: subprocess.Popen[str] | None = None  # with preload
        self._pid: int | None = None  # the server process (its own process group)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._pid

    # --- starting -----------------------------------------------------------------

    def start(self) -> None:
        """Spawn a server process (without waiting for it to answer)."""
        assert not self.is_running(), "already running"
        with open(self.log_path, "a") as log:
            log.write(f"\n===== start #{self.starts + 1} =====\n")
        if self.preload:
            if self._launcher is None:
                self._start_launcher()
            self._pid = int(self._ask(f"start {self.port} {self.log_path}"))
        else:
            with open(self.log_path, "ab") as log:
                self._proc = subprocess.Popen(
                    [str(RELAYPACS), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                    env=self.env,
                    start_new_session=True,
                )
            self._pid = self._proc.pid
        self.starts += 1
        _running.add(self)

    async def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Poll /healthz until it answers 200; fail with the log if the process dies."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as client:
            while True:
                if not self.is_running():
                    raise RuntimeError(f"server exited before answering; log:\n{self.log_tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/healthz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"server did not answer within {timeout:.0f} s; log:\n{self.log_tail()}"
                    )
                await asyncio.sleep(0.02)

    async def start_and_wait(self) -> None:
        if self.preload and self._launcher is None:
            await asyncio.to_thread(self._start_launcher)
        self.start()
        await self.wait_ready()

    def is_running(self) -> bool:
        if self._pid is None:
            return False
        if self._proc is not None:
            return self._proc.poll() is None
        try:  # a forked child is not ours to poll: a zombie counts as dead
            stat = Path(f"/proc/{self._pid}/stat").read_text()
        except OSError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] != "Z"

    # --- stopping -----------------------------------------------------------------

    def send_kill(self) -> None:
        """SIGKILL the server's process group now, without waiting (see `kill`)."""
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._pid, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the server's process group and reap it, so its port is free again."""
        self.send_kill()
        self._reap()

    def stop(self) -> None:
        """Graceful stop (SIGINT, as Ctrl-C), then SIGKILL whatever is left."""
        if self._pid is not None and self.is_running():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGINT)
            deadline = time.monotonic() + STOP_TIMEOUT
            while self.is_running() and time.monotonic() < deadline:
                time.sleep(0.05)
        self.kill()

    def close(self) -> None:
        """Kill the server and the launcher, if any."""
        self.kill()
        launcher, self._launcher = self._launcher, None
        if launcher is not None:
            with contextlib.suppress(OSError):
                assert launcher.stdin is not None
                launcher.stdin.close()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait(STOP_TIMEOUT)
        _running.discard(self)

    def _reap(self) -> None:
        pid, self._pid = self._pid, None
        if pid is None:
            return
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(STOP_TIMEOUT)
            self._proc = None
        elif self._launcher is not None and self._launcher.poll() is None:
            self._ask(f"wait {pid}")
        if self._launcher is None:
            _running.discard(self)

    # --- the preloading launcher --------------------------------------------------

    def _start_launcher(self) -> None:
        with open(self.workdir / "launcher.log", "ab") as log:
            self._launcher = subprocess.Popen(
                [sys.executable, "-c", _LAUNCHER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=self.workdir,
                env=self.env,
                text=True,
                start_new_session=True,
            )
        _running.add(self)
        answer = self._read_line()
        assert answer == "ready", f"launcher said {answer!r}"

    def _ask(self, command: str) -> str:
        assert self._launcher is not None and self._launcher.stdin is not None
        self._launcher.stdin.write(command + "\n")
        self._launcher.stdin.flush()
        return self._read_line()

    def _read_line(self) -> str:
        assert self._launcher is not None
        stdout: IO[str] | None = self._launcher.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line:
            log = (self.workdir / "launcher.log").read_text(errors="replace")
            raise RuntimeError(f"the server launcher exited; its log:\n{log[-4000:]}")
        return line.strip()

    # --- diagnostics --------------------------------------------------------------

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"(no log at {self.log_path}: {exc})"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
