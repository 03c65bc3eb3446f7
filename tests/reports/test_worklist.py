"""The radiologist's worklist on GET /api/reports: the service-level sort, the assignment
filters (assigned to me, unassigned), their combinations with the other filters and with
each role's scope, and strict validation of every new value."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from relaypacs.core.permissions import Role
from relaypacs.reports.models import ReportStatus
from tests.factories import UserFixture, create_user
from tests.reports.factories import ReportFixture, make_report
from tests.reports.test_api import T0, _queue, ids, listed, signed_in


def names(page: dict[str, Any], made: dict[str, ReportFixture]) -> list[str]:
    by_id = {str(report.id): name for name, report in made.items()}
    return [by_id[i] for i in ids(page)]


# --- sort by service level ------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        # STAT < EMERGENCY < ROUTINE (the reading order, not the alphabet); ties newest first
        ("service_level", ["stat-new", "stat-old", "emergency", "routine-new", "routine-old"]),
        ("-service_level", ["routine-new", "routine-old", "emergency", "stat-new", "stat-old"]),
    ],
)
async def test_reports_sort_by_service_level_in_reading_order(
    app: FastAPI, client: httpx.AsyncClient, sort: str, expected: list[str]
) -> None:
    owner = await create_user(app, role=Role.clinician)
    _, headers = await signed_in(app, client, Role.radiologist)
    made = await _queue(app, owner)

    page = await listed(client, headers, sort=sort)

    assert names(page, made) == expected


async def test_a_sort_never_widens_a_radiographers_facility_scope(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_in(app, client, Role.radiographer, facility="North Clinic")
    here = await create_user(app, role=Role.clinician, facility="North Clinic")
    elsewhere = await create_user(app, role=Role.clinician, facility="South Clinic")
    made = {
        "routine": await make_report(app, user=here, service_level="ROUTINE", created_at=T0),
        "stat": await make_report(
            app, user=here, service_level="STAT", created_at=T0 + timedelta(hours=1)
        ),
    }
    await make_report(app, user=elsewhere, service_level="STAT")

    for sort in ["service_level", "-service_level", "priority", "date", "status", "modality"]:
        page = await listed(client, headers, sort=sort)
        assert sorted(names(page, made)) == ["routine", "stat"], sort
        assert page["total"] == 2
    assert names(await listed(client, headers, sort="service_level"), made) == ["stat", "routine"]


# --- assigned to me / unassigned --------------------------------------------------------


async def _assigned_queue(
    app: FastAPI, owner: UserFixture, me: UserFixture, colleague: UserFixture
) -> dict[str, ReportFixture]:
    """Mine, a colleague's and unassigned reports of each level, an hour apart."""
    spec = [
        ("mine-routine", "ROUTINE", "CT", me, ReportStatus.pending),
        ("unassigned-stat-ct", "STAT", "CT", None, ReportStatus.assigned),
        ("theirs-stat", "STAT", "CT", colleague, ReportStatus.pending),
        ("unassigned-routine-mr", "ROUTINE", "MR", None, ReportStatus.assigned),
        ("mine-stat", "STAT", "MR", me, ReportStatus.assigned),
        ("unassigned-stat-mr", "STAT", "MR", None, ReportStatus.assigned),
        ("unassigned-ct-ready", "STAT", "CT", None, ReportStatus.ready),
    ]
    made = {}
    for hour, (name, level, modality, assignee, status) in enumerate(spec):
        made[name] = await make_report(
            app,
            user=owner,
            service_level=level,
            modality=modality,
            status=status,
            assignee_id=assignee.id if assignee else None,
            created_at=T0 + timedelta(hours=hour),
        )
    return made


async def test_assigned_me_lists_my_reports_and_unassigned_those_nobody_has_taken(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app, role=Role.clinician)
    me, headers = await signed_in(app, client, Role.radiologist)
    colleague = await create_user(app, role=Role.radiologist)
    made = await _assigned_queue(app, owner, me, colleague)

    mine = await listed(client, headers, assigned="me")
    unassigned = await listed(client, headers, assigned="unassigned")
    everything = await listed(client, headers)

    # the readers' default order holds under the filter: STAT first, then the oldest
    assert names(mine, made) == ["mine-stat", "mine-routine"]
    assert mine["total"] == 2
    assert names(unassigned, made) == [
        "unassigned-stat-ct",
        "unassigned-stat-mr",
        "unassigned-ct-ready",
        "unassigned-routine-mr",
    ]
    assert unassigned["total"] == 4
    assert everything["total"] == 7
    assert all(item["assignee_id"] is None for item in unassigned["items"])
    assert all(item["assignee_id"] == str(me.id) for item in mine["items"])


async def test_the_worklist_filters_combine(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, role=Role.clinician)
    me, headers = await signed_in(app, client, Role.radiologist)
    colleague = await create_user(app, role=Role.radiologist)
    made = await _assigned_queue(app, owner, me, colleague)

    unassigned_ct = await listed(client, headers, assigned="unassigned", modality="CT")
    unassigned_open_ct = await listed(
        client, headers, assigned="unassigned", modality="ct", status=["ASSIGNED", "PENDING"]
    )
    my_stat = await listed(client, headers, assigned="me", service_level="stat")
    unassigned_stat_newest = await listed(
        client, headers, assigned="unassigned", service_level="STAT", sort="-date"
    )
    unassigned_on_the_day = await listed(
        client,
        headers,
        assigned="unassigned",
        date_from="2026-03-02",
        date_to="2026-03-02",
        sort="-service_level",
    )
    nothing_the_day_after = await listed(
        client, headers, assigned="unassigned", date_from="2026-03-03"
    )

    assert names(unassigned_ct, made) == ["unassigned-stat-ct", "unassigned-ct-ready"]
    assert names(unassigned_open_ct, made) == ["unassigned-stat-ct"]
    assert names(my_stat, made) == ["mine-stat"]
    assert names(unassigned_stat_newest, made) == [
        "unassigned-ct-ready",
        "unassigned-stat-mr",
        "unassigned-stat-ct",
    ]
    assert names(unassigned_on_the_day, made) == [
        "unassigned-routine-mr",
        "unassigned-ct-ready",
        "unassigned-stat-mr",
        "unassigned-stat-ct",
    ]
    assert nothing_the_day_after == {"items": [], "total": 0, "page": 1, "page_size": 50}


async def test_the_assignment_filters_paginate(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await create_user(app, role=Role.clinician)
    me, headers = await signed_in(app, client, Role.radiologist)
    for n in range(7):
        await make_report(
            app,
            user=owner,
            assignee_id=me.id if n % 2 else None,
            created_at=T0 + timedelta(minutes=n),
        )

    first = await listed(client, headers, assigned="unassigned", page_size=3)
    second = await listed(client, headers, assigned="unassigned", page_size=3, page=2)

    assert (first["total"], len(first["items"]), len(second["items"])) == (4, 3, 1)
    assert not set(ids(first)) & set(ids(second))


@pytest.mark.parametrize("role", [Role.clinician, Role.radiographer])
async def test_assignment_filters_stay_within_an_uploaders_scope(
    app: FastAPI, client: httpx.AsyncClient, role: Role
) -> None:
    me, headers = await signed_in(app, client, role, facility="North Clinic")
    radiologist = await create_user(app, role=Role.radiologist)
    neighbour = await create_user(app, role=Role.clinician, facility="North Clinic")
    elsewhere = await create_user(app, role=Role.clinician, facility="South Clinic")
    own = await make_report(app, user=me)
    taken = await make_report(app, user=me, assignee_id=radiologist.id)
    next_door = await make_report(app, user=neighbour)
    await make_report(app, user=elsewhere)
    await make_report(app, user=elsewhere, assignee_id=radiologist.id)

    unassigned = await listed(client, headers, assigned="unassigned")
    mine = await listed(client, headers, assigned="me")
    by_radiologist = await listed(client, headers, assignee_id=str(radiologist.id))

    expected = {str(own.id)} | ({str(next_door.id)} if role is Role.radiographer else set())
    assert set(ids(unassigned)) == expected and unassigned["total"] == len(expected)
    # nobody assigns a report to its uploader: "mine" is empty, never someone else's
    assert mine["items"] == [] and mine["total"] == 0
    assert ids(by_radiologist) == [str(taken.id)]


# --- strict validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"assigned": "nobody"},
        {"assigned": "ME"},
        {"assigned": ""},
        {"sort": "service-level"},
        {"sort": "SERVICE_LEVEL"},
        {"sort": "--date"},
    ],
    ids=str,
)
async def test_bad_worklist_values_are_422_validation_errors(
    app: FastAPI, client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    _, headers = await signed_in(app, client, Role.radiologist)

    response = await client.get("/api/reports", params=params, headers=headers)

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


async def test_filters_that_exclude_each_other_answer_an_empty_page_not_an_error(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The contract fuzz sends every schema-valid combination: each is answered."""
    owner = await create_user(app, role=Role.clinician)
    me, headers = await signed_in(app, client, Role.radiologist)
    mine = await make_report(app, user=owner, assignee_id=me.id, created_at=T0)
    await make_report(app, user=owner, created_at=T0)

    reversed_range = await listed(client, headers, date_from="2026-03-03", date_to="2026-03-02")
    unassigned_yet_mine = await listed(
        client, headers, assigned="unassigned", assignee_id=str(me.id)
    )
    mine_twice = await listed(client, headers, assigned="me", assignee_id=str(me.id))
    one_day = await listed(client, headers, date_from="2026-03-02", date_to="2026-03-02")

    assert reversed_range["items"] == [] and reversed_range["total"] == 0
    assert unassigned_yet_mine["items"] == [] and unassigned_yet_mine["total"] == 0
    assert ids(mine_twice) == [str(mine.id)]
    assert one_day["total"] == 2
