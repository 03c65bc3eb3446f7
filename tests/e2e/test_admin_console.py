"""The admin console in Chromium against a real gateway (issue 14): users are seeded through
tests/factories.py straight into the gateway's database, uploads go through the API to the
Orthanc fixture, and the scenarios (frontend/e2e/admin-*.mjs) act as the admin in the UI."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from relaypacs.core.database import Database, utcnow
from relaypacs.core.permissions import Role
from tests.conftest import make_settings
from tests.e2e.harness import Browser
from tests.e2e.test_app_shell import png_size
from tests.e2e.test_dashboard import _upload
from tests.factories import DEFAULT_PASSWORD, UserFixture, create_user
from tests.live_server import LiveServer
from tests.servers import OrthancServer

pytestmark = pytest.mark.slow


@pytest.fixture
def gateway_env_overrides() -> dict[str, str]:
    # An open event stream rechecks its session every 2 s (60 s by default), so a disabled
    # user's page hears of it within the test's patience.
    return {"SSE_SESSION_CHECK_SECONDS": "2"}


class _DatabaseOnly:
    """What the test factories need of the app: `app.state.database` (the gateway's own)."""

    def __init__(self, database: Database) -> None:
        self.state = type("State", (), {"database": database})()


async def _seed(
    server: LiveServer, data_dir: Path, **users: dict[str, Any]
) -> dict[str, UserFixture]:
    database = Database(make_settings(server.env["DATABASE_URL"], data_dir))
    try:
        app: Any = _DatabaseOnly(database)
        made = {"admin": await create_user(app, role=Role.admin, facility="General Hospital")}
        for name, options in users.items():
            made[name] = await create_user(app, **options)
        return made
    finally:
        await database.dispose()


def test_an_admin_creates_a_radiologist_who_assigns_a_stat_report_from_the_worklist(
    browser: Browser, gateway: LiveServer, pacs: OrthancServer, tmp_path: Path
) -> None:
    users = asyncio.run(_seed(gateway, tmp_path / "seed", uploader={"facility": "North Clinic"}))
    for level, modality in (("ROUTINE", "CR"), ("STAT", "CT")):
        asyncio.run(
            _upload(
                gateway, users["uploader"], tmp_path / level, modality=modality, service_level=level
            )
        )

    result = browser.run_scenario(
        "admin-create-radiologist", E2E_ADMIN=users["admin"].username, E2E_PASSWORD=DEFAULT_PASSWORD
    )

    assert result["role"] == "radiologist"
    # No Upload, History or Admin entry (the bell is the Notifications link).
    assert result["radiologistNav"] == ["Reports", "Dashboard", "Notifications", "Settings"]
    assert result["adminRefused"] is True
    # STAT first by default for a radiologist; one click made it theirs (and only it).
    assert result["firstLevel"] == "STAT"
    assert result["assignedStat"] == 1
    shots = {(shot["screen"], shot["label"]): Path(shot["file"]) for shot in result["shots"]}
    assert set(shots) == {
        (screen, label)
        for screen in ("users", "user", "facilities", "audit", "pacs")
        for label in ("phone", "desktop")
    }
    for (_, label), path in shots.items():
        width, _ = png_size(path)
        assert width == {"phone": 390, "desktop": 1366}[label], path


def test_an_admin_approves_a_pending_membership_and_the_radiographer_sees_the_facility_reports(
    browser: Browser, gateway: LiveServer, pacs: OrthancServer, tmp_path: Path
) -> None:
    users = asyncio.run(_seed(gateway, tmp_path / "seed", uploader={"facility": "North Clinic"}))
    north = users["uploader"].facility_id
    pending = asyncio.run(
        _seed(
            gateway,
            tmp_path / "seed2",
            radiographer={
                "role": Role.clinician,
                "facility": None,
                "requested_facility_id": north,
                "requested_role": Role.radiographer,
                "membership_requested_at": utcnow(),
            },
        )
    )["radiographer"]
    asyncio.run(
        _upload(gateway, users["uploader"], tmp_path / "study", modality="CT", service_level="STAT")
    )

    result = browser.run_scenario(
        "admin-approve-membership",
        E2E_ADMIN=users["admin"].username,
        E2E_RADIOGRAPHER=pending.username,
        E2E_PASSWORD=DEFAULT_PASSWORD,
        E2E_FACILITY="North Clinic",
    )

    assert "North Clinic" in result["notice"] and "radiographer" in result["notice"]
    assert result["before"] == []
    assert "North Clinic" in result["request"] and "radiographer" in result["request"]
    assert result["facilityShown"] == "North Clinic"
    assert result["signedOut"] is True  # the approval ended the old session
    assert len(result["after"]) == 1 and result["facilityInList"] is True


def test_an_admin_disables_a_user_whose_open_session_is_signed_out(
    browser: Browser, gateway: LiveServer, tmp_path: Path
) -> None:
    users = asyncio.run(_seed(gateway, tmp_path / "seed", victim={"role": Role.clinician}))

    result = browser.run_scenario(
        "admin-disable-user",
        E2E_ADMIN=users["admin"].username,
        E2E_VICTIM=users["victim"].username,
        E2E_PASSWORD=DEFAULT_PASSWORD,
    )

    assert result["sessionsBefore"] == 1
    assert result["status"] == "Disabled"
    assert result["signedOutAfterMs"] < 45_000
    assert result["refusal"]
