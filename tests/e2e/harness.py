"""Browser end-to-end harness: a real gateway serving the built web app, a PACS (Orthanc), an SMTP
sink readable over HTTP, and `run_scenario()` running a playwright-core script in Chromium.

Scenarios are JavaScript (frontend/e2e/<name>.mjs); pytest starts the servers, prepares input
(synthetic DICOM studies), runs the script and asserts on what it printed and on the PACS.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import LiveServer

REPO = Path(__file__).resolve().parents[2]
FRONTEND = REPO / "frontend"
DIST = FRONTEND / "dist"
SCENARIOS = FRONTEND / "e2e"
ARTIFACTS_ROOT = REPO / "test-artifacts"
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
SCENARIO_TIMEOUT = float(os.environ.get("E2E_SCENARIO_TIMEOUT", "300"))


class ScenarioFailed(AssertionError):
    pass


def mail_as_json(message: EmailMessage) -> dict[str, Any]:
    body = message.get_body(preferencelist=("plain", "html"))
    return {
        "to": str(message["To"]),
        "subject": str(message["Subject"]),
        "text": body.get_content() if body is not None else "",
    }


class MailHttp:
    """`GET /messages` → every message the SMTP sink received, as JSON (for the scenarios)."""

    def __init__(self, sink: Any) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/messages":
                    self.send_error(404)
                    return
                payload = json.dumps([mail_as_json(m) for m in list(outer.sink.messages)])
                data = payload.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.sink = sink
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/messages"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Browser:
    """Runs scenario scripts against one gateway; keeps every artifact of the test."""

    server: LiveServer
    mail_url: str
    artifacts: Path
    kept: Path
    runs: list[str] = field(default_factory=list)

    def run_scenario(self, name: str, **env: str | int | float) -> dict[str, Any]:
        """`node frontend/e2e/<name>.mjs`; returns the JSON object on its last stdout line."""
        script = SCENARIOS / f"{name}.mjs"
        assert script.is_file(), f"no scenario {script}"
        self.runs.append(name)
        process_env = dict(os.environ)
        process_env.update(
            E2E_BASE_URL=self.server.base_url,
            E2E_ARTIFACTS=str(self.artifacts),
            E2E_MAIL_URL=self.mail_url,
            E2E_CHROMIUM=str(CHROMIUM),
            E2E_USER_DATA_ROOT=str(self.artifacts / "profiles"),
        )
        process_env.update({key: str(value) for key, value in env.items()})
        try:
            result = subprocess.run(
                ["node", str(script)],
                cwd=FRONTEND,
                env=process_env,
                capture_output=True,
                text=True,
                timeout=SCENARIO_TIMEOUT,
            )
        except subprocess.TimeoutExpired as exc:
            raise ScenarioFailed(
                f"scenario {name} timed out after {SCENARIO_TIMEOUT:.0f} s\n"
                f"--- stdout ---\n{_tail(exc.stdout)}\n--- stderr ---\n{_tail(exc.stderr)}\n"
                f"--- gateway log ---\n{self.server.log_tail()}"
            ) from exc
        (self.artifacts / f"{name}.stdout.log").write_text(result.stdout)
        (self.artifacts / f"{name}.stderr.log").write_text(result.stderr)
        if result.returncode != 0:
            raise ScenarioFailed(
                f"scenario {name} exited with {result.returncode}\n"
                f"--- stderr ---\n{_tail(result.stderr)}\n"
                f"--- gateway log ---\n{self.server.log_tail(40)}\n"
                f"(artifacts: {self.kept})"
            )
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        assert lines, f"scenario {name} printed nothing; stderr:\n{_tail(result.stderr)}"
        parsed: dict[str, Any] = json.loads(lines[-1])
        return parsed

    def keep_artifacts(self) -> None:
        """Copy this test's artifacts to test-artifacts/<test>/ at the repository root."""
        if self.kept.exists():
            shutil.rmtree(self.kept)
        shutil.copytree(
            self.artifacts, self.kept, ignore=shutil.ignore_patterns("profiles"), dirs_exist_ok=True
        )


def _tail(text: str | bytes | None, chars: int = 6000) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return text[-chars:]


def require(condition: bool, reason: str) -> None:
    """A missing tool skips locally and fails in CI (like tests/conftest.py start_or_skip)."""
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required for the browser tests in CI: {reason}")
    pytest.skip(reason)


def build_frontend(snapshot: Path) -> Path:
    """`make frontend` (npm ci when the lock changed, a build when sources changed), then a copy
    of frontend/dist in `snapshot`, so that a concurrent rebuild (another pytest run) cannot change
    the files under a running test. A lock file serialises builds and copies across processes."""
    require(
        shutil.which("node") is not None and shutil.which("npm") is not None, "node/npm missing"
    )
    digest = hashlib.sha256(str(REPO).encode()).hexdigest()[:12]
    lock_path = Path(tempfile.gettempdir()) / f"relaypacs-frontend-build-{digest}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run(
            ["make", "-s", "frontend"], cwd=REPO, capture_output=True, text=True, timeout=900
        )
        if result.returncode != 0:
            pytest.fail(
                f"building the frontend failed:\n{_tail(result.stdout)}\n{_tail(result.stderr)}"
            )
        assert (DIST / "index.html").is_file()
        shutil.copytree(DIST, snapshot, dirs_exist_ok=True)
    return snapshot
