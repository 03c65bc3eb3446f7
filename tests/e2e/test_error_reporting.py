"""Browser error reporting in real Chromium: a thrown error arrives at a loopback stand-in for
Sentry's ingest (the gateway hands the browser its DSN) with the release, and nothing that was
sent contains the patient's name or ID typed into the upload form, the user's password or
e-mail address, or a token, though the page's URL, storage and console held them."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator

import pytest

from tests import phi_scan
from tests.e2e.harness import FRONTEND, Browser
from tests.sentry_ingest import SentryIngest

pytestmark = pytest.mark.slow

PATIENT_NAME = "Fairweather^Leopoldine"
PATIENT_ID = "MRN66031598"
WITHHELD = "(message withheld: it may carry patient data)"


@pytest.fixture
def ingest() -> Iterator[SentryIngest]:
    with SentryIngest() as stand_in:
        yield stand_in


@pytest.fixture
def gateway_env_overrides(ingest: SentryIngest) -> dict[str, str]:
    return {"SENTRY_BROWSER_DSN": ingest.dsn, "SENTRY_ENVIRONMENT": "e2e"}


def _forms(secret: str) -> set[str]:
    forms = {
        secret,
        urllib.parse.quote(secret),
        urllib.parse.quote_plus(secret),
        json.dumps(secret)[1:-1],
    }
    if "^" in secret:
        forms |= set(secret.split("^"))
    return {f.casefold() for f in forms}


def test_a_thrown_error_arrives_with_the_release_and_without_what_the_user_typed(
    browser: Browser, ingest: SentryIngest
) -> None:
    phi_scan.register_person_name(PATIENT_NAME)
    phi_scan.register_patient_id(PATIENT_ID)
    origin = ingest.dsn.split("@", 1)[1].rsplit("/", 1)[0]

    result = browser.run_scenario(
        "sentry-browser-error",
        E2E_SENTRY_ORIGIN=f"http://{origin}",
        E2E_PATIENT_NAME=PATIENT_NAME,
        E2E_PATIENT_ID=PATIENT_ID,
    )

    event = ingest.wait_for_event(level="error")
    version = json.loads((FRONTEND / "package.json").read_text())["version"]
    assert event["release"] == f"relaypacs@{version}"
    assert event["environment"] == "e2e"
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "TypeError"
    assert exception["value"] == WITHHELD
    assert event["request"]["url"] == f"{browser.server.base_url}/upload"

    blob = ingest.raw().decode("utf-8", errors="replace").casefold()
    secrets = {
        "patient name": PATIENT_NAME,
        "patient id": PATIENT_ID,
        "password": result["password"],
        "e-mail address": result["email"],
        "access token": result["accessToken"],
        "refresh token": result["refreshToken"],
    }
    leaked = {
        what for what, value in secrets.items() if value and any(f in blob for f in _forms(value))
    }
    assert not leaked, f"sent to Sentry: {sorted(leaked)}"
