from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from relaypacs.core.config import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE
from tests.conftest import MailSink
from tests.factories import bearer, create_user, login


@pytest.fixture
def settings_overrides(smtp_server: tuple[int, MailSink]) -> dict[str, Any]:
    return {"smtp_host": "127.0.0.1", "smtp_port": smtp_server[0], "smtp_starttls": False}


async def test_profile_email_change_takes_effect_only_after_verification(
    app: FastAPI, client: httpx.AsyncClient, smtp_server: tuple[int, MailSink]
) -> None:
    user = await create_user(app)
    headers = bearer(await login(client, user))
    r = await client.patch(
        "/api/me/profile",
        headers=headers,
        json={"email": "new-address@example.org", "full_name": "New Name"},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["email"] == user.email and body["pending_email"] == "new-address@example.org"
    assert body["full_name"] == "New Name"
    message = smtp_server[1].messages[-1]
    assert message["To"] == "new-address@example.org"
    token = re.search(r"token=([\w-]+)", message.get_content())
    assert token
    assert (
        await client.post("/api/auth/verify-email", json={"token": token.group(1)})
    ).status_code == 200
    profile = (await client.get("/api/me/profile", headers=headers)).json()
    assert profile["email"] == "new-address@example.org" and profile["pending_email"] is None


def _token_in(message: Any) -> str:
    token = re.search(r"token=([\w-]+)", message.get_content())
    assert token, message.get_content()
    return token.group(1)


async def test_an_email_change_link_sets_only_its_own_address_and_only_the_latest(
    app: FastAPI, client: httpx.AsyncClient, smtp_server: tuple[int, MailSink]
) -> None:
    sink = smtp_server[1]
    user = await create_user(app)
    headers = bearer(await login(client, user))
    for address in ("first@example.org", "second@example.org"):
        r = await client.patch("/api/me/profile", headers=headers, json={"email": address})
        assert r.status_code == 200 and r.json()["pending_email"] == address
    first, second = (_token_in(m) for m in sink.messages[-2:])
    assert [m["To"] for m in sink.messages[-2:]] == ["first@example.org", "second@example.org"]

    # The first request's link no longer sets anything, not even its own address.
    stale = await client.post("/api/auth/verify-email", json={"token": first})
    assert stale.status_code == 404
    assert stale.json()["error"]["code"] == "invalid_verification_token"
    profile = (await client.get("/api/me/profile", headers=headers)).json()
    assert profile["email"] == user.email and profile["pending_email"] == "second@example.org"

    confirmed = await client.post("/api/auth/verify-email", json={"token": second})
    assert confirmed.status_code == 200
    assert confirmed.json()["email"] == "second@example.org"
    profile = (await client.get("/api/me/profile", headers=headers)).json()
    assert profile["email"] == "second@example.org" and profile["pending_email"] is None

    # The previous address is told, without the full new one.
    notice = sink.messages[-1]
    assert notice["To"] == user.email
    assert "changed" in notice["Subject"]
    body = notice.get_content()
    assert "s***@example.org" in body and "second@example.org" not in body
    assert (await client.post("/api/auth/verify-email", json={"token": first})).status_code == 404


async def test_a_link_for_an_abandoned_address_cannot_set_it_later(
    app: FastAPI, client: httpx.AsyncClient, smtp_server: tuple[int, MailSink]
) -> None:
    """A token whose address is not the one pending is refused even if it escaped being
    withdrawn (issued here behind the API's back, after the latest request)."""
    from relaypacs.auth import verification
    from relaypacs.auth.models import User

    user = await create_user(app)
    headers = bearer(await login(client, user))
    r = await client.patch("/api/me/profile", headers=headers, json={"email": "kept@example.org"})
    assert r.status_code == 200
    async with app.state.database.sessionmaker() as session:
        row = await session.get(User, user.id)
        assert row is not None
        stray = await verification.issue(
            session, settings=app.state.settings, user=row, email="stray@example.org"
        )
        await session.commit()
    refused = await client.post("/api/auth/verify-email", json={"token": stray})
    assert refused.status_code == 404
    profile = (await client.get("/api/me/profile", headers=headers)).json()
    assert profile["email"] == user.email and profile["pending_email"] == "kept@example.org"


async def test_username_and_role_are_read_only(app: FastAPI, client: httpx.AsyncClient) -> None:
    headers = bearer(await login(client, await create_user(app)))
    for change in ({"username": "hacker"}, {"role": "admin"}):
        r = await client.patch("/api/me/profile", headers=headers, json=change)
        assert r.status_code == 422


async def test_preferences_defaults_update_and_bounds(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = bearer(await login(client, await create_user(app)))
    prefs = (await client.get("/api/me/preferences", headers=headers)).json()
    assert prefs["default_service_level"] == "ROUTINE"
    assert prefs["chunk_size"] == 1024 * 1024
    assert prefs["duplicate_check"] is True
    assert prefs["notifications"]["report_ready"] == {"in_app": True, "push": True, "email": False}
    r = await client.patch(
        "/api/me/preferences",
        headers=headers,
        json={
            "default_service_level": "STAT",
            "chunk_size": 4 * 1024 * 1024,
            "notifications": {"report_ready": {"in_app": True, "push": False, "email": True}},
        },
    )
    assert r.status_code == 200, r.text
    again = (await client.get("/api/me/preferences", headers=headers)).json()
    assert again["default_service_level"] == "STAT" and again["chunk_size"] == 4 * 1024 * 1024
    assert again["notifications"]["report_ready"]["push"] is False
    assert again["notifications"]["upload_failed"]["push"] is True
    for bad in (
        {"chunk_size": 1000},
        {"chunk_size": 64 * 1024 * 1024},
        {"default_service_level": "SOON"},
        {"notifications": {"nonsense": {}}},
    ):
        resp = await client.patch("/api/me/preferences", headers=headers, json=bad)
        assert resp.status_code == 422, bad
    assert (await client.get("/api/me/preferences", headers=headers)).json() == again


async def test_preferences_publish_the_chunk_sizes_the_server_accepts_read_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = bearer(await login(client, await create_user(app)))
    limits = (await client.get("/api/me/preferences", headers=headers)).json()["chunk_size_limits"]
    assert limits == {"min": MIN_CHUNK_SIZE, "max": MAX_CHUNK_SIZE, "default": DEFAULT_CHUNK_SIZE}
    for size in (limits["min"], limits["max"]):
        ok = await client.patch("/api/me/preferences", headers=headers, json={"chunk_size": size})
        assert ok.status_code == 200 and ok.json()["chunk_size"] == size
    for size in (limits["min"] - 1, limits["max"] + 1):
        bad = await client.patch("/api/me/preferences", headers=headers, json={"chunk_size": size})
        assert bad.status_code == 422
    refused = await client.patch(
        "/api/me/preferences", headers=headers, json={"chunk_size_limits": {"max": 1 << 30}}
    )
    assert refused.status_code == 422


async def test_export_contains_everything_about_the_user(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    headers = bearer(await login(client, user))
    await client.patch("/api/me/preferences", headers=headers, json={"duplicate_check": False})
    export = (await client.get("/api/me/export", headers=headers)).json()
    assert export["user"]["email"] == user.email
    assert "password_hash" not in str(export) and "totp_secret" not in str(export)
    sections = export["sections"]
    assert sections["preferences"]["duplicate_check"] is False
    assert len(sections["sessions"]) == 1
    assert "refresh_token_hash" not in sections["sessions"][0]
    assert any(e["action"] == "login" for e in sections["audit_events"])
