"""Facility membership (issue 12 §1): self-registration only *requests* a facility and
role; facility-wide access is granted by an admin, and seeing a report is not enough to
answer for it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from relaypacs.audit.models import AuditEvent
from relaypacs.auth.models import User
from relaypacs.core.database import utcnow
from relaypacs.core.permissions import Role
from tests.factories import bearer, create_user, login
from tests.reports.factories import make_report

PASSWORD = "marmalade-satellite-cobalt-19"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_limit": {"login_per_ip": "1000/minute", "register_per_ip": "1000/minute"}}


async def _admin(app: FastAPI, client: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await login(client, await create_user(app, role=Role.admin)))


async def _facility(client: httpx.AsyncClient, admin: dict[str, str], name: str) -> str:
    created = await client.post("/api/facilities", headers=admin, json={"name": name})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _register(client: httpx.AsyncClient, app: FastAPI, **form: Any) -> dict[str, str]:
    """Register through the API, verify the address, sign in; the Authorization headers."""
    body = {
        "email": "mallory@example.org",
        "username": "mallory",
        "full_name": "Mallory Example",
        "password": PASSWORD,
        "role": "radiographer",
    } | form
    registered = await client.post("/api/auth/register", json=body)
    assert registered.status_code == 202, registered.text
    async with app.state.database.sessionmaker() as session:
        await session.execute(
            update(User).where(User.username == body["username"]).values(email_verified_at=utcnow())
        )
        await session.commit()
    tokens = await client.post(
        "/api/auth/login", json={"login": body["username"], "password": PASSWORD}
    )
    assert tokens.status_code == 200, tokens.text
    return bearer(tokens.json())


async def _visible(client: httpx.AsyncClient, headers: dict[str, str]) -> set[str]:
    page = (await client.get("/api/reports", headers=headers)).json()
    return {item["id"] for item in page["items"]}


async def test_a_self_registered_radiographer_sees_none_of_the_facilitys_reports_until_approved(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await _admin(app, client)
    clinic_id = await _facility(client, admin, "Rural Clinic 4")
    colleague = await create_user(app, facility="Rural Clinic 4")
    theirs = await make_report(app, user=colleague)

    mallory = await _register(client, app, facility_id=clinic_id)
    me = (await client.get("/api/auth/me", headers=mallory)).json()
    assert me["role"] == "clinician" and me["facility"] is None
    assert "report:read_facility" not in me["permissions"]
    assert me["membership"]["facility"] == "Rural Clinic 4"
    assert me["membership"]["role"] == "radiographer"
    assert await _visible(client, mallory) == set()
    hidden = await client.get(f"/api/reports/{theirs.id}", headers=mallory)
    assert hidden.status_code == 404
    note = await client.post(
        f"/api/reports/{theirs.id}/notes", headers=mallory, json={"body": "on their behalf"}
    )
    assert note.status_code == 404

    pending = (await client.get("/api/users?pending=true", headers=admin)).json()
    assert [u["username"] for u in pending["items"]] == ["mallory"]
    mallory_id = pending["items"][0]["id"]
    approved = await client.post(f"/api/users/{mallory_id}/membership/approve", headers=admin)
    assert approved.status_code == 200, approved.text
    assert approved.json()["role"] == "radiographer"
    assert approved.json()["facility"] == "Rural Clinic 4"
    assert approved.json()["membership"] is None
    # Access changed: the old session ends; signed in again, the facility's reports show.
    assert (await client.get("/api/auth/me", headers=mallory)).status_code == 401
    tokens = await client.post("/api/auth/login", json={"login": "mallory", "password": PASSWORD})
    mallory = bearer(tokens.json())
    assert await _visible(client, mallory) == {str(theirs.id)}
    # Seeing the report is not answering for its uploader.
    note = await client.post(
        f"/api/reports/{theirs.id}/notes", headers=mallory, json={"body": "on their behalf"}
    )
    assert note.status_code == 403 and note.json()["error"]["code"] == "not_report_owner"
    assert (await client.get("/api/users?pending=true", headers=admin)).json()["total"] == 0
    async with app.state.database.sessionmaker() as session:
        actions = set(
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.target_id == mallory_id)
            )
        )
    assert {"membership_approved", "role_changed", "facility_changed"} <= actions


async def test_an_account_without_a_facility_still_sees_its_own_reports(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    mallory = await _register(client, app)
    async with app.state.database.sessionmaker() as session:
        user = await session.scalar(select(User).where(User.username == "mallory"))
        assert user is not None and user.facility_id is None
    owner = await create_user(app, username="mallory-fixture", facility=None)
    other = await create_user(app, facility=None)
    mine = await make_report(app, user=owner)
    await make_report(app, user=other)  # another facility-less user's: not visible
    headers = bearer(await login(client, owner))
    assert await _visible(client, headers) == {str(mine.id)}
    assert await _visible(client, mallory) == set()


async def test_a_rejected_request_grants_nothing_and_approving_twice_is_409(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await _admin(app, client)
    clinic_id = await _facility(client, admin, "Hillside")
    await _register(client, app, facility_id=clinic_id)
    user_id = (await client.get("/api/users?pending=true", headers=admin)).json()["items"][0]["id"]
    rejected = await client.post(f"/api/users/{user_id}/membership/reject", headers=admin)
    assert rejected.status_code == 200
    assert rejected.json()["role"] == "clinician" and rejected.json()["facility"] is None
    again = await client.post(f"/api/users/{user_id}/membership/approve", headers=admin)
    assert again.status_code == 409 and again.json()["error"]["code"] == "no_pending_request"
    bad = await client.post(f"/api/users/{user_id}/membership/maybe", headers=admin)
    assert bad.status_code == 422


async def test_setting_the_facility_by_hand_answers_the_pending_request(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await _admin(app, client)
    asked = await _facility(client, admin, "Asked For")
    given = await _facility(client, admin, "Given Instead")
    await _register(client, app, facility_id=asked)
    user_id = (await client.get("/api/users?pending=true", headers=admin)).json()["items"][0]["id"]
    changed = await client.patch(
        f"/api/users/{user_id}", headers=admin, json={"facility_id": given}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["facility"] == "Given Instead" and changed.json()["membership"] is None
    assert changed.json()["role"] == "clinician"  # the role asked for was not granted
    removed = await client.patch(f"/api/users/{user_id}", headers=admin, json={"facility_id": None})
    assert removed.json()["facility"] is None and removed.json()["facility_id"] is None
    unknown = await client.patch(
        f"/api/users/{user_id}",
        headers=admin,
        json={"facility_id": "00000000-0000-4000-8000-000000000000"},
    )
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_facility"


async def test_registration_only_offers_open_facilities_and_refuses_others(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await _admin(app, client)
    open_id = await _facility(client, admin, "Open Clinic")
    closed_id = await _facility(client, admin, "Closed Clinic")
    closed = await client.patch(
        f"/api/facilities/{closed_id}", headers=admin, json={"is_active": False}
    )
    assert closed.status_code == 200 and closed.json()["is_active"] is False

    offered = await client.get("/api/facilities")  # anonymous
    assert offered.status_code == 200
    items = offered.json()["items"]
    assert [f["name"] for f in items if f["id"] in {open_id, closed_id}] == ["Open Clinic"]
    assert all(set(f) == {"id", "name"} for f in items)

    for facility_id in (closed_id, "00000000-0000-4000-8000-000000000000"):
        refused = await client.post(
            "/api/auth/register",
            json={
                "email": "eve@example.org",
                "username": "eve",
                "full_name": "Eve Example",
                "password": PASSWORD,
                "facility_id": facility_id,
            },
        )
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "unknown_facility"
    async with app.state.database.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(User).where(User.username == "eve")
        )
    assert count == 0


async def test_admins_create_rename_and_deactivate_facilities(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await _admin(app, client)
    north = await _facility(client, admin, "North Clinic")
    duplicate = await client.post("/api/facilities", headers=admin, json={"name": "north clinic"})
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "facility_name_taken"
    blank = await client.post("/api/facilities", headers=admin, json={"name": "  "})
    assert blank.status_code == 422
    renamed = await client.patch(
        f"/api/facilities/{north}", headers=admin, json={"name": "North Clinic (Annex)"}
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "North Clinic (Annex)"
    await client.patch(f"/api/facilities/{north}", headers=admin, json={"is_active": False})
    listed = (await client.get("/api/facilities/all", headers=admin)).json()["items"]
    assert {"name": "North Clinic (Annex)", "is_active": False}.items() <= next(
        f for f in listed if f["id"] == north
    ).items()
    clinician = bearer(await login(client, await create_user(app)))
    forbidden = await client.post("/api/facilities", headers=clinician, json={"name": "Mine"})
    assert forbidden.status_code == 403
    audit = (await client.get(f"/api/audit?target_id={north}", headers=admin)).json()
    assert {e["action"] for e in audit["items"]} == {"facility_created", "facility_updated"}
