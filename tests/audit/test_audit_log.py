from __future__ import annotations

import httpx
from fastapi import FastAPI

from relaypacs.core.permissions import Role
from tests.factories import bearer, create_user, login


async def test_authentication_events_are_recorded_with_ip_and_request_id(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = bearer(await login(client, await create_user(app, role=Role.admin)))
    user = await create_user(app)
    await client.post(
        "/api/auth/login",
        json={"login": user.username, "password": "bad-password-1"},
        headers={"X-Request-ID": "audit-req-1"},
    )
    tokens = await login(client, user)
    await client.post("/api/auth/logout", headers=bearer(tokens))
    failures = (
        await client.get(f"/api/audit?actor_id={user.id}&outcome=failure", headers=admin)
    ).json()
    assert failures["total"] == 1
    event = failures["items"][0]
    assert event["action"] == "login" and event["ip"] == "203.0.113.7"
    assert event["request_id"] == "audit-req-1"
    assert event["details"] == {"reason": "bad_password"}
    actions = [
        e["action"]
        for e in (await client.get(f"/api/audit?actor_id={user.id}", headers=admin)).json()["items"]
    ]
    assert actions == ["session_revoked", "login", "login"]  # newest first


async def test_audit_filters_validate_input(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = bearer(await login(client, await create_user(app, role=Role.admin)))
    assert (await client.get("/api/audit?outcome=maybe", headers=admin)).status_code == 422
    naive = await client.get("/api/audit?since=2026-01-01T00:00:00", headers=admin)
    assert naive.status_code == 422
    aware = await client.get("/api/audit?since=2026-01-01T00:00:00Z&page_size=5", headers=admin)
    assert aware.status_code == 200 and aware.json()["page_size"] == 5
