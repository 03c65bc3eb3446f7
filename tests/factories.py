"""Test data builders. Users are written straight to the database with a cheap bcrypt
cost (4); the app verifies any cost, and its own new hashes still use cost 12."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pyotp
from fastapi import FastAPI

from relaypacs.auth.models import User
from relaypacs.core.database import utcnow
from relaypacs.core.permissions import Role
from relaypacs.core.security import hash_password_sync
from relaypacs.facilities import service as facilities

DEFAULT_PASSWORD = "tangerine-bicycle-orbit-42"
_counter = itertools.count(1)


@dataclass
class UserFixture:
    id: uuid.UUID
    email: str
    username: str
    role: Role
    facility: str | None
    password: str
    totp_secret: str | None = None
    facility_id: uuid.UUID | None = None


async def create_user(
    app: FastAPI,
    *,
    role: Role = Role.clinician,
    facility: str | None = "General Hospital",
    password: str = DEFAULT_PASSWORD,
    verified: bool = True,
    active: bool = True,
    mfa: bool = False,
    **extra: Any,
) -> UserFixture:
    n = next(_counter)
    username = extra.pop("username", f"{role.value}{n}")
    email = extra.pop("email", f"{username}@example.org")
    secret = pyotp.random_base32() if mfa else None
    user = User(
        id=uuid.uuid4(),
        email=email,
        username=username,
        full_name=f"Test {role.value} {n}",
        role=role,
        password_hash=hash_password_sync(password, rounds=4),
        is_active=active,
        email_verified_at=utcnow() if verified else None,
        password_changed_at=utcnow(),
        totp_secret=secret,
        totp_enabled_at=utcnow() if mfa else None,
        **extra,
    )
    async with app.state.database.sessionmaker() as session:
        # A facility given here is an approved membership (as an admin would set it).
        if facility is not None:
            home = await facilities.get_or_create_by_name(session, name=facility)
            user.facility_id = home.id
        session.add(user)
        await session.commit()
    return UserFixture(user.id, email, username, role, facility, password, secret, user.facility_id)


async def login(client: httpx.AsyncClient, user: UserFixture) -> dict[str, Any]:
    response = await client.post(
        "/api/auth/login", json={"login": user.username, "password": user.password}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def auth_headers(app: FastAPI, client: httpx.AsyncClient, **kwargs: Any) -> dict[str, str]:
    """Create a user and return Authorization headers for them."""
    user = await create_user(app, **kwargs)
    return bearer(await login(client, user))
