"""Error reporting end to end: a real gateway process with SENTRY_DSN pointing at a loopback
stand-in for Sentry's ingest. An unhandled error in a route arrives as an event with the
release, and no envelope (events and transactions) carries the patient's name or ID, the
password, the tokens or the cookie the requests sent."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from relaypacs import __version__
from relaypacs.core.logging import WITHHELD
from tests import phi_scan
from tests.conftest import fresh_database_url
from tests.live_server import LiveServer, server_env
from tests.sentry_ingest import SentryIngest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PATIENT_NAME = "Quillfeather^Ottoline"
PATIENT_ID = "MRN58213377"
ADMIN_EMAIL = "ops-sentry@example.org"
ADMIN_PASSWORD = "saffron-lantern-quiver-91"
FAULT_PASSWORD = "marigold-tundra-piston-77"


class FaultyGateway(LiveServer):
    """`python -m tests.ops.faulty_gateway PORT` instead of `relaypacs serve`."""

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "tests.ops.faulty_gateway", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env=self.env,
                start_new_session=True,
            )
        self._pid = self._proc.pid
        self.starts += 1


@pytest.fixture
def ingest() -> Iterator[SentryIngest]:
    with SentryIngest() as stand_in:
        yield stand_in


@pytest.fixture
def gateway(
    request: pytest.FixtureRequest, tmp_path: Path, ingest: SentryIngest
) -> Iterator[FaultyGateway]:
    database_url = next(fresh_database_url(request, "sqlite", tmp_path))
    env = server_env(
        database_url,
        tmp_path / "data",
        PYTHONPATH=f"{REPO}{':' + str(REPO / 'backend')}",
        SENTRY_DSN=ingest.dsn,
        SENTRY_ENVIRONMENT="sentry-test",
        SENTRY_TRACES_SAMPLE_RATE="1.0",
        RELAYPACS_BOOTSTRAP_ADMIN_EMAIL=ADMIN_EMAIL,
        RELAYPACS_BOOTSTRAP_ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
    server = FaultyGateway(env, tmp_path / "server")
    try:
        asyncio.run(server.start_and_wait())
        yield server
    finally:
        server.stop()


def _wait_for_transaction(ingest: SentryIngest, name: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for envelope in list(ingest.envelopes):
            if any(t.get("transaction") == name for t in envelope.payloads("transaction")):
                return
        time.sleep(0.1)
    raise AssertionError(f"no transaction {name} within {timeout:g} s")


def _forms(secret: str) -> set[str]:
    """A value as it could appear in an envelope: itself, URL-encoded, and its name parts."""
    forms = {secret, urllib.parse.quote(secret), urllib.parse.quote_plus(secret)}
    if "^" in secret:
        forms |= set(secret.split("^"))
    return {f.casefold() for f in forms}


async def test_unhandled_error_arrives_with_release_and_without_phi_or_secrets(
    gateway: FaultyGateway, ingest: SentryIngest
) -> None:
    phi_scan.register_person_name(PATIENT_NAME)
    phi_scan.register_patient_id(PATIENT_ID)
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=20) as client:
        login = await client.post(
            "/api/auth/login", json={"login": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert login.status_code == 200, login.text
        tokens = login.json()
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        init = await client.post(
            "/api/upload/init",
            headers=bearer,
            json={
                "patient_name": PATIENT_NAME,
                "study_date": "2026-03-04",
                "modality": "CT",
                "service_level": "STAT",
                "notes": f"patient {PATIENT_ID}",
                "files": [{"name": "a.dcm", "size": 1000}],
            },
        )
        assert init.status_code == 201, init.text
        upload_token = init.json()["upload_token"]

        response = await client.post(
            "/api/test/fault",
            params={"token": tokens["access_token"], "patient": PATIENT_NAME, "pid": PATIENT_ID},
            headers={
                **bearer,
                "X-Upload-Token": upload_token,
                "Cookie": f"refresh_token={tokens['refresh_token']}",
                "Referer": f"{gateway.base_url}/upload?patient={PATIENT_NAME}",
            },
            json={
                "patient_name": PATIENT_NAME,
                "patient_id": PATIENT_ID,
                "password": FAULT_PASSWORD,
            },
        )

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    event = ingest.wait_for_event(level="error", transaction="/api/test/fault")
    _wait_for_transaction(ingest, "/api/upload/init")
    _wait_for_transaction(ingest, "/api/test/fault")

    assert event["release"] == f"relaypacs@{__version__}"
    assert event["environment"] == "sentry-test"
    assert event["tags"]["request_id"] == response.headers["x-request-id"]
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "RoutingFault"
    assert exception["value"] == WITHHELD
    frames = exception["stacktrace"]["frames"]
    assert frames[-1]["function"] == "fault"
    assert all("vars" not in frame for frame in frames)
    assert event["logentry"] == {"message": "unhandled_error"}
    request = event["request"]
    assert request["method"] == "POST"
    assert request["url"] == f"{gateway.base_url}/api/test/fault"
    assert set(request) <= {"method", "url", "headers"}
    assert not {"authorization", "x-upload-token", "cookie", "referer"} & {
        h.lower() for h in request["headers"]
    }

    blob = ingest.raw().decode("utf-8", errors="replace").casefold()
    secrets = {
        "patient name": PATIENT_NAME,
        "patient id": PATIENT_ID,
        "sign-in password": ADMIN_PASSWORD,
        "password in the body": FAULT_PASSWORD,
        "access token": tokens["access_token"],
        "refresh token (cookie)": tokens["refresh_token"],
        "upload token": upload_token,
        "e-mail address": ADMIN_EMAIL,
    }
    leaked = {what for what, value in secrets.items() if any(f in blob for f in _forms(value))}
    assert not leaked, f"sent to Sentry: {sorted(leaked)}"
