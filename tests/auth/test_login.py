from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from relaypacs.audit.models import AuditEvent
from relaypacs.auth.models import User
from relaypacs.core.database import utcnow
from tests.factories import bearer, create_user, login


async def _audit_actions(app: FastAPI) -> list[tuple[str, str]]:
    async with app.state.database.sessionmaker() as session:
        rows = await session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(e.action, e.outcome) for e in rows]


async def test_login_with_username_or_email_returns_a_token_pair(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    for login_name in (user.username, user.email.upper()):
        response = await client.post(
            "/api/auth/login", json={"login": login_name, "password": user.password}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 3600
        me = await client.get("/api/auth/me", headers=bearer(body))
        assert me.status_code == 200
        assert me.json()["username"] == user.username


async def test_wrong_password_and_unknown_account_get_the_same_answer(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    wrong = await client.post(
        "/api/auth/login", json={"login": user.username, "password": "x" * 14}
    )
    unknown = await client.post("/api/auth/login", json={"login": "nobody", "password": "x" * 14})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"
    assert ("login", "failure") in await _audit_actions(app)


@pytest.mark.parametrize(
    "settings_overrides",
    [{"rate_limit": {"login_per_ip": "1000/minute", "login_per_account": "1000/minute"}}],
)
async def test_thirty_parallel_wrong_passwords_lock_the_account(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The failure count is one atomic UPDATE: parallel attempts cannot overwrite each
    other's count and slip past the limit."""
    import asyncio

    user = await create_user(app)
    wrong = {"login": user.username, "password": "wrong-wrong-wrong"}
    answers = await asyncio.gather(*(client.post("/api/auth/login", json=wrong) for _ in range(30)))
    assert {a.status_code for a in answers} == {401}
    right = await client.post(
        "/api/auth/login", json={"login": user.username, "password": user.password}
    )
    assert right.status_code == 401, "locked"
    async with app.state.database.sessionmaker() as session:
        locked_until = await session.scalar(select(User.locked_until).where(User.id == user.id))
    assert locked_until is not None and locked_until > utcnow()
    locks = [a for a in await _audit_actions(app) if a == ("account_locked", "denied")]
    assert 1 <= len(locks) <= 30 // 5


async def test_five_failures_lock_the_account_then_it_unlocks_after_the_window(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    for _ in range(5):
        r = await client.post(
            "/api/auth/login", json={"login": user.username, "password": "wrong-wrong-wrong"}
        )
        assert r.status_code == 401
    locked = await client.post(
        "/api/auth/login", json={"login": user.username, "password": user.password}
    )
    assert locked.status_code == 401, "the right password must not work while locked"
    assert ("account_locked", "denied") in await _audit_actions(app)
    async with app.state.database.sessionmaker() as session:
        locked_until = await session.scalar(select(User.locked_until).where(User.id == user.id))
        assert locked_until is not None
        assert timedelta(minutes=14) < locked_until - utcnow() <= timedelta(minutes=15)
        # The lockout window passes.
        await session.execute(
            update(User)
            .where(User.id == user.id)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    assert (
        await client.post(
            "/api/auth/login", json={"login": user.username, "password": user.password}
        )
    ).status_code == 200


async def test_success_resets_the_failure_count(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await create_user(app)
    for _ in range(4):
        await client.post(
            "/api/auth/login", json={"login": user.username, "password": "nope-nope-nope"}
        )
    await login(client, user)
    for _ in range(4):
        await client.post(
            "/api/auth/login", json={"login": user.username, "password": "nope-nope-nope"}
        )
    await login(client, user)


@pytest.mark.parametrize("settings_overrides", [{"rate_limit": {"login_per_ip": "3/minute"}}])
async def test_per_ip_attempts_are_rate_limited(
    app: FastAPI, client: httpx.AsyncClient, settings_overrides: dict[str, Any]
) -> None:
    statuses = [
        (
            await client.post("/api/auth/login", json={"login": f"u{i}", "password": "p" * 12})
        ).status_code
        for i in range(5)
    ]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429]
    limited = await client.post("/api/auth/login", json={"login": "u", "password": "p" * 12})
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 0 < int(limited.headers["retry-after"]) <= 60


async def test_unverified_account_cannot_log_in(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await create_user(app, verified=False)
    r = await client.post(
        "/api/auth/login", json={"login": user.username, "password": user.password}
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "email_not_verified"


async def test_disabled_account_cannot_log_in(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await create_user(app, active=False)
    r = await client.post(
        "/api/auth/login", json={"login": user.username, "password": user.password}
    )
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_credentials"


async def test_passwords_differing_only_after_byte_72_do_not_both_verify(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    prefix = "é" * 40  # 80 bytes in UTF-8: past bcrypt's 72-byte limit already
    user = await create_user(app, password=prefix + "-first-ending")
    ok = await client.post(
        "/api/auth/login", json={"login": user.username, "password": prefix + "-first-ending"}
    )
    assert ok.status_code == 200
    other = await client.post(
        "/api/auth/login", json={"login": user.username, "password": prefix + "-other-ending"}
    )
    assert other.status_code == 401


async def test_malformed_login_body_is_422_not_500(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_json"
    r = await client.post("/api/auth/login", json={"login": ["x"], "password": 5})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"
