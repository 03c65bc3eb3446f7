"""`relaypacs serve` as a real process, for tests that need real sockets, several
processes or a crash: start, wait until it answers, SIGKILL, restart on the same port.

The server runs in its own process group with its output appended to a log file, so
it can never block on a full pipe and a kill takes any child with it.  Every running
server is also killed at interpreter exit, so a failing test leaves nothing behind.
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
from typing import Self

import httpx

from tests.conftest import TEST_SECRET
from tests.servers import free_port

RELAYPACS = Path(sys.executable).with_name("relaypacs")
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0

_running: set[LiveServer] = set()


@atexit.register
def _kill_leftovers() -> None:
    for server in list(_running):
        server.kill()


def server_env(database_url: str, data_dir: Path, **overrides: str) -> dict[str, str]:
    """The process environment for a development server on these database and data dir."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DATA_DIR=str(data_dir),
        ENVIRONMENT="development",
        SECRET_KEY=TEST_SECRET,
        DB_MIGRATE_ON_STARTUP="false",
        LOGIN_RATE_LIMIT_PER_MINUTE="100000",
        LOG_FORMAT="console",
        REDIS_URL="",
        STORAGE_BACKEND="local",
    )
    env.update(overrides)
    return env


class LiveServer:
    """One `relaypacs serve` on a fixed loopback port; may be killed and started again."""

    def __init__(self, env: Mapping[str, str], workdir: Path, *, port: int | None = None) -> None:
        self.env = dict(env)
        # The working directory holds the log and keeps a stray `.env` from being read.
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.log_path = workdir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Spawn the process (without waiting for it to answer)."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts + 1} =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [str(RELAYPACS), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=self.env,
                start_new_session=True,
            )
        self.starts += 1
        _running.add(self)

    async def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Poll /healthz until it answers 200; fail with the log if the process dies."""
        assert self.proc is not None, "not started"
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"server exited with code {self.proc.returncode} before answering;"
                        f" log:\n{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/healthz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"server did not answer within {timeout:.0f} s; log:\n{self.log_tail()}"
                    )
                await asyncio.sleep(0.05)

    async def start_and_wait(self) -> None:
        self.start()
        await self.wait_ready()

    def send_kill(self) -> None:
        """SIGKILL the whole process group now (does not wait; see `kill`)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the process group and reap it."""
        self.send_kill()
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(STOP_TIMEOUT)
        _running.discard(self)

    def stop(self) -> None:
        """Graceful stop (SIGINT), then SIGKILL whatever is left of the group."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(STOP_TIMEOUT)
        self.kill()

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
        self.kill()
