from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from relaypacs.core.permissions import Role
from tests.factories import bearer, create_user, login


async def _admin(app: FastAPI, client: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await login(client, await create_user(app, role=Role.admin)))


async def test_list_is_paginated_and_filtered_by_role_and_facility(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = await _admin(app, client)
    for _ in range(3):
        await create_user(app, role=Role.radiologist, facility="North")
    await create_user(app, role=Role.clinician, facility="South")
    page = (await client.get("/api/users?page=1&page_size=2", headers=headers)).json()
    assert page["total"] == 5 and len(page["items"]) == 2
    second = (await client.get("/api/users?page=3&page_size=2", headers=headers)).json()
    assert len(second["items"]) == 1
    inactive = await client.get("/api/users?active=false", headers=headers)
    assert inactive.json()["total"] == 0
    rads = (await client.get("/api/users?role=radiologist", headers=headers)).json()
    assert rads["total"] == 3 and {u["role"] for u in rads["items"]} == {"radiologist"}
    south_id = (await create_user(app, facility="South")).facility_id
    south = (await client.get(f"/api/users?facility_id={south_id}", headers=headers)).json()
    assert south["total"] == 2 and {u["facility"] for u in south["items"]} == {"South"}
    assert "password_hash" not in south["items"][0]
    bad = await client.get("/api/users?role=wizard", headers=headers)
    assert bad.status_code == 422


async def test_admin_creates_a_radiologist_who_can_log_in(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = await _admin(app, client)
    created = await client.post(
        "/api/users",
        headers=headers,
        json={
            "email": "rad@example.org",
            "username": "rad1",
            "full_name": "Dr Rad",
            "role": "radiologist",
            "password": "opaline-meridian-sparrow-5",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["email_verified"] is True
    r = await client.post(
        "/api/auth/login", json={"login": "rad1", "password": "opaline-meridian-sparrow-5"}
    )
    assert r.status_code == 200
    dup = await client.post(
        "/api/users",
        headers=headers,
        json={
            "email": "other@example.org",
            "username": "rad1",
            "full_name": "Dr Rad",
            "role": "radiologist",
            "password": "opaline-meridian-sparrow-5",
        },
    )
    assert dup.status_code == 409


async def test_role_change_is_audited(app: FastAPI, client: httpx.AsyncClient) -> None:
    headers = await _admin(app, client)
    user = await create_user(app)
    r = await client.patch(f"/api/users/{user.id}", headers=headers, json={"role": "radiologist"})
    assert r.status_code == 200 and r.json()["role"] == "radiologist"
    audit = (
        await client.get(f"/api/audit?action=role_changed&target_id={user.id}", headers=headers)
    ).json()
    assert audit["total"] == 1
    assert audit["items"][0]["details"] == {"from": "clinician", "to": "radiologist"}


@pytest.mark.parametrize("change", [{"role": "radiographer"}, {"facility_id": "another"}])
async def test_a_role_or_facility_change_ends_the_users_sessions(
    app: FastAPI, client: httpx.AsyncClient, change: dict[str, str]
) -> None:
    """What a user may see follows their role and facility: they sign in again after a
    change, and their open streams close at the next session check."""
    headers = await _admin(app, client)
    if "facility_id" in change:
        another = await create_user(app, facility="Another Hospital")
        change = {"facility_id": str(another.facility_id)}
    user = await create_user(app)
    before = await login(client, user)
    r = await client.patch(f"/api/users/{user.id}", headers=headers, json=change)
    assert r.status_code == 200
    assert (await client.get("/api/auth/me", headers=bearer(before))).status_code == 401
    after = await login(client, user)
    me = (await client.get("/api/auth/me", headers=bearer(after))).json()
    assert {k: me[k] for k in change} == change
    unchanged = await client.patch(f"/api/users/{user.id}", headers=headers, json=change)
    assert unchanged.status_code == 200
    assert (await client.get("/api/auth/me", headers=bearer(after))).status_code == 200


async def test_disabling_a_user_revokes_all_their_sessions_at_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = await _admin(app, client)
    user = await create_user(app)
    devices = [await login(client, user) for _ in range(3)]
    r = await client.patch(f"/api/users/{user.id}", headers=headers, json={"is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False
    for tokens in devices:
        assert (await client.get("/api/auth/me", headers=bearer(tokens))).status_code == 401
        assert (
            await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        ).status_code == 401
    r = await client.patch(f"/api/users/{user.id}", headers=headers, json={"is_active": True})
    assert r.status_code == 200
    await login(client, user)


async def test_admin_cannot_demote_or_disable_themselves(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await create_user(app, role=Role.admin)
    headers = bearer(await login(client, admin))
    for change in ({"role": "clinician"}, {"is_active": False}):
        r = await client.patch(f"/api/users/{admin.id}", headers=headers, json=change)
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "cannot_change_own_account"


async def test_unknown_or_malformed_user_id_is_404_and_unknown_field_is_422(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = await _admin(app, client)
    missing = await client.get("/api/users/00000000-0000-0000-0000-000000000000", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "user_not_found"
    # Not a UUID: no route has such a path (ids in paths are matched as UUIDs).
    not_uuid = await client.get("/api/users/not-a-uuid", headers=headers)
    assert not_uuid.status_code == 404 and not_uuid.json()["error"]["code"] == "not_found"
    user = await create_user(app)
    extra = await client.patch(
        f"/api/users/{user.id}", headers=headers, json={"password_hash": "x"}
    )
    assert extra.status_code == 422


async def test_the_list_searches_username_email_and_name_in_any_case(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = await _admin(app, client)
    await create_user(app, username="okonkwo.a", email="ada@clinic.example")
    await create_user(app, username="brightwater", email="sam@north.example")
    named = await create_user(app, username="p_100", email="p100@x.example")
    await client.patch(f"/api/users/{named.id}", headers=headers, json={"full_name": "Z Mokoena"})

    def names(body: dict[str, object]) -> set[str]:
        return {u["username"] for u in body["items"]}  # type: ignore[attr-defined]

    by_username = (await client.get("/api/users?q=OKONK", headers=headers)).json()
    assert names(by_username) == {"okonkwo.a"} and by_username["total"] == 1
    by_email = (await client.get("/api/users?q=north.example", headers=headers)).json()
    assert names(by_email) == {"brightwater"}
    by_name = (await client.get("/api/users?q=mokoena", headers=headers)).json()
    assert names(by_name) == {"p_100"}
    # LIKE wildcards are matched literally, not as patterns.
    wildcard = (await client.get("/api/users?q=p_1", headers=headers)).json()
    assert names(wildcard) == {"p_100"}
    assert (await client.get("/api/users?q=%25", headers=headers)).json()["total"] == 0
    too_long = await client.get("/api/users?q=" + "a" * 101, headers=headers)
    assert too_long.status_code == 422


async def test_an_admin_sees_a_users_active_sessions_and_the_viewing_is_audited(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = await _admin(app, client)
    user = await create_user(app)
    await client.post(
        "/api/auth/login",
        json={"login": user.username, "password": user.password},
        headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36"},
    )
    second = await login(client, user)
    listed = await client.get(f"/api/users/{user.id}/sessions", headers=headers)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert len(items) == 2 and all(not s["current"] for s in items)
    assert {"ip", "device", "browser", "created_at", "last_seen_at"} <= items[0].keys()
    own = await client.get(f"/api/users/{user.id}/sessions", headers=bearer(second))
    assert own.status_code == 403
    missing = await client.get(f"/api/users/{uuid.uuid4()}/sessions", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "user_not_found"
    # Disabled: every session is gone at once.
    await client.patch(f"/api/users/{user.id}", headers=headers, json={"is_active": False})
    after = (await client.get(f"/api/users/{user.id}/sessions", headers=headers)).json()
    assert after["items"] == []
    audit = (
        await client.get(
            f"/api/audit?action=user_sessions_viewed&target_id={user.id}", headers=headers
        )
    ).json()
    assert audit["total"] == 2
