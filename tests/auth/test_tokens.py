"""JWT negative suite, refresh rotation with reuse detection, logout, idle expiry."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from sqlalchemy import select, update

from relaypacs.audit.models import AuditEvent
from relaypacs.auth.models import AuthSession
from relaypacs.core import security
from relaypacs.core.database import utcnow
from relaypacs.settings import Settings
from tests.factories import UserFixture, bearer, create_user, login


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})


async def _assert_rejected(client: httpx.AsyncClient, token: str) -> None:
    response = await _me(client, token)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] in {"invalid_token", "not_authenticated"}
    assert response.headers["www-authenticate"] == "Bearer"


async def _signed_in(app: FastAPI, client: httpx.AsyncClient) -> tuple[UserFixture, dict[str, Any]]:
    user = await create_user(app)
    return user, await login(client, user)


async def test_missing_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


async def test_alg_none_is_rejected(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, tokens = await _signed_in(app, client)
    claims = _claims(tokens["access_token"])
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    await _assert_rejected(client, forged)


async def test_rs256_token_is_rejected_because_the_algorithm_is_pinned(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, tokens = await _signed_in(app, client)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(_claims(tokens["access_token"]), key, algorithm="RS256")
    await _assert_rejected(client, forged)


async def test_wrong_audience_issuer_and_expiry_are_rejected(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    _, tokens = await _signed_in(app, client)
    claims = _claims(tokens["access_token"])
    secret = settings.secret_key.get_secret_value()
    for change in ({"aud": "someone-else"}, {"iss": "evil"}, {"exp": claims["iat"] - 10}):
        await _assert_rejected(client, jwt.encode(claims | change, secret, algorithm="HS256"))
    # Sanity: the same claims re-signed unchanged are accepted.
    assert (await _me(client, jwt.encode(claims, secret, algorithm="HS256"))).status_code == 200


async def test_a_token_signed_with_another_secret_is_rejected(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, tokens = await _signed_in(app, client)
    await _assert_rejected(
        client, jwt.encode(_claims(tokens["access_token"]), "x" * 48, algorithm="HS256")
    )


async def test_refresh_token_cannot_be_used_as_access_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, tokens = await _signed_in(app, client)
    await _assert_rejected(client, tokens["refresh_token"])
    swapped = await client.post("/api/auth/refresh", json={"refresh_token": tokens["access_token"]})
    assert swapped.status_code == 401


async def test_access_token_stops_working_right_after_logout(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, tokens = await _signed_in(app, client)
    assert (await _me(client, tokens["access_token"])).status_code == 200
    assert (await client.post("/api/auth/logout", headers=bearer(tokens))).status_code == 204
    await _assert_rejected(client, tokens["access_token"])
    refresh = await client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refresh.status_code == 401


async def test_tokens_issued_before_a_password_change_are_rejected(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, tokens = await _signed_in(app, client)
    _, other_device = await login(client, user), await login(client, user)
    new_password = "violet-harbour-quantum-77"
    changed = await client.post(
        "/api/auth/password",
        headers=bearer(tokens),
        json={"current_password": user.password, "new_password": new_password},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["revoked"] == 3
    await _assert_rejected(client, tokens["access_token"])
    await _assert_rejected(client, other_device["access_token"])
    user.password = new_password
    assert (await _me(client, (await login(client, user))["access_token"])).status_code == 200


async def test_password_change_needs_the_current_password_and_a_strong_new_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, tokens = await _signed_in(app, client)
    wrong = await client.post(
        "/api/auth/password",
        headers=bearer(tokens),
        json={"current_password": "not-my-password", "new_password": "violet-harbour-quantum-77"},
    )
    # 403, not 401: the access token is fine (a 401 would make the client refresh and retry).
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_password"
    weak = await client.post(
        "/api/auth/password",
        headers=bearer(tokens),
        json={"current_password": user.password, "new_password": "password1234"},
    )
    assert weak.status_code == 403 and weak.json()["error"]["code"] == "weak_password"
    assert (await _me(client, tokens["access_token"])).status_code == 200


async def test_token_of_a_disabled_user_is_rejected(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from relaypacs.auth.models import User

    user, tokens = await _signed_in(app, client)
    async with app.state.database.sessionmaker() as session:
        await session.execute(update(User).where(User.id == user.id).values(is_active=False))
        await session.commit()
    await _assert_rejected(client, tokens["access_token"])


async def test_idle_session_expires(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, tokens = await _signed_in(app, client)
    sid = uuid.UUID(_claims(tokens["access_token"])["sid"])
    async with app.state.database.sessionmaker() as session:
        await session.execute(
            update(AuthSession)
            .where(AuthSession.id == sid)
            .values(last_seen_at=utcnow() - timedelta(hours=12, minutes=1))
        )
        await session.commit()
    await _assert_rejected(client, tokens["access_token"])
    refresh = await client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refresh.status_code == 401


async def test_claims_carry_iss_aud_sub_exp_iat_jti_and_typ(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    user, tokens = await _signed_in(app, client)
    access = security.decode_token(settings, tokens["access_token"], "access")
    refresh = security.decode_token(settings, tokens["refresh_token"], "refresh")
    assert access.sub == refresh.sub == str(user.id)
    assert access.exp - access.iat == 3600
    assert refresh.exp - refresh.iat == 7 * 24 * 3600
    assert access.jti != refresh.jti
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "HS256"


async def test_refresh_rotates_and_replaying_an_old_token_revokes_the_session(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, first = await _signed_in(app, client)
    second = (
        await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    ).json()
    assert second["refresh_token"] != first["refresh_token"]
    third = (
        await client.post("/api/auth/refresh", json={"refresh_token": second["refresh_token"]})
    ).json()
    assert (await _me(client, third["access_token"])).status_code == 200
    # The first token is two generations old: replaying it is theft, whatever the timing.
    replay = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    await _assert_rejected(client, third["access_token"])
    again = await client.post("/api/auth/refresh", json={"refresh_token": third["refresh_token"]})
    assert again.status_code == 401
    async with app.state.database.sessionmaker() as session:
        actions = (await session.scalars(select(AuditEvent.action))).all()
    assert "refresh_token_reuse" in actions


async def test_replaying_the_previous_token_after_the_grace_window_is_reuse(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, first = await _signed_in(app, client)
    second = (
        await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    ).json()
    sid = uuid.UUID(_claims(first["access_token"])["sid"])
    async with app.state.database.sessionmaker() as session:
        await session.execute(
            update(AuthSession)
            .where(AuthSession.id == sid)
            .values(refresh_issued_at=utcnow().replace(microsecond=0) - timedelta(seconds=30))
        )
        await session.commit()
    replay = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    await _assert_rejected(client, second["access_token"])


async def test_two_racing_refreshes_both_succeed_with_the_same_new_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, tokens = await _signed_in(app, client)
    body = {"refresh_token": tokens["refresh_token"]}
    a, b = await asyncio.gather(
        client.post("/api/auth/refresh", json=body), client.post("/api/auth/refresh", json=body)
    )
    assert a.status_code == b.status_code == 200, (a.text, b.text)
    assert a.json()["refresh_token"] == b.json()["refresh_token"]
    # A third, slightly late tab within the grace window also gets the same token.
    late = await client.post("/api/auth/refresh", json=body)
    assert late.status_code == 200
    assert late.json()["refresh_token"] == a.json()["refresh_token"]
    nxt = await client.post("/api/auth/refresh", json={"refresh_token": a.json()["refresh_token"]})
    assert nxt.status_code == 200
    assert (await _me(client, nxt.json()["access_token"])).status_code == 200


async def test_sessions_list_revoke_one_and_revoke_all(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    phone = await client.post(
        "/api/auth/login",
        json={"login": user.username, "password": user.password},
        headers={
            "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
        },
    )
    desk = await login(client, user)
    third = await login(client, user)
    listing = (await client.get("/api/auth/sessions", headers=bearer(desk))).json()["items"]
    assert len(listing) == 3
    assert sum(s["current"] for s in listing) == 1
    phone_sid = _claims(phone.json()["access_token"])["sid"]
    phone_row = next(s for s in listing if s["id"] == phone_sid)
    assert phone_row["device"] == "iPhone" and "Safari" in phone_row["browser"]
    assert phone_row["ip"] == "203.0.113.7"
    assert (
        await client.delete(f"/api/auth/sessions/{phone_sid}", headers=bearer(desk))
    ).status_code == 204
    await _assert_rejected(client, phone.json()["access_token"])
    # Someone else's session id is simply not found.
    other_user = await create_user(app)
    other_sid = _claims((await login(client, other_user))["access_token"])["sid"]
    assert (
        await client.delete(f"/api/auth/sessions/{other_sid}", headers=bearer(desk))
    ).status_code == 404
    revoked = await client.post("/api/auth/sessions/revoke-all", headers=bearer(desk))
    assert revoked.json() == {"revoked": 1}
    await _assert_rejected(client, third["access_token"])
    assert (await _me(client, desk["access_token"])).status_code == 200
