"""Account changes need a recent authentication: a sign-in, or POST /api/auth/reauth
(password, plus a 2FA code when 2FA is on), within REAUTH_WINDOW_MINUTES (10 here).

Without it, an email change, 2FA setup/enable/disable, new backup codes and "revoke all
sessions" answer 403 `reauthentication_required` and change nothing."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pyotp
import pytest
import redis
from fastapi import FastAPI
from sqlalchemy import func, select, update

from relaypacs.audit.models import AuditEvent
from relaypacs.auth.models import AuthSession, BackupCode, User
from relaypacs.core.database import utcnow
from relaypacs.main import create_app
from relaypacs.settings import Settings
from tests.conftest import make_settings
from tests.factories import UserFixture, bearer, create_user, login
from tests.servers import RedisServer


def _code(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def _session_id(tokens: dict[str, Any]) -> uuid.UUID:
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    return uuid.UUID(claims["sid"])


async def _signed_in_long_ago(
    app: FastAPI, client: httpx.AsyncClient, user: UserFixture
) -> dict[str, Any]:
    """Sign in, then make that sign-in 11 minutes old (the session stays valid)."""
    tokens = await login(client, user)
    await _age_sign_in(app, user, tokens)
    return tokens


async def _age_sign_in(app: FastAPI, user: UserFixture, tokens: dict[str, Any]) -> None:
    long_ago = utcnow() - timedelta(minutes=11)
    async with app.state.database.sessionmaker() as session:
        await session.execute(
            update(AuthSession)
            .where(AuthSession.id == _session_id(tokens))
            .values(created_at=long_ago)
        )
        # The account's password dates from before that sign-in.
        await session.execute(
            update(User)
            .where(User.id == user.id)
            .values(password_changed_at=long_ago - timedelta(days=1))
        )
        await session.commit()


async def _user_row(app: FastAPI, user: UserFixture) -> User:
    async with app.state.database.sessionmaker() as session:
        row = await session.get(User, user.id)
        assert row is not None
        return row


def _assert_reauth_required(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "reauthentication_required"
    assert error["window_minutes"] == 10


async def test_without_a_recent_sign_in_account_changes_are_refused_and_change_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    tokens = await _signed_in_long_ago(app, client, user)
    other_device = await login(client, user)
    auth = bearer(tokens)
    # The session itself still works.
    assert (await client.get("/api/auth/me", headers=auth)).status_code == 200

    _assert_reauth_required(
        await client.patch("/api/me/profile", headers=auth, json={"email": "new@example.org"})
    )
    _assert_reauth_required(await client.post("/api/auth/2fa/setup", headers=auth))
    _assert_reauth_required(
        await client.post("/api/auth/2fa/enable", headers=auth, json={"code": "123456"})
    )
    _assert_reauth_required(
        await client.post("/api/auth/2fa/disable", headers=auth, json={"code": "123456"})
    )
    _assert_reauth_required(await client.post("/api/auth/2fa/backup-codes", headers=auth))
    _assert_reauth_required(await client.post("/api/auth/sessions/revoke-all", headers=auth))

    row = await _user_row(app, user)
    assert row.pending_email is None and row.totp_secret is None
    assert (await client.get("/api/auth/me", headers=bearer(other_device))).status_code == 200
    # A name change alone needs no re-authentication.
    renamed = await client.patch("/api/me/profile", headers=auth, json={"full_name": "Renamed"})
    assert renamed.status_code == 200 and renamed.json()["full_name"] == "Renamed"


async def test_after_reauth_the_changes_go_through(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await create_user(app)
    tokens = await _signed_in_long_ago(app, client, user)
    other_device = await login(client, user)
    auth = bearer(tokens)

    reauth = await client.post("/api/auth/reauth", headers=auth, json={"password": user.password})
    assert reauth.status_code == 200, reauth.text
    body = reauth.json()
    assert body["status"] == "reauthenticated"
    # The stamp lasts the window, in the shared cache, for this session only.
    ttl = await app.state.cache.ttl(f"reauth:{_session_id(tokens)}")
    assert 590 <= ttl <= 600

    setup = await client.post("/api/auth/2fa/setup", headers=auth)
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    enabled = await client.post("/api/auth/2fa/enable", headers=auth, json={"code": _code(secret)})
    assert enabled.status_code == 200, enabled.text
    first_codes = enabled.json()["backup_codes"]
    regenerated = await client.post("/api/auth/2fa/backup-codes", headers=auth)
    assert regenerated.status_code == 200, regenerated.text
    new_codes = regenerated.json()["backup_codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(first_codes)
    async with app.state.database.sessionmaker() as session:
        stored = await session.scalar(
            select(func.count()).select_from(BackupCode).where(BackupCode.user_id == user.id)
        )
        assert stored == 10  # the first set is gone
    disabled = await client.post(
        "/api/auth/2fa/disable", headers=auth, json={"code": _code(secret, 1)}
    )
    assert disabled.status_code == 204, disabled.text
    changed = await client.patch(
        "/api/me/profile", headers=auth, json={"email": "new-address@example.org"}
    )
    assert (
        changed.status_code == 200 and changed.json()["pending_email"] == "new-address@example.org"
    )
    revoked = await client.post("/api/auth/sessions/revoke-all", headers=auth)
    assert revoked.status_code == 200 and revoked.json() == {"revoked": 1}
    assert (await client.get("/api/auth/me", headers=bearer(other_device))).status_code == 401


async def test_a_fresh_sign_in_counts_as_recent(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await create_user(app)
    auth = bearer(await login(client, user))
    assert (await client.post("/api/auth/2fa/setup", headers=auth)).status_code == 200
    assert (await client.post("/api/auth/sessions/revoke-all", headers=auth)).status_code == 200


async def test_a_wrong_password_does_not_reauthenticate(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    auth = bearer(await _signed_in_long_ago(app, client, user))
    wrong = await client.post(
        "/api/auth/reauth", headers=auth, json={"password": "not-my-password-1"}
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_password"
    _assert_reauth_required(await client.post("/api/auth/sessions/revoke-all", headers=auth))
    async with app.state.database.sessionmaker() as session:
        outcomes = (
            await session.scalars(
                select(AuditEvent.outcome).where(
                    AuditEvent.action == "reauth", AuditEvent.actor_id == user.id
                )
            )
        ).all()
    assert outcomes == ["failure"]


async def test_with_2fa_reauth_needs_a_code_too(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await create_user(app, mfa=True)
    assert user.totp_secret
    # Sign in with both factors, long ago.
    challenge = (
        await client.post(
            "/api/auth/login", json={"login": user.username, "password": user.password}
        )
    ).json()["mfa_token"]
    tokens = (
        await client.post(
            "/api/auth/login/2fa", json={"mfa_token": challenge, "code": _code(user.totp_secret)}
        )
    ).json()
    await _age_sign_in(app, user, tokens)
    auth = bearer(tokens)

    no_code = await client.post("/api/auth/reauth", headers=auth, json={"password": user.password})
    assert no_code.status_code == 400 and no_code.json()["error"]["code"] == "mfa_code_required"
    wrong = await client.post(
        "/api/auth/reauth", headers=auth, json={"password": user.password, "code": "000000"}
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "invalid_mfa_code"
    _assert_reauth_required(await client.post("/api/auth/2fa/backup-codes", headers=auth))
    ok = await client.post(
        "/api/auth/reauth",
        headers=auth,
        json={"password": user.password, "code": _code(user.totp_secret, 1)},
    )
    assert ok.status_code == 200, ok.text
    assert (await client.post("/api/auth/2fa/backup-codes", headers=auth)).status_code == 200


async def test_reauth_needs_an_access_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/reauth", json={"password": "whatever-it-is-1"})
    assert response.status_code == 401


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    with redis.Redis.from_url(redis_server.url) as r:
        r.flushdb()
    return redis_server.url


async def test_a_reauth_on_one_replica_counts_on_another_with_redis(
    database_url: str, tmp_path: Path, redis_url: str
) -> None:
    settings: Settings = make_settings(database_url, tmp_path / "data", redis_url=redis_url)
    first, second = create_app(settings), create_app(settings)
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        clients = [
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=a, client=("203.0.113.9", 40000)),
                base_url="http://testserver",
            )
            for a in (first, second)
        ]
        try:
            user = await create_user(first)
            auth = bearer(await _signed_in_long_ago(first, clients[0], user))
            _assert_reauth_required(
                await clients[1].post("/api/auth/sessions/revoke-all", headers=auth)
            )
            reauth = await clients[0].post(
                "/api/auth/reauth", headers=auth, json={"password": user.password}
            )
            assert reauth.status_code == 200, reauth.text
            revoked = await clients[1].post("/api/auth/sessions/revoke-all", headers=auth)
            assert revoked.status_code == 200, revoked.text
        finally:
            for c in clients:
                await c.aclose()
