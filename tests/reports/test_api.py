"""The report API: role scoping, pagination, sorting, filters, input validation, and the
report opened when a study reaches the PACS (a real forward to Orthanc)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from relaypacs.core.permissions import Role
from relaypacs.notifications.models import Notification
from relaypacs.pacs.models import ForwardItem, ForwardJob, ItemState, JobState
from relaypacs.reports.models import Report, ReportStatus
from tests.dicom_factory import write_study
from tests.factories import UserFixture, bearer, create_user, login
from tests.pacs.conftest import FAST_RETRIES, destination, wait_for_state
from tests.reports.factories import ReportFixture, make_report
from tests.servers import OrthancServer
from tests.upload_client import upload_study

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Forwarding to the Orthanc fixture only for tests that ask for `pacs`."""
    if "pacs" not in request.fixturenames:
        return {}
    orthanc: OrthancServer = request.getfixturevalue("pacs")
    return FAST_RETRIES | {"pacs_orthanc": destination(orthanc)}


@pytest.fixture
def pacs(orthanc: OrthancServer) -> Iterator[OrthancServer]:
    if not orthanc.running:
        orthanc.start()
    orthanc.clear()
    yield orthanc


async def signed_in(
    app: FastAPI, client: httpx.AsyncClient, role: Role, **kwargs: Any
) -> tuple[UserFixture, dict[str, str]]:
    user = await create_user(app, role=role, **kwargs)
    return user, bearer(await login(client, user))


async def listed(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get("/api/reports", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


# --- role scoping ---------------------------------------------------------------------


async def test_a_clinician_sees_only_their_own_reports(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    me, headers = await signed_in(app, client, Role.clinician)
    colleague = await create_user(app, role=Role.clinician)  # same facility
    mine = await make_report(app, user=me)
    await make_report(app, user=colleague)

    page = await listed(client, headers)

    assert ids(page) == [str(mine.id)]
    assert page["total"] == 1


async def test_another_clinicians_report_is_404_everywhere(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_in(app, client, Role.clinician)
    colleague, colleague_headers = await signed_in(app, client, Role.clinician)
    theirs = await make_report(
        app, user=colleague, status=ReportStatus.ready, impression="Normal.", ready_at=T0
    )

    responses = {
        "get": await client.get(f"/api/reports/{theirs.id}", headers=headers),
        "by-upload": await client.get(f"/api/reports/upload/{theirs.upload_id}", headers=headers),
        "download": await client.get(f"/api/reports/{theirs.id}/download", headers=headers),
        "status": await client.post(
            f"/api/reports/{theirs.id}/status", json={"status": "PENDING"}, headers=headers
        ),
        "note": await client.post(
            f"/api/reports/{theirs.id}/notes", json={"body": "hi"}, headers=headers
        ),
        "unknown": await client.get(f"/api/reports/{uuid.uuid4()}", headers=headers),
    }

    assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(responses, 404)
    # indistinguishable from a report that does not exist
    assert responses["get"].json()["error"] == responses["unknown"].json()["error"]
    # the owner does see it
    own = await client.get(f"/api/reports/upload/{theirs.upload_id}", headers=colleague_headers)
    assert own.status_code == 200 and own.json()["id"] == str(theirs.id)


async def test_a_radiographer_sees_their_facilitys_reports_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_in(app, client, Role.radiographer, facility="North Clinic")
    here = await create_user(app, role=Role.clinician, facility="North Clinic")
    elsewhere = await create_user(app, role=Role.clinician, facility="South Clinic")
    visible = await make_report(app, user=here)
    hidden = await make_report(app, user=elsewhere)

    page = await listed(client, headers)
    get_visible = await client.get(f"/api/reports/{visible.id}", headers=headers)
    get_hidden = await client.get(f"/api/reports/{hidden.id}", headers=headers)
    by_upload_hidden = await client.get(f"/api/reports/upload/{hidden.upload_id}", headers=headers)

    assert ids(page) == [str(visible.id)] and page["total"] == 1
    assert get_visible.status_code == 200
    assert get_hidden.status_code == 404 and by_upload_hidden.status_code == 404


@pytest.mark.parametrize("role", [Role.radiologist, Role.admin])
async def test_radiologists_and_admins_see_every_report(
    app: FastAPI, client: httpx.AsyncClient, role: Role
) -> None:
    _, headers = await signed_in(app, client, role, facility="Radiology Hub")
    a = await create_user(app, role=Role.clinician, facility="North Clinic")
    b = await create_user(app, role=Role.radiographer, facility="South Clinic")
    reports = [await make_report(app, user=a), await make_report(app, user=b)]

    page = await listed(client, headers)

    assert sorted(ids(page)) == sorted(str(r.id) for r in reports)
    for report in reports:
        response = await client.get(f"/api/reports/{report.id}", headers=headers)
        assert response.status_code == 200


@pytest.mark.parametrize("role", [Role.clinician, Role.radiographer])
async def test_uploaders_cannot_change_status_assign_or_edit_even_their_own_report(
    app: FastAPI, client: httpx.AsyncClient, role: Role
) -> None:
    me, headers = await signed_in(app, client, role)
    report = await make_report(app, user=me, impression="Self-reported.")
    before = (await client.get(f"/api/reports/{report.id}", headers=headers)).json()

    attempts = [
        await client.post(
            f"/api/reports/{report.id}/status", json={"status": "READY"}, headers=headers
        ),
        await client.post(f"/api/reports/{report.id}/assign", json={}, headers=headers),
        await client.patch(
            f"/api/reports/{report.id}", json={"impression": "Mine."}, headers=headers
        ),
    ]

    assert [r.status_code for r in attempts] == [403, 403, 403]
    assert all(r.json()["error"]["code"] == "forbidden" for r in attempts)
    after = (await client.get(f"/api/reports/{report.id}", headers=headers)).json()
    assert after == before


# --- pagination -------------------------------------------------------------------------


async def test_reports_are_paginated_fifty_per_page(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app, role=Role.clinician)
    _, headers = await signed_in(app, client, Role.radiologist)
    for n in range(53):
        await make_report(app, user=owner, created_at=T0 + timedelta(minutes=n))

    first = await listed(client, headers)
    second = await listed(client, headers, page=2)
    third = await listed(client, headers, page=3)
    small = await listed(client, headers, page=2, page_size=20)

    assert (first["total"], second["total"], third["total"]) == (53, 53, 53)
    assert (first["page_size"], len(first["items"])) == (50, 50)
    assert (second["page"], len(second["items"])) == (2, 3)
    assert third["items"] == []
    assert len(set(ids(first)) | set(ids(second))) == 53
    assert ids(small) == ids(first)[20:40]


@pytest.mark.parametrize(
    "params",
    [
        {"page_size": 51},
        {"page_size": 0},
        {"page": 0},
        {"page": -1},
        {"page": "two"},
        {"page": 10**18},
        {"page": 10**30},
    ],
    ids=str,
)
async def test_bad_page_parameters_are_422(
    app: FastAPI, client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    _, headers = await signed_in(app, client, Role.radiologist)

    response = await client.get("/api/reports", params=params, headers=headers)

    assert response.status_code == 422, response.text


# --- sorting ----------------------------------------------------------------------------


async def _queue(app: FastAPI, owner: UserFixture) -> dict[str, ReportFixture]:
    """Five reports, created in this order (an hour apart)."""
    spec = [
        ("routine-old", "ROUTINE", "MR", ReportStatus.pending),
        ("stat-new", "STAT", "CT", ReportStatus.assigned),
        ("emergency", "EMERGENCY", "CR", ReportStatus.additional_data_required),
        ("stat-old", "STAT", "US", ReportStatus.ready),
        ("routine-new", "ROUTINE", "DX", ReportStatus.assigned),
    ]
    created_order = ["stat-old", "routine-old", "emergency", "stat-new", "routine-new"]
    made = {}
    for name, level, modality, status in spec:
        made[name] = await make_report(
            app,
            user=owner,
            service_level=level,
            modality=modality,
            status=status,
            created_at=T0 + timedelta(hours=created_order.index(name)),
        )
    return made


@pytest.mark.parametrize("role", [Role.radiologist, Role.admin])
async def test_the_readers_default_view_is_stat_then_emergency_then_routine_oldest_first(
    app: FastAPI, client: httpx.AsyncClient, role: Role
) -> None:
    owner = await create_user(app, role=Role.clinician)
    _, headers = await signed_in(app, client, role)
    made = await _queue(app, owner)

    page = await listed(client, headers)

    expected = ["stat-old", "stat-new", "emergency", "routine-old", "routine-new"]
    assert ids(page) == [str(made[name].id) for name in expected]
    assert ids(await listed(client, headers, sort="priority")) == ids(page)


@pytest.mark.parametrize("role", [Role.clinician, Role.radiographer])
async def test_the_uploaders_default_view_is_newest_first(
    app: FastAPI, client: httpx.AsyncClient, role: Role
) -> None:
    owner, headers = await signed_in(app, client, role)
    made = await _queue(app, owner)

    page = await listed(client, headers)

    expected = ["routine-new", "stat-new", "emergency", "routine-old", "stat-old"]
    assert ids(page) == [str(made[name].id) for name in expected]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("date", ["stat-old", "routine-old", "emergency", "stat-new", "routine-new"]),
        ("-date", ["routine-new", "stat-new", "emergency", "routine-old", "stat-old"]),
        # ADDITIONAL_DATA_REQUIRED < ASSIGNED < PENDING < READY; ties newest first
        ("status", ["emergency", "routine-new", "stat-new", "routine-old", "stat-old"]),
        ("-status", ["stat-old", "routine-old", "routine-new", "stat-new", "emergency"]),
        ("modality", ["emergency", "stat-new", "routine-new", "routine-old", "stat-old"]),
        ("-modality", ["stat-old", "routine-old", "routine-new", "stat-new", "emergency"]),
    ],
)
async def test_reports_sort_by_date_status_and_modality(
    app: FastAPI, client: httpx.AsyncClient, sort: str, expected: list[str]
) -> None:
    owner = await create_user(app, role=Role.clinician)
    _, headers = await signed_in(app, client, Role.radiologist)
    made = await _queue(app, owner)

    page = await listed(client, headers, sort=sort)

    assert ids(page) == [str(made[name].id) for name in expected]


# --- filters ----------------------------------------------------------------------------


async def test_reports_filter_by_status_modality_service_level_and_date(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app, role=Role.clinician)
    _, headers = await signed_in(app, client, Role.radiologist)
    made = await _queue(app, owner)

    def names(page: dict[str, Any]) -> set[str]:
        by_id = {str(r.id): name for name, r in made.items()}
        return {by_id[i] for i in ids(page)}

    two_statuses = await listed(client, headers, status=["ASSIGNED", "READY"])
    one_status = await listed(client, headers, status="PENDING")
    modality = await listed(client, headers, modality="ct")
    stat = await listed(client, headers, service_level="STAT")
    stat_lower = await listed(client, headers, service_level="stat")
    # created T0+0h … T0+4h on 2026-03-02; nothing the day before or after
    same_day = await listed(client, headers, date_from="2026-03-02", date_to="2026-03-02")
    before = await listed(client, headers, date_to="2026-03-01")
    after = await listed(client, headers, date_from="2026-03-03")
    combined = await listed(
        client, headers, status=["ASSIGNED", "READY"], service_level="STAT", modality="US"
    )

    assert names(two_statuses) == {"stat-new", "routine-new", "stat-old"}
    assert two_statuses["total"] == 3
    assert names(one_status) == {"routine-old"}
    assert names(modality) == {"stat-new"}
    assert names(stat) == names(stat_lower) == {"stat-new", "stat-old"}
    assert names(same_day) == set(made) and same_day["total"] == 5
    assert before["items"] == [] and after["items"] == []
    assert names(combined) == {"stat-old"} and combined["total"] == 1


async def test_the_date_range_includes_both_end_days(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app, role=Role.clinician)
    _, headers = await signed_in(app, client, Role.radiologist)
    first = await make_report(app, user=owner, created_at=datetime(2026, 3, 1, 0, 0, tzinfo=UTC))
    last = await make_report(
        app, user=owner, created_at=datetime(2026, 3, 3, 23, 59, 59, tzinfo=UTC)
    )
    await make_report(app, user=owner, created_at=datetime(2026, 3, 4, 0, 0, tzinfo=UTC))
    await make_report(app, user=owner, created_at=datetime(2026, 2, 28, 23, 59, tzinfo=UTC))

    page = await listed(client, headers, date_from="2026-03-01", date_to="2026-03-03", sort="date")

    assert ids(page) == [str(first.id), str(last.id)]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "DONE"},
        {"status": ["ASSIGNED", "nope"]},
        {"status": ""},
        {"modality": "C T"},
        {"modality": "CT'; DROP TABLE report; --"},
        {"modality": "X" * 17},
        {"service_level": "URGENT"},
        {"date_from": "2026-13-01"},
        {"date_to": "yesterday"},
        {"assignee_id": "not-a-uuid"},
        {"sort": "patient_name"},
        {"sort": "-priority"},
    ],
    ids=str,
)
async def test_bad_filter_values_are_422(
    app: FastAPI, client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    _, headers = await signed_in(app, client, Role.radiologist)

    response = await client.get("/api/reports", params=params, headers=headers)

    assert response.status_code == 422, response.text


# --- a report is opened when the study reaches the PACS -----------------------------------


@pytest.mark.slow
async def test_a_delivered_study_has_one_assigned_report_even_if_delivered_twice(
    app: FastAPI, client: httpx.AsyncClient, pacs: OrthancServer, tmp_path: Path
) -> None:
    uploader, headers = await signed_in(app, client, Role.clinician)
    study = write_study(tmp_path / "study", count=3, pixel_bytes=16 * 1024)

    done = await upload_study(client, headers, study.paths, service_level="EMERGENCY")
    upload_id = uuid.UUID(done["upload_id"])
    detail = await wait_for_state(client, headers, str(upload_id), {"forwarded", "failed"})
    assert detail["state"] == "forwarded", detail["forwarding"]

    response = await client.get(f"/api/reports/upload/{upload_id}", headers=headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["status"] == "ASSIGNED"
    assert report["uploader_id"] == str(uploader.id)
    assert report["study_instance_uid"] == study.study_uid
    assert (report["service_level"], report["destination"]) == ("EMERGENCY", "orthanc")

    # The same job delivers again (as after a lost lease): no second report.
    async with app.state.database.sessionmaker() as session:
        job = await session.scalar(select(ForwardJob).where(ForwardJob.upload_id == upload_id))
        assert job is not None
        first_delivery = job.delivered_at
        await session.execute(
            update(ForwardItem)
            .where(ForwardItem.job_id == job.id)
            .values(state=ItemState.pending)
            .execution_options(synchronize_session=False)
        )
        job.state = JobState.pending
        job.next_attempt_at = datetime.now(UTC)
        await session.commit()
        job_id = job.id
    app.state.forwarder.wake()
    deadline = time.monotonic() + 60
    while True:
        async with app.state.database.sessionmaker() as session:
            again = await session.get(ForwardJob, job_id)
            assert again is not None
            if again.state is JobState.delivered and again.delivered_at != first_delivery:
                break
        assert time.monotonic() < deadline, f"second delivery: {again.state} {again.last_error}"
        await asyncio.sleep(0.2)

    again_report = await client.get(f"/api/reports/upload/{upload_id}", headers=headers)
    assert again_report.status_code == 200
    assert again_report.json()["id"] == report["id"]
    async with app.state.database.sessionmaker() as session:
        reports = await session.scalar(
            select(func.count()).select_from(Report).where(Report.upload_id == upload_id)
        )
        told = await session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.user_id == uploader.id,
                Notification.type == "upload_complete",
            )
        )
    assert reports == 1
    assert told == 1
