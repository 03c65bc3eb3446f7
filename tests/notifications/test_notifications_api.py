"""The notification API: my notifications newest first with the unread count, read/unread,
read-all, nobody else's, and the per-user preference that turns in-app notifications off."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from relaypacs.core.permissions import Role
from relaypacs.notifications import service as notifications
from relaypacs.notifications.models import Notification
from tests.factories import UserFixture, bearer, create_user, login
from tests.reports.factories import make_report

TYPES = ("upload_complete", "report_assigned", "report_ready", "additional_data_required")


async def signed_in(
    app: FastAPI, client: httpx.AsyncClient, role: Role = Role.clinician
) -> tuple[UserFixture, dict[str, str]]:
    user = await create_user(app, role=role)
    return user, bearer(await login(client, user))


async def make_notifications(app: FastAPI, user: UserFixture, count: int) -> list[int]:
    """`count` notifications for `user`, oldest first; returns their ids."""
    async with app.state.database.sessionmaker() as session:
        for n in range(count):
            await notifications.notify(
                session,
                user_ids=[user.id],
                type=TYPES[n % len(TYPES)],
                title=f"Notification {n}",
                body=f"Body {n}",
            )
        await session.commit()
        rows = await session.scalars(
            select(Notification.id).where(Notification.user_id == user.id).order_by(Notification.id)
        )
        return list(rows)


async def page_of(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get("/api/notifications", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_notifications_are_paginated_newest_first_with_the_unread_count(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    me, headers = await signed_in(app, client)
    someone = await create_user(app)
    made = await make_notifications(app, me, 25)
    await make_notifications(app, someone, 3)

    first = await page_of(client, headers)
    second = await page_of(client, headers, page=2)
    small = await page_of(client, headers, page=3, page_size=10)

    newest_first = list(reversed(made))
    assert [n["id"] for n in first["items"]] == newest_first[:20]
    assert [n["id"] for n in second["items"]] == newest_first[20:]
    assert [n["id"] for n in small["items"]] == newest_first[20:25]
    assert first["items"][0]["title"] == "Notification 24"
    assert (first["total"], first["unread_count"], first["page_size"]) == (25, 25, 20)
    assert second["total"] == 25 and second["page"] == 2
    assert all(not n["read"] and n["read_at"] is None for n in first["items"])


@pytest.mark.parametrize(
    "params",
    [{"page_size": 101}, {"page_size": 0}, {"page": 0}, {"page": 10**18}, {"unread_only": "maybe"}],
    ids=str,
)
async def test_bad_notification_page_parameters_are_422(
    app: FastAPI, client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    _, headers = await signed_in(app, client)

    response = await client.get("/api/notifications", params=params, headers=headers)

    assert response.status_code == 422, response.text


async def test_marking_read_and_unread_changes_the_unread_count(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    me, headers = await signed_in(app, client)
    first, second, third = await make_notifications(app, me, 3)

    read = await client.post(f"/api/notifications/{second}/read", headers=headers)
    assert read.status_code == 200, read.text
    assert read.json()["read"] is True and read.json()["read_at"] is not None
    again = await client.post(f"/api/notifications/{second}/read", headers=headers)
    assert again.json()["read_at"] == read.json()["read_at"]  # first reading is kept

    after_read = await page_of(client, headers)
    unread_only = await page_of(client, headers, unread_only=True)
    assert after_read["unread_count"] == 2
    assert {n["id"]: n["read"] for n in after_read["items"]} == {
        first: False,
        second: True,
        third: False,
    }
    assert [n["id"] for n in unread_only["items"]] == [third, first]
    assert unread_only["total"] == 2

    unread = await client.post(f"/api/notifications/{second}/unread", headers=headers)
    assert unread.status_code == 200, unread.text
    assert unread.json()["read"] is False and unread.json()["read_at"] is None
    assert (await page_of(client, headers))["unread_count"] == 3


async def test_read_all_marks_only_my_notifications_read(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    me, headers = await signed_in(app, client)
    other, other_headers = await signed_in(app, client)
    mine = await make_notifications(app, me, 4)
    await make_notifications(app, other, 2)
    await client.post(f"/api/notifications/{mine[0]}/read", headers=headers)

    response = await client.post("/api/notifications/read-all", headers=headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"updated": 3, "unread_count": 0}
    page = await page_of(client, headers)
    assert page["unread_count"] == 0 and all(n["read"] for n in page["items"])
    assert (await page_of(client, other_headers))["unread_count"] == 2
    repeat = await client.post("/api/notifications/read-all", headers=headers)
    assert repeat.json() == {"updated": 0, "unread_count": 0}


@pytest.mark.parametrize("action", ["read", "unread"])
async def test_another_users_notification_is_404(
    app: FastAPI, client: httpx.AsyncClient, action: str
) -> None:
    _, headers = await signed_in(app, client)
    other, other_headers = await signed_in(app, client)
    [theirs] = await make_notifications(app, other, 1)
    if action == "unread":
        await client.post(f"/api/notifications/{theirs}/read", headers=other_headers)
    before = (await page_of(client, other_headers))["items"]

    response = await client.post(f"/api/notifications/{theirs}/{action}", headers=headers)
    missing = await client.post(f"/api/notifications/{theirs + 1000}/{action}", headers=headers)

    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "notification_not_found"
    assert missing.status_code == 404
    assert response.json()["error"] == missing.json()["error"]
    assert (await page_of(client, other_headers))["items"] == before


@pytest.mark.parametrize("notification_id", ["abc", "-1", "0", str(2**63), str(10**30)])
async def test_a_malformed_or_out_of_range_notification_id_is_not_a_server_error(
    app: FastAPI, client: httpx.AsyncClient, notification_id: str
) -> None:
    _, headers = await signed_in(app, client)

    response = await client.post(f"/api/notifications/{notification_id}/read", headers=headers)

    assert response.status_code in (404, 422), response.text


async def test_in_app_off_for_a_type_stores_no_notification_of_that_type(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clinician, headers = await signed_in(app, client)
    _, reader = await signed_in(app, client, Role.radiologist)
    off = {"in_app": False, "push": False, "email": False}
    changed = await client.patch(
        "/api/me/preferences", json={"notifications": {"report_ready": off}}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["notifications"]["report_ready"] == off
    assert changed.json()["notifications"]["report_assigned"]["in_app"] is True
    report = await make_report(app, user=clinician, impression="Normal.")

    for action, body in [("assign", {}), ("status", {"status": "READY"})]:
        response = await client.post(
            f"/api/reports/{report.id}/{action}", json=body, headers=reader
        )
        assert response.status_code == 200, response.text

    page = await page_of(client, headers)
    assert [n["type"] for n in page["items"]] == ["report_assigned", "upload_complete"]
    async with app.state.database.sessionmaker() as session:
        stored = (
            await session.scalars(
                select(Notification.type).where(Notification.user_id == clinician.id)
            )
        ).all()
    assert "report_ready" not in stored and len(stored) == 2
