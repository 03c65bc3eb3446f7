from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pyotp
from fastapi import FastAPI
from sqlalchemy import select, update

from relaypacs.auth.models import User
from tests.factories import UserFixture, bearer, create_user, login


def _code(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


async def _forget_last_step(app: FastAPI, user: UserFixture) -> None:
    """Simulate the next time step, so a fresh code is acceptable again."""
    async with app.state.database.sessionmaker() as session:
        await session.execute(update(User).where(User.id == user.id).values(totp_last_step=None))
        await session.commit()


async def _password_step(client: httpx.AsyncClient, user: UserFixture) -> dict[str, Any]:
    r = await client.post(
        "/api/auth/login", json={"login": user.username, "password": user.password}
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_enrolment_setup_enable_and_login_with_totp(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    headers = bearer(await login(client, user))
    setup = (await client.post("/api/auth/2fa/setup", headers=headers)).json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/RelayPACS:")
    assert f"secret={setup['secret']}" in setup["otpauth_uri"]
    svg = ET.fromstring(setup["qr_svg"])
    assert svg.tag.endswith("svg")
    wrong = await client.post("/api/auth/2fa/enable", headers=headers, json={"code": "000000"})
    # 403, not 401: the access token is fine (a 401 would make the client refresh and retry).
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "invalid_mfa_code"
    enabled = await client.post(
        "/api/auth/2fa/enable", headers=headers, json={"code": _code(setup["secret"])}
    )
    assert enabled.status_code == 200, enabled.text
    codes = enabled.json()["backup_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10

    challenge = await _password_step(client, user)
    assert challenge["mfa_required"] is True
    assert "access_token" not in challenge
    await _forget_last_step(app, user)
    done = await client.post(
        "/api/auth/login/2fa",
        json={"mfa_token": challenge["mfa_token"], "code": _code(setup["secret"])},
    )
    assert done.status_code == 200, done.text
    assert (await client.get("/api/auth/me", headers=bearer(done.json()))).json()[
        "mfa_enabled"
    ] is True


async def test_a_totp_code_is_accepted_only_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await create_user(app, mfa=True)
    assert user.totp_secret
    code = _code(user.totp_secret)
    first = await client.post(
        "/api/auth/login/2fa",
        json={"mfa_token": (await _password_step(client, user))["mfa_token"], "code": code},
    )
    assert first.status_code == 200
    replay = await client.post(
        "/api/auth/login/2fa",
        json={"mfa_token": (await _password_step(client, user))["mfa_token"], "code": code},
    )
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "invalid_mfa_code"


async def test_one_step_of_clock_drift_is_tolerated_but_not_two(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app, mfa=True)
    assert user.totp_secret
    token = (await _password_step(client, user))["mfa_token"]
    too_far = await client.post(
        "/api/auth/login/2fa", json={"mfa_token": token, "code": _code(user.totp_secret, -2)}
    )
    assert too_far.status_code == 401
    behind = await client.post(
        "/api/auth/login/2fa", json={"mfa_token": token, "code": _code(user.totp_secret, -1)}
    )
    assert behind.status_code == 200


async def test_backup_codes_work_once_each(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await create_user(app)
    headers = bearer(await login(client, user))
    secret = (await client.post("/api/auth/2fa/setup", headers=headers)).json()["secret"]
    codes = (
        await client.post("/api/auth/2fa/enable", headers=headers, json={"code": _code(secret)})
    ).json()["backup_codes"]
    used = await client.post(
        "/api/auth/login/2fa",
        json={
            "mfa_token": (await _password_step(client, user))["mfa_token"],
            "code": codes[0].upper(),
        },
    )
    assert used.status_code == 200
    reused = await client.post(
        "/api/auth/login/2fa",
        json={"mfa_token": (await _password_step(client, user))["mfa_token"], "code": codes[0]},
    )
    assert reused.status_code == 401
    other = await client.post(
        "/api/auth/login/2fa",
        json={"mfa_token": (await _password_step(client, user))["mfa_token"], "code": codes[1]},
    )
    assert other.status_code == 200


async def test_the_mfa_token_is_not_an_access_token_and_is_single_use(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app, mfa=True)
    assert user.totp_secret
    token = (await _password_step(client, user))["mfa_token"]
    assert (
        await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 401
    ok = await client.post(
        "/api/auth/login/2fa", json={"mfa_token": token, "code": _code(user.totp_secret)}
    )
    assert ok.status_code == 200
    await _forget_last_step(app, user)
    again = await client.post(
        "/api/auth/login/2fa", json={"mfa_token": token, "code": _code(user.totp_secret)}
    )
    assert again.status_code == 401


async def test_disabling_needs_a_current_totp_code(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await create_user(app, mfa=True)
    assert user.totp_secret
    challenge = (await _password_step(client, user))["mfa_token"]
    tokens = (
        await client.post(
            "/api/auth/login/2fa", json={"mfa_token": challenge, "code": _code(user.totp_secret)}
        )
    ).json()
    await _forget_last_step(app, user)
    bad = await client.post(
        "/api/auth/2fa/disable", headers=bearer(tokens), json={"code": "123456"}
    )
    assert bad.status_code == 403 and bad.json()["error"]["code"] == "invalid_mfa_code"
    ok = await client.post(
        "/api/auth/2fa/disable", headers=bearer(tokens), json={"code": _code(user.totp_secret)}
    )
    assert ok.status_code == 204
    plain = await _password_step(client, user)
    assert "access_token" in plain


async def test_repeated_wrong_codes_lock_the_account(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app, mfa=True)
    assert user.totp_secret
    token = (await _password_step(client, user))["mfa_token"]
    for _ in range(5):
        assert (
            await client.post("/api/auth/login/2fa", json={"mfa_token": token, "code": "999999"})
        ).status_code == 401
    right = await client.post(
        "/api/auth/login/2fa", json={"mfa_token": token, "code": _code(user.totp_secret)}
    )
    assert right.status_code == 401


async def test_the_right_password_does_not_reset_the_count_of_wrong_codes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Someone who knows the password must not get unlimited second-factor guesses by
    signing in again between them."""
    user = await create_user(app, mfa=True)
    assert user.totp_secret
    for _ in range(5):
        token = (await _password_step(client, user))["mfa_token"]
        wrong = await client.post(
            "/api/auth/login/2fa", json={"mfa_token": token, "code": "999999"}
        )
        assert wrong.status_code == 401
    locked = await client.post(
        "/api/auth/login", json={"login": user.username, "password": user.password}
    )
    assert locked.status_code == 401, "five wrong codes lock the account"


async def test_a_completed_sign_in_starts_the_count_again(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app, mfa=True)
    assert user.totp_secret
    for _ in range(4):
        token = (await _password_step(client, user))["mfa_token"]
        await client.post("/api/auth/login/2fa", json={"mfa_token": token, "code": "999999"})
    token = (await _password_step(client, user))["mfa_token"]
    right = await client.post(
        "/api/auth/login/2fa", json={"mfa_token": token, "code": _code(user.totp_secret)}
    )
    assert right.status_code == 200, right.text
    async with app.state.database.sessionmaker() as session:
        count = await session.scalar(select(User.failed_login_count).where(User.id == user.id))
    assert count == 0
