"""An admin invites a user by email; the invitee sets their password with the single-use,
expiring link (a real SMTP server receives the message)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from relaypacs.auth.models import Invitation
from relaypacs.core.database import utcnow
from relaypacs.core.permissions import Role
from tests.conftest import MailSink
from tests.factories import bearer, create_user, login

NEW_PASSWORD = "quartz-lantern-heron-77"


@pytest.fixture
def settings_overrides(smtp_server: tuple[int, MailSink]) -> dict[str, Any]:
    return {"smtp_host": "127.0.0.1", "smtp_port": smtp_server[0], "smtp_starttls": False}


async def _invite(
    app: FastAPI, client: httpx.AsyncClient, sink: MailSink, **extra: Any
) -> tuple[dict[str, str], dict[str, Any], str]:
    headers = bearer(await login(client, await create_user(app, role=Role.admin)))
    facility_id = (await create_user(app, facility="Invite Hospital")).facility_id
    response = await client.post(
        "/api/users/invitations",
        headers=headers,
        json={
            "email": "invitee@example.org",
            "username": "invitee",
            "full_name": "Dr Invitee",
            "role": "radiologist",
            "facility_id": str(facility_id),
        }
        | extra,
    )
    assert response.status_code == 201, response.text
    message = sink.messages[-1]
    assert message["To"] == "invitee@example.org"
    link = re.search(r"(\S+/accept-invitation\?token=([\w-]+))", message.get_content())
    assert link, message.get_content()
    return headers, response.json(), link.group(2)


async def test_an_invited_user_sets_a_password_once_and_signs_in(
    app: FastAPI, client: httpx.AsyncClient, smtp_server: tuple[int, MailSink]
) -> None:
    headers, user, token = await _invite(app, client, smtp_server[1])
    assert user["role"] == "radiologist" and user["facility"] == "Invite Hospital"
    assert user["email_verified"] is False
    refused = await client.post("/api/auth/login", json={"login": "invitee", "password": "x" * 12})
    assert refused.status_code == 401

    weak = await client.post(
        "/api/invitations/accept", json={"token": token, "password": "invitee123"}
    )
    assert weak.status_code == 403 and weak.json()["error"]["code"] == "weak_password"
    accepted = await client.post(
        "/api/invitations/accept", json={"token": token, "password": NEW_PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"status": "accepted", "username": "invitee"}
    signed_in = await client.post(
        "/api/auth/login", json={"login": "invitee", "password": NEW_PASSWORD}
    )
    assert signed_in.status_code == 200
    again = await client.post(
        "/api/invitations/accept", json={"token": token, "password": "another-" + NEW_PASSWORD}
    )
    assert again.status_code == 404 and again.json()["error"]["code"] == "invalid_invitation"
    shown = (await client.get(f"/api/users/{user['id']}", headers=headers)).json()
    assert shown["email_verified"] is True
    audit = (await client.get(f"/api/audit?target_id={user['id']}", headers=headers)).json()
    assert {"user_created", "user_invited", "invitation_accepted"} <= {
        e["action"] for e in audit["items"]
    }


async def test_an_expired_or_unknown_invitation_is_refused_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, smtp_server: tuple[int, MailSink]
) -> None:
    _, _, token = await _invite(app, client, smtp_server[1])
    async with app.state.database.sessionmaker() as session:
        await session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(minutes=1)))
        await session.commit()
    expired = await client.post(
        "/api/invitations/accept", json={"token": token, "password": NEW_PASSWORD}
    )
    assert expired.status_code == 404 and expired.json()["error"]["code"] == "invalid_invitation"
    unknown = await client.post(
        "/api/invitations/accept", json={"token": "z" * 43, "password": NEW_PASSWORD}
    )
    assert unknown.status_code == 404
    login = await client.post(
        "/api/auth/login", json={"login": "invitee", "password": NEW_PASSWORD}
    )
    assert login.status_code == 401
    malformed = await client.post("/api/invitations/accept", json={"token": token})
    assert malformed.status_code == 422


async def test_only_admins_invite_and_taken_names_are_refused(
    app: FastAPI, client: httpx.AsyncClient, smtp_server: tuple[int, MailSink]
) -> None:
    headers, _, _ = await _invite(app, client, smtp_server[1])
    clinician = bearer(await login(client, await create_user(app)))
    body = {"email": "x@example.org", "username": "xuser", "full_name": "X", "role": "clinician"}
    forbidden = await client.post("/api/users/invitations", headers=clinician, json=body)
    assert forbidden.status_code == 403
    taken = await client.post(
        "/api/users/invitations", headers=headers, json=body | {"username": "invitee"}
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "username_taken"
    extra = await client.post(
        "/api/users/invitations", headers=headers, json=body | {"password": NEW_PASSWORD}
    )
    assert extra.status_code == 422


@pytest.mark.parametrize(
    "settings_overrides", [{"rate_limit": {"invitation_accept_per_ip": "2/minute"}}]
)
async def test_guessing_invitation_links_is_rate_limited_per_ip(client: httpx.AsyncClient) -> None:
    answers = [
        await client.post(
            "/api/invitations/accept", json={"token": f"{n}" * 43, "password": NEW_PASSWORD}
        )
        for n in range(3)
    ]
    assert [a.status_code for a in answers] == [404, 404, 429]
    assert answers[2].json()["error"]["code"] == "rate_limited"
    assert int(answers[2].headers["retry-after"]) >= 1


async def test_a_lost_invitation_is_renewed_and_the_earlier_link_stops_working(
    app: FastAPI, client: httpx.AsyncClient, smtp_server: tuple[int, MailSink]
) -> None:
    sink = smtp_server[1]
    headers, user, first = await _invite(app, client, sink)
    renewed = await client.post(f"/api/users/{user['id']}/invitation", headers=headers)
    assert renewed.status_code == 200, renewed.text
    link = re.search(r"/accept-invitation\?token=([\w-]+)", sink.messages[-1].get_content())
    assert link and link.group(1) != first
    old = await client.post(
        "/api/invitations/accept", json={"token": first, "password": NEW_PASSWORD}
    )
    assert old.status_code == 404 and old.json()["error"]["code"] == "invalid_invitation"
    accepted = await client.post(
        "/api/invitations/accept", json={"token": link.group(1), "password": NEW_PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    # Used: nothing to renew any more; nor for an account created with a password.
    again = await client.post(f"/api/users/{user['id']}/invitation", headers=headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "no_pending_invitation"
    with_password = await create_user(app)
    refused = await client.post(f"/api/users/{with_password.id}/invitation", headers=headers)
    assert refused.status_code == 409
    audit = (await client.get(f"/api/audit?target_id={user['id']}", headers=headers)).json()
    assert "user_reinvited" in {e["action"] for e in audit["items"]}
