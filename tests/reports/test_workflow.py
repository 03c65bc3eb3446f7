"""The report workflow through the API: transitions (from the table and from an independent
list), required message and impression, READY is final, auditing, the clinician's answer,
assignment, and who is notified."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from relaypacs.core.permissions import Role
from relaypacs.notifications.models import Notification
from relaypacs.reports import workflow
from relaypacs.reports.models import Report, ReportStatus
from tests.factories import UserFixture, bearer, create_user, login
from tests.reports.factories import make_report, make_upload

A = ReportStatus.assigned
P = ReportStatus.pending
R = ReportStatus.ready
D = ReportStatus.additional_data_required

# Written from the issue and the workflow's diagram, not from `workflow.ALLOWED`:
# the queue and reporting can go back and forth, either can ask for more data, the
# clinician's answer sends it back, and any open report can become READY (the PACS sync
# finds a report whatever the local status). READY is final; no status goes to itself.
EXPECTED_LEGAL = {
    (A, P),
    (A, D),
    (A, R),
    (P, A),
    (P, D),
    (P, R),
    (D, P),
    (D, A),
    (D, R),
}
TABLE_LEGAL = {(a, b) for a, targets in workflow.ALLOWED.items() for b in targets}
ALL_PAIRS = {(a, b) for a, b in itertools.product(ReportStatus, ReportStatus)}

# Any disagreement between the table and the list lands a pair in both sets: one fails.
LEGAL = sorted(EXPECTED_LEGAL | TABLE_LEGAL)
ILLEGAL = sorted(ALL_PAIRS - (EXPECTED_LEGAL & TABLE_LEGAL))


def _id(pair: tuple[ReportStatus, ReportStatus]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


async def signed_in(
    app: FastAPI, client: httpx.AsyncClient, role: Role, **kwargs: Any
) -> tuple[UserFixture, dict[str, str]]:
    user = await create_user(app, role=role, **kwargs)
    return user, bearer(await login(client, user))


def _status_body(target: ReportStatus) -> dict[str, Any]:
    body: dict[str, Any] = {"status": target.value}
    if target is D:
        body["message"] = "Please send the lateral view."
    return body


async def _report_in(app: FastAPI, owner: UserFixture, status: ReportStatus) -> uuid.UUID:
    extra: dict[str, Any] = {"impression": "No acute abnormality."}
    if status is D:
        extra["additional_data_message"] = "Which side?"
    report = await make_report(app, user=owner, status=status, **extra)
    return report.id


async def _audit(
    client: httpx.AsyncClient, admin: dict[str, str], report_id: uuid.UUID, action: str
) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/audit", params={"target_id": str(report_id), "action": action}, headers=admin
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return sorted(items, key=lambda e: e["id"])


async def _notifications(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> list[dict[str, Any]]:
    response = await client.get("/api/notifications", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


# --- the transition table -----------------------------------------------------------


def test_the_transition_table_allows_exactly_the_expected_transitions() -> None:
    assert TABLE_LEGAL == EXPECTED_LEGAL
    assert set(workflow.ALLOWED) == set(ReportStatus)
    assert {A, P, D} == workflow.OPEN


@pytest.mark.parametrize(("current", "target"), LEGAL, ids=[_id(p) for p in LEGAL])
async def test_a_legal_transition_changes_the_status_through_the_api(
    app: FastAPI, client: httpx.AsyncClient, current: ReportStatus, target: ReportStatus
) -> None:
    clinician = await create_user(app, role=Role.clinician)
    radiologist, headers = await signed_in(app, client, Role.radiologist)
    report_id = await _report_in(app, clinician, current)

    response = await client.post(
        f"/api/reports/{report_id}/status", json=_status_body(target), headers=headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == target.value
    stored = (await client.get(f"/api/reports/{report_id}", headers=headers)).json()
    assert stored["status"] == target.value
    if target is R:
        assert stored["ready_at"] is not None
        assert stored["reported_by_id"] == str(radiologist.id)
    if target is D:
        assert stored["additional_data_message"] == "Please send the lateral view."


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=[_id(p) for p in ILLEGAL])
async def test_an_illegal_transition_is_409_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, current: ReportStatus, target: ReportStatus
) -> None:
    clinician = await create_user(app, role=Role.clinician)
    _, headers = await signed_in(app, client, Role.radiologist)
    _, admin = await signed_in(app, client, Role.admin)
    report_id = await _report_in(app, clinician, current)
    before = (await client.get(f"/api/reports/{report_id}", headers=headers)).json()

    response = await client.post(
        f"/api/reports/{report_id}/status", json=_status_body(target), headers=headers
    )

    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "illegal_transition"
    after = (await client.get(f"/api/reports/{report_id}", headers=headers)).json()
    assert after == before
    assert await _audit(client, admin, report_id, "report_status_changed") == []


# --- what a transition needs ----------------------------------------------------------


@pytest.mark.parametrize("message", [None, "", "   "])
async def test_additional_data_required_without_a_message_is_422(
    app: FastAPI, client: httpx.AsyncClient, message: str | None
) -> None:
    clinician = await create_user(app, role=Role.clinician)
    _, headers = await signed_in(app, client, Role.radiologist)
    report = await make_report(app, user=clinician)
    body: dict[str, Any] = {"status": D.value}
    if message is not None:
        body["message"] = message

    response = await client.post(f"/api/reports/{report.id}/status", json=body, headers=headers)

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "message_required"
    stored = (await client.get(f"/api/reports/{report.id}", headers=headers)).json()
    assert stored["status"] == A.value and stored["additional_data_message"] is None


@pytest.mark.parametrize("impression", [None, "  \n"])
async def test_ready_without_an_impression_is_422(
    app: FastAPI, client: httpx.AsyncClient, impression: str | None
) -> None:
    clinician = await create_user(app, role=Role.clinician)
    _, headers = await signed_in(app, client, Role.radiologist)
    report = await make_report(app, user=clinician, status=P, findings="Some findings.")
    if impression is not None:
        patched = await client.patch(
            f"/api/reports/{report.id}", json={"impression": impression}, headers=headers
        )
        assert patched.status_code == 200, patched.text

    response = await client.post(
        f"/api/reports/{report.id}/status", json={"status": R.value}, headers=headers
    )

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "report_incomplete"
    stored = (await client.get(f"/api/reports/{report.id}", headers=headers)).json()
    assert stored["status"] == P.value and stored["ready_at"] is None


async def test_a_ready_report_is_final(app: FastAPI, client: httpx.AsyncClient) -> None:
    clinician = await create_user(app, role=Role.clinician)
    _, headers = await signed_in(app, client, Role.radiologist)
    report = await make_report(app, user=clinician, status=P)
    written = await client.patch(
        f"/api/reports/{report.id}",
        json={"findings": "Clear lungs.", "impression": "Normal chest."},
        headers=headers,
    )
    assert written.status_code == 200, written.text
    ready = await client.post(
        f"/api/reports/{report.id}/status", json={"status": R.value}, headers=headers
    )
    assert ready.status_code == 200, ready.text
    before = (await client.get(f"/api/reports/{report.id}", headers=headers)).json()

    edit = await client.patch(
        f"/api/reports/{report.id}", json={"findings": "Changed my mind."}, headers=headers
    )
    assign = await client.post(
        f"/api/reports/{report.id}/assign", json={"assignee_id": None}, headers=headers
    )
    back = await client.post(
        f"/api/reports/{report.id}/status", json={"status": P.value}, headers=headers
    )

    assert edit.status_code == 409 and edit.json()["error"]["code"] == "report_closed"
    assert assign.status_code == 409 and assign.json()["error"]["code"] == "report_closed"
    assert back.status_code == 409 and back.json()["error"]["code"] == "illegal_transition"
    after = (await client.get(f"/api/reports/{report.id}", headers=headers)).json()
    assert after == before
    assert after["findings"] == "Clear lungs." and after["impression"] == "Normal chest."


# --- audit ----------------------------------------------------------------------------


async def test_each_status_change_is_audited_with_who_and_from_to(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clinician = await create_user(app, role=Role.clinician)
    radiologist, headers = await signed_in(app, client, Role.radiologist)
    _, admin = await signed_in(app, client, Role.admin)
    report = await make_report(app, user=clinician, impression="Normal.")

    for target in (P, D, A, R):
        response = await client.post(
            f"/api/reports/{report.id}/status", json=_status_body(target), headers=headers
        )
        assert response.status_code == 200, response.text
    edited = await client.patch(
        f"/api/reports/{report.id}", json={"findings": "late"}, headers=headers
    )
    assert edited.status_code == 409

    events = await _audit(client, admin, report.id, "report_status_changed")
    assert [(e["details"]["from"], e["details"]["to"]) for e in events] == [
        ("ASSIGNED", "PENDING"),
        ("PENDING", "ADDITIONAL_DATA_REQUIRED"),
        ("ADDITIONAL_DATA_REQUIRED", "ASSIGNED"),
        ("ASSIGNED", "READY"),
    ]
    assert {e["actor_id"] for e in events} == {str(radiologist.id)}
    assert all(e["target_type"] == "report" and e["occurred_at"] for e in events)


async def test_edits_and_assignments_are_audited(app: FastAPI, client: httpx.AsyncClient) -> None:
    clinician = await create_user(app, role=Role.clinician)
    radiologist, headers = await signed_in(app, client, Role.radiologist)
    _, admin = await signed_in(app, client, Role.admin)
    report = await make_report(app, user=clinician)

    await client.patch(f"/api/reports/{report.id}", json={"findings": "x"}, headers=headers)
    await client.post(f"/api/reports/{report.id}/assign", json={}, headers=headers)

    [edited] = await _audit(client, admin, report.id, "report_edited")
    [assigned] = await _audit(client, admin, report.id, "report_assigned")
    assert edited["actor_id"] == assigned["actor_id"] == str(radiologist.id)
    assert edited["details"]["fields"] == ["findings"]
    assert assigned["details"] == {"from": None, "to": str(radiologist.id)}


# --- the clinician's answer -------------------------------------------------------------


async def test_a_clinicians_note_on_a_report_needing_data_moves_it_to_pending(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clinician, clinician_headers = await signed_in(app, client, Role.clinician)
    _, headers = await signed_in(app, client, Role.radiologist)
    _, admin = await signed_in(app, client, Role.admin)
    report = await make_report(app, user=clinician)
    asked = await client.post(
        f"/api/reports/{report.id}/status",
        json={"status": D.value, "message": "Send the lateral view."},
        headers=headers,
    )
    assert asked.status_code == 200, asked.text
    new_upload = await make_upload(app, user=clinician)

    note = await client.post(
        f"/api/reports/{report.id}/notes",
        json={"body": "Lateral view uploaded.", "upload_id": str(new_upload)},
        headers=clinician_headers,
    )

    assert note.status_code == 201, note.text
    assert note.json()["upload_id"] == str(new_upload)
    stored = (await client.get(f"/api/reports/{report.id}", headers=clinician_headers)).json()
    assert stored["status"] == P.value
    assert [(n["body"], n["author_id"]) for n in stored["notes"]] == [
        ("Lateral view uploaded.", str(clinician.id))
    ]
    last = (await _audit(client, admin, report.id, "report_status_changed"))[-1]
    assert last["actor_id"] == str(clinician.id)
    assert (last["details"]["from"], last["details"]["to"]) == (D.value, P.value)


async def test_a_clinicians_note_on_a_report_not_waiting_for_data_keeps_its_status(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clinician, clinician_headers = await signed_in(app, client, Role.clinician)
    report = await make_report(app, user=clinician)

    note = await client.post(
        f"/api/reports/{report.id}/notes", json={"body": "FYI"}, headers=clinician_headers
    )

    assert note.status_code == 201, note.text
    stored = (await client.get(f"/api/reports/{report.id}", headers=clinician_headers)).json()
    assert stored["status"] == A.value


async def test_a_note_linking_someone_elses_upload_is_404(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clinician, clinician_headers = await signed_in(app, client, Role.clinician)
    stranger = await create_user(app, role=Role.clinician)
    report = await make_report(app, user=clinician, status=D, additional_data_message="More?")
    theirs = await make_upload(app, user=stranger)

    response = await client.post(
        f"/api/reports/{report.id}/notes",
        json={"body": "Here it is.", "upload_id": str(theirs)},
        headers=clinician_headers,
    )
    missing = await client.post(
        f"/api/reports/{report.id}/notes",
        json={"body": "Here it is.", "upload_id": str(uuid.uuid4())},
        headers=clinician_headers,
    )

    assert response.status_code == 404, response.text
    assert missing.status_code == 404, missing.text
    assert response.json()["error"]["code"] == missing.json()["error"]["code"]
    stored = (await client.get(f"/api/reports/{report.id}", headers=clinician_headers)).json()
    assert stored["status"] == D.value and stored["notes"] == []


# --- assignment -----------------------------------------------------------------------


async def test_a_radiologist_assigns_a_report_to_themselves(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clinician = await create_user(app, role=Role.clinician)
    radiologist, headers = await signed_in(app, client, Role.radiologist)
    report = await make_report(app, user=clinician)

    response = await client.post(f"/api/reports/{report.id}/assign", json={}, headers=headers)

    assert response.status_code == 200, response.text
    assert response.json()["assignee_id"] == str(radiologist.id)


async def test_a_report_can_be_assigned_to_another_radiologist(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clinician = await create_user(app, role=Role.clinician)
    _, admin = await signed_in(app, client, Role.admin)
    colleague, colleague_headers = await signed_in(app, client, Role.radiologist)
    report = await make_report(app, user=clinician)

    response = await client.post(
        f"/api/reports/{report.id}/assign", json={"assignee_id": str(colleague.id)}, headers=admin
    )

    assert response.status_code == 200, response.text
    assert response.json()["assignee_id"] == str(colleague.id)
    mine = await client.get(
        "/api/reports", params={"assignee_id": str(colleague.id)}, headers=colleague_headers
    )
    assert [r["id"] for r in mine.json()["items"]] == [str(report.id)]
    told = [
        n for n in await _notifications(client, colleague_headers) if n["type"] == "report_assigned"
    ]
    assert [n["report_id"] for n in told] == [str(report.id)]


@pytest.mark.parametrize(
    ("role", "active"),
    [
        (Role.clinician, True),
        (Role.radiographer, True),
        (Role.admin, True),
        (Role.radiologist, False),
    ],
    ids=["clinician", "radiographer", "another-admin", "disabled-radiologist"],
)
async def test_assigning_to_anyone_but_an_active_radiologist_is_422(
    app: FastAPI, client: httpx.AsyncClient, role: Role, active: bool
) -> None:
    clinician = await create_user(app, role=Role.clinician)
    _, headers = await signed_in(app, client, Role.radiologist)
    target = await create_user(app, role=role, active=active)
    report = await make_report(app, user=clinician)

    response = await client.post(
        f"/api/reports/{report.id}/assign", json={"assignee_id": str(target.id)}, headers=headers
    )
    unknown = await client.post(
        f"/api/reports/{report.id}/assign", json={"assignee_id": str(uuid.uuid4())}, headers=headers
    )

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_assignee"
    assert unknown.status_code == 422, unknown.text
    stored = (await client.get(f"/api/reports/{report.id}", headers=headers)).json()
    assert stored["assignee_id"] is None


# --- notifications ----------------------------------------------------------------------


async def test_the_uploader_is_notified_of_assignment_more_data_and_ready(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clinician, clinician_headers = await signed_in(app, client, Role.clinician)
    _, headers = await signed_in(app, client, Role.radiologist)
    report = await make_report(app, user=clinician, impression="Normal.")

    steps = [
        ("assign", {}),
        ("status", {"status": D.value, "message": "Which knee?"}),
        ("status", {"status": R.value}),
    ]
    for action, body in steps:
        response = await client.post(
            f"/api/reports/{report.id}/{action}", json=body, headers=headers
        )
        assert response.status_code == 200, response.text

    received = await _notifications(client, clinician_headers)
    by_type = {n["type"]: n for n in received}
    assert [n["type"] for n in received] == [  # newest first
        "report_ready",
        "additional_data_required",
        "report_assigned",
        "upload_complete",
    ]
    assert all(n["report_id"] == str(report.id) for n in received)
    assert all(n["upload_id"] == str(report.upload_id) for n in received)
    assert by_type["additional_data_required"]["body"] == "Which knee?"


@pytest.mark.parametrize(
    ("service_level", "radiologists_told"),
    [("STAT", True), ("EMERGENCY", True), ("ROUTINE", False)],
)
async def test_a_new_urgent_study_notifies_the_radiologists(
    app: FastAPI, client: httpx.AsyncClient, service_level: str, radiologists_told: bool
) -> None:
    clinician = await create_user(app, role=Role.clinician)
    _, reader = await signed_in(app, client, Role.radiologist)
    _, other_reader = await signed_in(app, client, Role.radiologist)
    await create_user(app, role=Role.radiologist, active=False)
    _, admin = await signed_in(app, client, Role.admin)

    report = await make_report(app, user=clinician, service_level=service_level)

    for headers in (reader, other_reader):
        told = await _notifications(client, headers)
        expected = [("upload_complete", str(report.id))] if radiologists_told else []
        assert [(n["type"], n["report_id"]) for n in told] == expected
    assert await _notifications(client, admin) == []
    async with app.state.database.sessionmaker() as session:
        stored = await session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.report_id == report.id)
        )
        reports = await session.scalar(
            select(func.count()).select_from(Report).where(Report.upload_id == report.upload_id)
        )
    # the uploader, plus the two active radiologists (not the disabled one) when urgent
    assert stored == (3 if radiologists_told else 1)
    assert reports == 1


# --- concurrent changes -----------------------------------------------------------------


async def test_concurrent_status_changes_apply_one_after_the_other(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clinician = await create_user(app, role=Role.clinician)
    _, first = await signed_in(app, client, Role.radiologist)
    _, second = await signed_in(app, client, Role.radiologist)
    _, admin = await signed_in(app, client, Role.admin)

    for _ in range(3):
        report = await make_report(app, user=clinician, impression="Normal.")
        ready, more = await asyncio.gather(
            client.post(
                f"/api/reports/{report.id}/status", json={"status": "READY"}, headers=first
            ),
            client.post(
                f"/api/reports/{report.id}/status",
                json={"status": D.value, "message": "Which side?"},
                headers=second,
            ),
        )

        # READY first: the request for more data is too late. More data first: READY is
        # still allowed from ADDITIONAL_DATA_REQUIRED, so both apply, in that order.
        final = (await client.get(f"/api/reports/{report.id}", headers=first)).json()
        events = await _audit(client, admin, report.id, "report_status_changed")
        steps = [(e["details"]["from"], e["details"]["to"]) for e in events]
        if more.status_code == 409:
            assert ready.status_code == 200 and final["status"] == R.value
            assert steps == [(A.value, R.value)]
        else:
            assert (ready.status_code, more.status_code) == (200, 200), (ready.text, more.text)
            assert steps == [(A.value, D.value), (D.value, R.value)]
            assert final["status"] == R.value
        assert final["ready_at"] is not None


async def test_a_ready_report_cannot_be_edited_by_a_concurrent_request(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clinician = await create_user(app, role=Role.clinician)
    _, first = await signed_in(app, client, Role.radiologist)
    _, second = await signed_in(app, client, Role.radiologist)
    _, admin = await signed_in(app, client, Role.admin)

    for _ in range(3):
        report = await make_report(app, user=clinician, status=P, impression="Normal.")
        ready, edit = await asyncio.gather(
            client.post(
                f"/api/reports/{report.id}/status", json={"status": "READY"}, headers=first
            ),
            client.patch(f"/api/reports/{report.id}", json={"findings": "Late."}, headers=second),
        )

        assert ready.status_code == 200, ready.text
        [made_ready] = await _audit(client, admin, report.id, "report_status_changed")
        edits = await _audit(client, admin, report.id, "report_edited")
        if edit.status_code == 409:
            assert edit.json()["error"]["code"] == "report_closed" and edits == []
        else:
            assert edit.status_code == 200, edit.text
            [edited] = edits
            assert edited["id"] < made_ready["id"]  # edited while still open
