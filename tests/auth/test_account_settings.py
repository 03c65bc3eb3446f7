"""The backend pieces of the account settings screens: 2FA status (backup codes left) and
"sign out everywhere" (revoke-all including this session)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import httpx
import pyotp
from fastapi import FastAPI
from sqlalchemy import select

from relaypacs.audit.models import AuditEvent
from tests.factories import bearer, create_user, login


def _code(secret: str) -> str:
    return pyotp.TOTP(secret).at(time.time())


async def test_2fa_status_is_off_with_no_backup_codes_for_a_new_account(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    auth = bearer(await login(client, await create_user(app)))
    status = await client.get("/api/auth/2fa", headers=auth)
    assert status.status_code == 200
    assert status.json() == {"enabled": False, "enabled_at": None, "backup_codes_remaining": 0}


async def test_2fa_status_counts_the_backup_codes_left_after_one_is_used(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    auth = bearer(await login(client, user))
    secret = (await client.post("/api/auth/2fa/setup", headers=auth)).json()["secret"]
    # Setting up alone does not turn 2FA on.
    assert (await client.get("/api/auth/2fa", headers=auth)).json()["enabled"] is False
    codes = (
        await client.post("/api/auth/2fa/enable", headers=auth, json={"code": _code(secret)})
    ).json()["backup_codes"]
    status = (await client.get("/api/auth/2fa", headers=auth)).json()
    assert status["enabled"] is True and status["enabled_at"] is not None
    assert status["backup_codes_remaining"] == len(codes) == 10

    challenge = (
        await client.post(
            "/api/auth/login", json={"login": user.username, "password": user.password}
        )
    ).json()
    used = await client.post(
        "/api/auth/login/2fa", json={"mfa_token": challenge["mfa_token"], "code": codes[0]}
    )
    assert used.status_code == 200
    assert (await client.get("/api/auth/2fa", headers=auth)).json()["backup_codes_remaining"] == 9


async def test_2fa_status_needs_a_signed_in_user(client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/api/auth/2fa")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"


async def test_revoke_all_keeps_this_session_by_default(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    here, other = await login(client, user), await login(client, user)
    revoked = await client.post("/api/auth/sessions/revoke-all", headers=bearer(here))
    assert revoked.status_code == 200 and revoked.json() == {"revoked": 1}
    assert (await client.get("/api/auth/me", headers=bearer(here))).status_code == 200
    assert (await client.get("/api/auth/me", headers=bearer(other))).status_code == 401


async def test_sign_out_everywhere_ends_this_session_too(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    here, other = await login(client, user), await login(client, user)
    revoked = await client.post(
        "/api/auth/sessions/revoke-all", params={"include_current": "true"}, headers=bearer(here)
    )
    assert revoked.status_code == 200 and revoked.json() == {"revoked": 2}
    for tokens in (here, other):
        assert (await client.get("/api/auth/me", headers=bearer(tokens))).status_code == 401
        refused = await client.post(
            "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refused.status_code == 401
    async with app.state.database.sessionmaker() as session:
        events = (
            await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.actor_id == user.id, AuditEvent.action == "sessions_revoked"
                )
            )
        ).all()
    assert [e.details for e in events] == [{"count": 2}]


async def test_include_current_that_is_not_a_boolean_is_a_422(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    here, other = await login(client, user), await login(client, user)
    bad = await client.post(
        "/api/auth/sessions/revoke-all", params={"include_current": "maybe"}, headers=bearer(here)
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    assert (await client.get("/api/auth/me", headers=bearer(other))).status_code == 200


async def test_the_qr_code_is_a_standalone_svg_that_renders_as_an_image(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    auth = bearer(await login(client, await create_user(app)))
    setup = (await client.post("/api/auth/2fa/setup", headers=auth)).json()
    svg = ET.fromstring(setup["qr_svg"])
    # An <img src="data:image/svg+xml,..."> draws nothing without the SVG namespace.
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert int(svg.attrib["width"]) > 0 and int(svg.attrib["height"]) > 0
    assert not setup["qr_svg"].startswith("<?xml")
    assert svg.find(".//{http://www.w3.org/2000/svg}script") is None
