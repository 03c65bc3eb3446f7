"""Rate limits per client IP and per account on every action that checks a secret or
sends mail: login, its 2FA step, registration, verification resends, password change and
re-authentication. Each runs with the in-process cache and with a real Redis.

Limits here are 3 per IP and 2 per account per minute, for every action: one IP trying
four accounts (once each) is stopped by the IP limit, three IPs trying one account by the
account limit.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import redis
from fastapi import FastAPI
from sqlalchemy import select

from relaypacs.auth import sessions as auth_sessions
from relaypacs.auth.models import User
from relaypacs.core import security
from relaypacs.core.database import utcnow
from relaypacs.core.dependencies import ClientInfo
from relaypacs.main import create_app
from relaypacs.settings import Settings
from tests.factories import UserFixture, create_user
from tests.servers import RedisServer

PER_IP, PER_ACCOUNT = 3, 2
ACTIONS = ("login", "login_2fa", "register", "verify_resend", "password_change", "reauth")
NEW_PASSWORD = "quokka-lantern-basalt-88"
_serial = itertools.count(1)


def _limits(**extra: Any) -> dict[str, Any]:
    limits = {}
    for action in ACTIONS:
        limits[f"{action}_per_ip"] = f"{PER_IP}/minute"
        limits[f"{action}_per_account"] = f"{PER_ACCOUNT}/minute"
    return {"rate_limit": limits, **extra}


@pytest.fixture(params=["memory", "redis"])
def cache_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest, cache_backend: str) -> dict[str, Any]:
    if cache_backend == "memory":
        return _limits()
    server: RedisServer = request.getfixturevalue("redis_server")
    # Counters from an earlier test (same IPs, same account names) must not count here.
    with redis.Redis.from_url(server.url) as r:
        r.flushdb()
    return _limits(redis_url=server.url)


@pytest.fixture
async def clients(app: FastAPI) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """A client per source IP, all on the same app."""
    opened: dict[str, httpx.AsyncClient] = {}

    def client_from(ip: str) -> httpx.AsyncClient:
        if ip not in opened:
            transport = httpx.ASGITransport(app=app, client=(ip, 40000))
            opened[ip] = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        return opened[ip]

    yield client_from
    for c in opened.values():
        await c.aclose()


@dataclass
class Account:
    user: UserFixture
    access_token: str
    mfa_token: str


async def _account(app: FastAPI) -> Account:
    """A user with 2FA on, a session (opened directly: signing in is rate-limited too)
    and a valid second-step token."""
    settings: Settings = app.state.settings
    user = await create_user(app, mfa=True)
    async with app.state.database.sessionmaker() as session:
        row = await session.get(User, user.id)
        assert row is not None
        pair = await auth_sessions.create(
            session, settings=settings, user=row, client=ClientInfo("198.51.100.1", None)
        )
    mfa_token = security.encode_token(
        settings,
        subject=str(user.id),
        token_type="mfa",
        issued_at=utcnow(),
        ttl=timedelta(minutes=5),
    )
    return Account(user, pair.access_token, mfa_token)


Attempt = Callable[[httpx.AsyncClient, Account], Awaitable[httpx.Response]]


def _auth(account: Account) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.access_token}"}


async def _login(client: httpx.AsyncClient, a: Account) -> httpx.Response:
    return await client.post(
        "/api/auth/login", json={"login": a.user.username, "password": "wrong-password-1"}
    )


async def _login_2fa(client: httpx.AsyncClient, a: Account) -> httpx.Response:
    return await client.post(
        "/api/auth/login/2fa", json={"mfa_token": a.mfa_token, "code": "000000"}
    )


async def _register(client: httpx.AsyncClient, a: Account) -> httpx.Response:
    # The account is the email address: a new username each time, the same address.
    return await client.post(
        "/api/auth/register",
        json={
            "email": f"new-{a.user.username}@example.org",
            "username": f"newcomer{next(_serial)}",
            "full_name": "New Comer",
            "password": NEW_PASSWORD,
        },
    )


async def _verify_resend(client: httpx.AsyncClient, a: Account) -> httpx.Response:
    return await client.post("/api/auth/verify-email/resend", json={"email": a.user.email})


async def _password_change(client: httpx.AsyncClient, a: Account) -> httpx.Response:
    return await client.post(
        "/api/auth/password",
        headers=_auth(a),
        json={"current_password": "wrong-password-1", "new_password": NEW_PASSWORD},
    )


async def _reauth(client: httpx.AsyncClient, a: Account) -> httpx.Response:
    return await client.post(
        "/api/auth/reauth", headers=_auth(a), json={"password": "wrong-password-1"}
    )


# Each attempt, and what it answers under the limit.
CASES: dict[str, tuple[Attempt, int]] = {
    "login": (_login, 401),
    "login_2fa": (_login_2fa, 401),
    "register": (_register, 202),
    "verify_resend": (_verify_resend, 202),
    "password_change": (_password_change, 403),
    "reauth": (_reauth, 403),
}


def _assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 60
    assert error["retry_after"] == retry_after
    assert f"{retry_after} seconds" in error["message"]


def _ip() -> str:
    return f"192.0.2.{next(_serial) % 250 + 1}"


@pytest.mark.parametrize("action", ACTIONS)
async def test_one_ip_trying_many_accounts_is_limited(
    app: FastAPI, clients: Callable[[str], httpx.AsyncClient], action: str
) -> None:
    attempt, usual = CASES[action]
    accounts = [await _account(app) for _ in range(PER_IP + 1)]
    client, elsewhere = clients(_ip()), clients(_ip())
    for account in accounts[:PER_IP]:  # once per account: under every account limit
        response = await attempt(client, account)
        assert response.status_code == usual, response.text
    _assert_limited(await attempt(client, accounts[PER_IP]))
    # Another IP is not affected.
    assert (await attempt(elsewhere, accounts[PER_IP])).status_code == usual


@pytest.mark.parametrize("action", ACTIONS)
async def test_many_ips_trying_one_account_are_limited(
    app: FastAPI, clients: Callable[[str], httpx.AsyncClient], action: str
) -> None:
    attempt, usual = CASES[action]
    target, other = await _account(app), await _account(app)
    for _ in range(PER_ACCOUNT):  # a new IP each time: under every IP limit
        response = await attempt(clients(_ip()), target)
        assert response.status_code == usual, response.text
    _assert_limited(await attempt(clients(_ip()), target))
    # Another account is not affected.
    assert (await attempt(clients(_ip()), other)).status_code == usual


async def test_a_limited_attempt_changes_nothing(
    app: FastAPI, clients: Callable[[str], httpx.AsyncClient]
) -> None:
    """Past the limit the request is refused before it is looked at: the right password
    changes nothing and a registration creates no account."""
    account = await _account(app)
    client = clients(_ip())
    for _ in range(PER_ACCOUNT):
        await _password_change(client, account)
    right = await client.post(
        "/api/auth/password",
        headers=_auth(account),
        json={"current_password": account.user.password, "new_password": NEW_PASSWORD},
    )
    _assert_limited(right)
    async with app.state.database.sessionmaker() as session:
        user = await session.get(User, account.user.id)
        assert user is not None
        assert security.verify_password_sync(account.user.password, user.password_hash)

    for _ in range(PER_ACCOUNT):
        assert (await _register(client, account)).status_code == 202
    before = await _count_users(app)
    _assert_limited(await _register(client, account))
    assert await _count_users(app) == before


async def _count_users(app: FastAPI) -> int:
    async with app.state.database.sessionmaker() as session:
        return len((await session.scalars(select(User.id))).all())


async def test_under_the_limits_a_sign_in_works_as_before(
    app: FastAPI, clients: Callable[[str], httpx.AsyncClient]
) -> None:
    user = await create_user(app)
    client = clients(_ip())
    wrong = await client.post(
        "/api/auth/login", json={"login": user.username, "password": "wrong-password-1"}
    )
    assert wrong.status_code == 401 and "Retry-After" not in wrong.headers
    right = await client.post(
        "/api/auth/login", json={"login": user.email, "password": user.password}
    )
    assert right.status_code == 200, right.text
    assert right.json()["token_type"] == "bearer"


@pytest.mark.parametrize("cache_backend", ["redis"])
async def test_the_limit_holds_across_replicas_sharing_redis(
    app: FastAPI, settings: Settings
) -> None:
    """Two app instances (two replicas, as far as the cache goes) count together."""
    other = create_app(settings)
    async with other.router.lifespan_context(other):
        statuses = []
        for n in range(PER_ACCOUNT + 1):
            replica = (app, other)[n % 2]
            transport = httpx.ASGITransport(app=replica, client=(_ip(), 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                response = await c.post(
                    "/api/auth/login", json={"login": "shared-target", "password": "x" * 12}
                )
                statuses.append(response.status_code)
        assert statuses == [401] * PER_ACCOUNT + [429]
