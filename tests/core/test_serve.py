"""`relaypacs serve` as a real process: migrates the SQLite default and answers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

RELAYPACS = Path(sys.executable).with_name("relaypacs")


@pytest.mark.slow
def test_serve_migrates_and_answers_health_and_readiness(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(PORT=str(port), ENVIRONMENT="development")
    proc = subprocess.Popen(
        [str(RELAYPACS), "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, (
                    "server did not answer within 90 s (migrations and start-up on a loaded machine)"
                )
                time.sleep(0.2)
        assert health.status_code == 200
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200
        assert ready.json()["checks"]["database"]["ok"] is True
        assert (tmp_path / "data" / "relaypacs.db").is_file()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
    assert proc.returncode == 0
