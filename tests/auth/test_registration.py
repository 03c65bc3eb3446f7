from __future__ import annotations

import re
import statistics
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from relaypacs.audit.models import AuditEvent
from relaypacs.core.security import PasswordHasher
from tests.conftest import MailSink
from tests.factories import create_user

STRONG = "marmalade-satellite-cobalt-19"


def _form(**changes: Any) -> dict[str, Any]:
    return {
        "email": "ana@example.org",
        "username": "ana.w",
        "full_name": "Ana Wright",
        "password": STRONG,
        "role": "radiographer",
    } | changes


@pytest.fixture
def settings_overrides(smtp_server: tuple[int, MailSink]) -> dict[str, Any]:
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_server[0],
        "smtp_starttls": False,
        "public_base_url": "http://gateway.example",
        # The timing test registers one address many times (limits: test_rate_limits.py).
        "rate_limit": {"register_per_ip": "100/hour", "register_per_account": "100/hour"},
    }


def _link_in(message: Any) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"http://gateway\.example/\S+", body)
    assert match, body
    return match.group(0)


async def test_register_verify_by_emailed_link_then_log_in(
    app: FastAPI, client: httpx.AsyncClient, smtp_server: tuple[int, MailSink]
) -> None:
    _, sink = smtp_server
    registered = await client.post("/api/auth/register", json=_form())
    assert registered.status_code == 202, registered.text
    login = {"login": "ana.w", "password": STRONG}
    assert (await client.post("/api/auth/login", json=login)).json()["error"][
        "code"
    ] == "email_not_verified"

    assert len(sink.messages) == 1
    message = sink.messages[0]
    assert message["To"] == "ana@example.org"
    link = urlsplit(_link_in(message))
    verified = await client.get(f"{link.path}?{link.query}")
    assert verified.status_code == 200, verified.text
    assert verified.json() == {"status": "verified", "email": "ana@example.org"}

    tokens = (await client.post("/api/auth/login", json=login)).json()
    me = (
        await client.get(
            "/api/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
    ).json()
    # The radiographer role is a request until an admin approves it (tests/facilities).
    assert me["role"] == "clinician" and me["facility"] is None
    assert me["membership"]["role"] == "radiographer"

    reused = await client.get(f"{link.path}?{link.query}")
    assert reused.status_code == 404
    assert reused.json()["error"]["code"] == "invalid_verification_token"


async def test_a_weak_password_is_refused_with_403_saying_why(
    client: httpx.AsyncClient, smtp_server: tuple[int, MailSink]
) -> None:
    for password, reason in (
        ("short-1", "too_short"),
        ("password1234", "too_guessable"),
        ("x" * 129, "too_long"),
    ):
        r = await client.post("/api/auth/register", json=_form(password=password))
        assert r.status_code == 403, (password, r.text)
        error = r.json()["error"]
        assert error["code"] == "weak_password" and error["reason"] == reason
        assert error["message"]
    assert smtp_server[1].messages == []


async def test_the_users_own_name_and_username_count_against_the_password(
    client: httpx.AsyncClient,
) -> None:
    from zxcvbn import zxcvbn

    password = "Qwertyuiopson2020"
    assert zxcvbn(password)["score"] >= 3, "strong enough for a stranger"
    r = await client.post(
        "/api/auth/register",
        json=_form(
            username="xkcdfan77",
            email="xkcdfan77@example.org",
            full_name="Zbigniew Qwertyuiopson",
            password=password,
        ),
    )
    assert r.status_code == 403
    assert r.json()["error"]["reason"] == "too_guessable"


async def test_any_unicode_password_of_good_strength_is_accepted(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/auth/register", json=_form(password="Ξένος-κόσμος-ταξίδι-七月"))
    assert r.status_code == 202, r.text


async def test_privileged_roles_cannot_be_self_registered(client: httpx.AsyncClient) -> None:
    for role in ("radiologist", "admin"):
        r = await client.post("/api/auth/register", json=_form(role=role))
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "validation_error"


async def test_taken_username_is_409_but_taken_email_is_not_revealed(
    app: FastAPI, client: httpx.AsyncClient, smtp_server: tuple[int, MailSink]
) -> None:
    existing = await create_user(app, username="taken", email="taken@example.org")
    r = await client.post("/api/auth/register", json=_form(username=existing.username))
    assert r.status_code == 409 and r.json()["error"]["code"] == "username_taken"
    fresh = await client.post(
        "/api/auth/register", json=_form(email="new@example.org", username="new.one")
    )
    same_email = await client.post(
        "/api/auth/register", json=_form(email=existing.email, username="other")
    )
    assert same_email.status_code == fresh.status_code == 202
    assert same_email.json() == fresh.json()
    notice = smtp_server[1].messages[-1]
    assert notice["To"] == existing.email and "already has an account" in notice.get_content()


class CountingHasher:
    """Wraps the app's hasher and counts the bcrypt hashes it computes."""

    def __init__(self, inner: PasswordHasher) -> None:
        self.inner = inner
        self.hashes = 0

    async def hash(self, password: str) -> str:
        self.hashes += 1
        return await self.inner.hash(password)

    async def verify(self, password: str, stored: str | None) -> bool:
        return await self.inner.verify(password, stored)


async def test_a_taken_email_costs_the_same_bcrypt_hash_as_a_fresh_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    existing = await create_user(app, email="taken@example.org")
    hasher = CountingHasher(app.state.hasher)
    app.state.hasher = hasher
    fresh = await client.post(
        "/api/auth/register", json=_form(email="fresh@example.org", username="fresh.one")
    )
    assert fresh.status_code == 202 and hasher.hashes == 1
    taken = await client.post(
        "/api/auth/register", json=_form(email=existing.email, username="someone.else")
    )
    assert taken.status_code == 202 and taken.json() == fresh.json()
    assert hasher.hashes == 2
    async with app.state.database.sessionmaker() as session:
        attempts = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == "registration_with_existing_email")
        )
        assert [e.target_id for e in attempts] == [str(existing.id)]


async def test_registration_takes_as_long_whether_or_not_the_email_is_taken(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Medians of 5 registrations each way differ by well under one bcrypt hash (what a
    taken-address shortcut would save), timed alongside them so machine load cancels out."""
    existing = await create_user(app, email="taken@example.org")
    await client.post("/api/auth/register", json=_form(email="warm@example.org", username="warm"))

    async def timed(email: str, username: str) -> float:
        started = time.perf_counter()
        response = await client.post(
            "/api/auth/register", json=_form(email=email, username=username)
        )
        assert response.status_code == 202, response.text
        return time.perf_counter() - started

    fresh, taken, hashes = [], [], []
    for i in range(5):
        fresh.append(await timed(f"fresh{i}@example.org", f"fresh{i}"))
        taken.append(await timed(existing.email, f"other{i}"))
        started = time.perf_counter()
        await app.state.hasher.hash(STRONG)
        hashes.append(time.perf_counter() - started)
    difference = abs(statistics.median(fresh) - statistics.median(taken))
    assert difference < statistics.median(hashes) / 2, (fresh, taken, hashes)


async def test_an_unknown_verification_token_is_404(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/auth/verify-email", json={"token": "x" * 43})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "invalid_verification_token"


async def test_resend_sends_a_fresh_link(
    client: httpx.AsyncClient, smtp_server: tuple[int, MailSink]
) -> None:
    await client.post("/api/auth/register", json=_form())
    r = await client.post("/api/auth/verify-email/resend", json={"email": "ana@example.org"})
    assert r.status_code == 202
    links = [_link_in(m) for m in smtp_server[1].messages]
    assert len(links) == 2 and links[0] != links[1]
    unknown = await client.post(
        "/api/auth/verify-email/resend", json={"email": "ghost@example.org"}
    )
    assert unknown.status_code == 202 and unknown.json() == r.json()


@pytest.mark.parametrize("settings_overrides", [{}])
async def test_without_smtp_the_link_goes_to_the_development_log(
    capsys: pytest.CaptureFixture[str],
    client: httpx.AsyncClient,
    settings_overrides: dict[str, Any],
) -> None:
    # capsys comes first so the app's log handler is bound to the captured stderr.
    assert (await client.post("/api/auth/register", json=_form())).status_code == 202
    err = capsys.readouterr().err
    assert "/api/auth/verify-email?token=" in err
    assert STRONG not in err
