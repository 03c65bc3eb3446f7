"""The radiologist's worklist in Chromium against the real gateway: STAT first, unassigned CT,
assign to me in one click, listed under "assigned to me", filters in the URL across a reload
and the back button, the cached view offline, phone and desktop screenshots; and the same
page with the keyboard alone (see tests/e2e/README.md)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from relaypacs.core.database import Database, utcnow
from relaypacs.core.permissions import Role
from relaypacs.reports.models import Report, ReportStatus
from tests.conftest import make_settings
from tests.e2e.harness import Browser
from tests.e2e.test_app_shell import png_size
from tests.factories import DEFAULT_PASSWORD, UserFixture, create_user
from tests.live_server import LiveServer
from tests.reports.factories import make_report


class _DatabaseOnly:
    """What the test factories need of the app: `app.state.database` (the gateway's own)."""

    def __init__(self, database: Database) -> None:
        self.state = type("State", (), {"database": database})()


@dataclass
class Worklist:
    radiologist: UserFixture
    stat_ct: uuid.UUID
    routine_ct: uuid.UUID


async def _seed(server: LiveServer, data_dir: Path) -> Worklist:
    """A radiologist (made with the factories, as an admin would) and a queue: unassigned
    STAT and ROUTINE CT, an EMERGENCY MR, a colleague's STAT CT and a READY STAT MR."""
    database = Database(make_settings(server.env["DATABASE_URL"], data_dir))
    try:
        app = _DatabaseOnly(database)
        clinician = await create_user(app, role=Role.clinician)  # type: ignore[arg-type]
        radiologist = await create_user(app, role=Role.radiologist)  # type: ignore[arg-type]
        colleague = await create_user(app, role=Role.radiologist)  # type: ignore[arg-type]
        start = utcnow() - timedelta(hours=6)
        spec = [
            ("ROUTINE", "CT", None, ReportStatus.assigned),
            ("EMERGENCY", "MR", None, ReportStatus.assigned),
            ("STAT", "CT", colleague.id, ReportStatus.pending),
            ("STAT", "CT", None, ReportStatus.assigned),
            ("STAT", "MR", None, ReportStatus.ready),
        ]
        made = []
        for hour, (level, modality, assignee, status) in enumerate(spec):
            made.append(
                await make_report(
                    app,  # type: ignore[arg-type]
                    user=clinician,
                    service_level=level,
                    modality=modality,
                    status=status,
                    assignee_id=assignee,
                    impression="Normal." if status is ReportStatus.ready else None,
                    created_at=start + timedelta(hours=hour),
                )
            )
        return Worklist(radiologist, stat_ct=made[3].id, routine_ct=made[0].id)
    finally:
        await database.dispose()


async def _assignee(server: LiveServer, data_dir: Path, report_id: uuid.UUID) -> uuid.UUID | None:
    database = Database(make_settings(server.env["DATABASE_URL"], data_dir))
    try:
        async with database.sessionmaker() as session:
            report = await session.get(Report, report_id)
            assert report is not None
            return report.assignee_id
    finally:
        await database.dispose()


def test_a_radiologist_takes_a_stat_ct_from_the_unassigned_worklist_in_one_click(
    browser: Browser, gateway: LiveServer, tmp_path: Path
) -> None:
    seeded = asyncio.run(_seed(gateway, tmp_path / "seed"))

    result = browser.run_scenario(
        "worklist",
        E2E_RADIOLOGIST=seeded.radiologist.username,
        E2E_PASSWORD=DEFAULT_PASSWORD,
        E2E_TARGET_REPORT_ID=str(seeded.stat_ct),
    )

    assert result["defaultSort"] == "priority"
    assert result["initialLevels"] == ["STAT", "STAT", "STAT", "EMERGENCY", "ROUTINE"]
    # unassigned CT, STAT first: the colleague's STAT CT and the MRs are not listed
    assert [row["id"] for row in result["unassignedCt"]] == [
        str(seeded.stat_ct),
        str(seeded.routine_ct),
    ]
    assert result["afterReload"]["rows"] == [str(seeded.stat_ct), str(seeded.routine_ct)]
    assert result["assignCalls"] == 1
    assert result["mine"] == [str(seeded.stat_ct)]
    assert result["backAssigned"] == "unassigned"
    assert result["phoneOverflow"] <= 0
    assert result["offlineRows"] >= 1 and result["offlineButtonsDisabled"] is True
    assert asyncio.run(_assignee(gateway, tmp_path / "check", seeded.stat_ct)) == (
        seeded.radiologist.id
    )
    widths = {}
    for shot in result["shots"]:
        path = Path(shot["file"])
        assert path.stat().st_size > 1000, f"{path} is (nearly) empty"
        widths[shot["label"]] = png_size(path)[0]
    assert widths == {"desktop": 1366, "phone": 390}


def test_the_worklist_is_labelled_keyboard_operable_and_shows_focus(
    browser: Browser, gateway: LiveServer, tmp_path: Path
) -> None:
    seeded = asyncio.run(_seed(gateway, tmp_path / "seed"))

    result = browser.run_scenario(
        "worklist-keyboard",
        E2E_RADIOLOGIST=seeded.radiologist.username,
        E2E_PASSWORD=DEFAULT_PASSWORD,
    )

    assert result["unnamed"] == 0
    assert result["reachedSort"] is True
    assert (result["before"], result["filteredBy"]) == ("", "STAT")
    # the first STAT report nobody has: the colleague's STAT CT and the READY one have no button
    assert result["assignedWithKeyboard"] == str(seeded.stat_ct)
    assert result["focusAfterAssign"] == {"tag": "A", "reportId": str(seeded.stat_ct)}
    assert asyncio.run(_assignee(gateway, tmp_path / "check", seeded.stat_ct)) == (
        seeded.radiologist.id
    )
