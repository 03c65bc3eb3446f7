"""Live notifications and reports in the browser: SSE with ticket auth and after= replay,
the unread count, the reply form, the READY report and its PDF (see tests/e2e/README.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from relaypacs.core.database import Database
from relaypacs.core.permissions import Role
from tests.conftest import make_settings
from tests.e2e.harness import Browser
from tests.factories import DEFAULT_PASSWORD, UserFixture, create_user
from tests.live_server import LiveServer
from tests.reports.factories import ReportFixture, make_report


class _DatabaseOnly:
    """What the test factories need of the app: `app.state.database` (the gateway's own)."""

    def __init__(self, database: Database) -> None:
        self.state = type("State", (), {"database": database})()


async def _seed(
    server: LiveServer, data_dir: Path
) -> tuple[UserFixture, UserFixture, ReportFixture]:
    database = Database(make_settings(server.env["DATABASE_URL"], data_dir))
    try:
        app = _DatabaseOnly(database)
        clinician = await create_user(app, role=Role.clinician)  # type: ignore[arg-type]
        radiologist = await create_user(app, role=Role.radiologist)  # type: ignore[arg-type]
        # A study delivered to the PACS: its report opens, as the forwarder does.
        report = await make_report(app, user=clinician, modality="CR")  # type: ignore[arg-type]
        return clinician, radiologist, report
    finally:
        await database.dispose()


def test_report_changes_reach_the_page_live_and_after_offline(
    browser: Browser, gateway: LiveServer, tmp_path: Path
) -> None:
    clinician, radiologist, report = asyncio.run(_seed(gateway, tmp_path / "seed"))
    result = browser.run_scenario(
        "notifications-live",
        E2E_CLINICIAN=clinician.username,
        E2E_RADIOLOGIST=radiologist.username,
        E2E_PASSWORD=DEFAULT_PASSWORD,
        E2E_REPORT_ID=str(report.id),
    )
    assert result["after"] >= 2  # the offline one (replayed) and the live READY one
    assert result["liveMs"] < 10_000
    assert int(result["replayAfter"]) > 0
    assert result["streamConnections"] >= 2
    assert result["pdfMagic"] == "%PDF-"
    assert result["pdfBytes"] > 1000
    assert result["filename"].startswith("report-") and result["filename"].endswith(".pdf")


def test_a_push_message_shows_a_notification_tagged_per_report(browser: Browser) -> None:
    result = browser.run_scenario("notifications-push")
    assert result["first"] == {
        "title": "Radiology needs more information",
        "body": "Please send the lateral view.",
        "tag": "report-r-1",
        "data": {"url": "/reports/r-1"},
    }
    # Same report: the newer message replaces the older notification.
    assert result["replaced"]["title"] == "Report ready"
    assert result["replaced"]["tag"] == "report-r-1"
    failed = next(item for item in result["both"] if item["tag"] == "upload-u-2")
    assert failed["data"] == {"url": "/"}  # another origin is never opened
