"""Push endpoints cannot be turned against the gateway's network (server-side request
forgery): only allow-listed push services, only public addresses — judged on the address a
connection actually uses, so DNS rebinding does not help — and no redirects.

DNS is a stub (`push_guard.system_resolver` replaced), so a name can be made to resolve to
loopback, where a real listener counts every TCP connection it accepts: "refused" means that
count stays 0."""

from __future__ import annotations

import base64
import logging
import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from sqlalchemy import select

from relaypacs.core.database import utcnow
from relaypacs.notifications import push, push_guard
from relaypacs.notifications.models import PushSubscription
from relaypacs.settings import Settings
from tests.factories import bearer, create_user, login
from tests.notifications.push_service import PushService, StubResolver, running_push_service

SUBSCRIPTIONS = "/api/notifications/push-subscriptions"
VAPID_PRIVATE_KEY, VAPID_PUBLIC_KEY = push.generate_vapid_keys()
PAYLOAD = {"type": "report_ready", "title": "Report ready", "body": "CT of Secret^Patient"}


def overrides(**extra: Any) -> dict[str, Any]:
    return {
        "vapid_private_key": VAPID_PRIVATE_KEY,
        "vapid_public_key": VAPID_PUBLIC_KEY,
        "push_timeout_seconds": 5.0,
        **extra,
    }


ANY_HOST = overrides(push_allowed_hosts="*")
LOOPBACK_STAND_IN = overrides(push_allowed_hosts="127.0.0.1", push_allow_private_endpoints=True)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Production's rules: the default allow-list, public addresses only."""
    return overrides()


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> StubResolver:
    stub = StubResolver()
    monkeypatch.setattr(push_guard, "system_resolver", lambda: stub)
    return stub


@pytest.fixture
def listener() -> Iterator[PushService]:
    """A real server on 127.0.0.1 that counts the connections it accepts."""
    yield from running_push_service()


@pytest.fixture(autouse=True)
def no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def browser_keys() -> dict[str, str]:
    public = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {"p256dh": b64url(public), "auth": b64url(os.urandom(16))}


async def signed_in(app: FastAPI, client: httpx.AsyncClient) -> tuple[uuid.UUID, dict[str, str]]:
    user = await create_user(app)
    return user.id, bearer(await login(client, user))


async def subscribe(
    client: httpx.AsyncClient, headers: dict[str, str], endpoint: str
) -> httpx.Response:
    return await client.post(
        SUBSCRIPTIONS, json={"endpoint": endpoint, "keys": browser_keys()}, headers=headers
    )


async def store(app: FastAPI, user_id: uuid.UUID, endpoint: str) -> None:
    """A subscription written straight to the database, as if accepted under other rules."""
    async with app.state.database.sessionmaker() as session:
        session.add(
            PushSubscription(
                user_id=user_id, endpoint=endpoint, created_at=utcnow(), **browser_keys()
            )
        )
        await session.commit()


async def rows(app: FastAPI) -> list[PushSubscription]:
    async with app.state.database.sessionmaker() as session:
        return list((await session.scalars(select(PushSubscription))).all())


async def send(app: FastAPI, settings: Settings, user_id: uuid.UUID) -> None:
    await push.send_to_user(
        settings=settings, database=app.state.database, user_id=user_id, payload=PAYLOAD
    )


async def failures(app: FastAPI, endpoint: str) -> int:
    async with app.state.database.sessionmaker() as session:
        count = await session.scalar(
            select(PushSubscription.failure_count).where(PushSubscription.endpoint == endpoint)
        )
    assert count is not None, "the subscription is kept"
    return count


def assert_refusal_logged(caplog: pytest.LogCaptureFixture, reason: str, endpoint: str) -> None:
    assert "push_endpoint_refused" in caplog.text
    assert reason in caplog.text
    assert "Secret" not in caplog.text  # no PHI from the payload
    assert endpoint.rsplit("/", 1)[-1] not in caplog.text  # nor the device's token


# --- subscribing --------------------------------------------------------------------------


async def test_the_browsers_push_services_can_be_subscribed(
    app: FastAPI, client: httpx.AsyncClient, dns: StubResolver
) -> None:
    endpoints = {
        "fcm.googleapis.com": "https://fcm.googleapis.com/fcm/send/abc:APA91b",
        "updates.push.services.mozilla.com": (
            "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABc"
        ),
        "wns2-par02p.notify.windows.com": "https://wns2-par02p.notify.windows.com/w/?token=AQE",
        "web.push.apple.com": "https://web.push.apple.com/QGuQyavXutnMH",
    }
    for host, address in zip(
        endpoints, ["142.250.74.10", "34.117.65.55", "20.42.65.84", "17.188.180.10"], strict=True
    ):
        dns.script(host, [address])
    _, headers = await signed_in(app, client)

    for endpoint in endpoints.values():
        response = await subscribe(client, headers, endpoint)
        assert response.status_code == 201, response.text

    assert sorted(dns.asked) == sorted(endpoints)
    assert len(await rows(app)) == 4


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://push.example.org/send/abc",
        "https://minio:9000/relaypacs/x",
        "https://orthanc:8042/instances",
        "https://10.0.0.5.nip.io/x",
        "https://fcm.googleapis.com.evil.example/fcm/send/x",
        "https://evilfcm.googleapis.com/fcm/send/x",
        "https://142.250.74.10/fcm/send/x",
    ],
)
async def test_hosts_off_the_allow_list_are_refused_before_any_lookup(
    app: FastAPI, client: httpx.AsyncClient, dns: StubResolver, endpoint: str
) -> None:
    _, headers = await signed_in(app, client)
    response = await subscribe(client, headers, endpoint)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "push_endpoint_not_allowed"
    assert await rows(app) == []
    assert dns.asked == []


@pytest.mark.parametrize("settings_overrides", [ANY_HOST])
@pytest.mark.parametrize(
    "answer",
    [
        ["127.0.0.1"],
        ["10.0.0.5"],
        ["169.254.169.254"],
        ["::1"],
        ["100.64.0.1"],
        ["::ffff:127.0.0.1"],
        ["fd00::5"],
        ["142.250.74.10", "10.0.0.5"],  # one bad address spoils the answer
    ],
)
async def test_a_name_resolving_to_an_internal_address_cannot_be_subscribed(
    app: FastAPI, client: httpx.AsyncClient, dns: StubResolver, answer: list[str]
) -> None:
    dns.script("push.evil.example", answer)
    _, headers = await signed_in(app, client)
    response = await subscribe(client, headers, "https://push.evil.example/send/abc")
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "push_endpoint_not_allowed"
    assert await rows(app) == []


@pytest.mark.parametrize("settings_overrides", [ANY_HOST])
@pytest.mark.parametrize(
    ("endpoint", "code"),
    [
        ("https://127.0.0.1:8042/x", "push_endpoint_not_allowed"),
        ("https://[::1]/x", "push_endpoint_not_allowed"),
        ("https://[::ffff:a9fe:a9fe]/latest/meta-data", "push_endpoint_not_allowed"),
        ("https://100.64.0.1/x", "push_endpoint_not_allowed"),
        ("https://localhost/x", "push_endpoint_not_allowed"),
        ("https://minio/x", "push_endpoint_not_allowed"),
        ("https://db.internal/x", "push_endpoint_not_allowed"),
        ("http://push.evil.example/x", "invalid_push_endpoint"),
        ("https://unknown.evil.example/x", "invalid_push_endpoint"),  # does not resolve
    ],
)
async def test_internal_literals_names_and_plain_http_cannot_be_subscribed(
    app: FastAPI, client: httpx.AsyncClient, dns: StubResolver, endpoint: str, code: str
) -> None:
    dns.script("push.evil.example", ["142.250.74.10"])
    _, headers = await signed_in(app, client)
    response = await subscribe(client, headers, endpoint)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert await rows(app) == []


# --- sending ------------------------------------------------------------------------------


@pytest.mark.parametrize("settings_overrides", [ANY_HOST])
@pytest.mark.parametrize(
    "internal", ["127.0.0.1", "10.0.0.5", "169.254.169.254", "100.64.0.1", "::ffff:127.0.0.1"]
)
async def test_a_send_to_a_name_resolving_inward_makes_no_connection(
    app: FastAPI,
    settings: Settings,
    dns: StubResolver,
    listener: PushService,
    caplog: pytest.LogCaptureFixture,
    internal: str,
) -> None:
    caplog.set_level(logging.INFO)
    user = await create_user(app)
    endpoint = f"https://push.evil.example:{listener.port}/send/device-token-{uuid.uuid4().hex}"
    await store(app, user.id, endpoint)
    dns.script("push.evil.example", list(dict.fromkeys([internal, "127.0.0.1"])))

    await send(app, settings, user.id)

    assert listener.connections == 0
    assert await failures(app, endpoint) == 1
    assert dns.asked == ["push.evil.example"]
    assert_refusal_logged(caplog, "internal_address", endpoint)


@pytest.mark.parametrize("settings_overrides", [ANY_HOST])
@pytest.mark.parametrize("literal", ["127.0.0.1", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]"])
async def test_a_stored_internal_ip_literal_is_not_connected_to(
    app: FastAPI,
    settings: Settings,
    dns: StubResolver,
    listener: PushService,
    caplog: pytest.LogCaptureFixture,
    literal: str,
) -> None:
    caplog.set_level(logging.INFO)
    user = await create_user(app)
    endpoint = f"https://{literal}:{listener.port}/send/device-token-{uuid.uuid4().hex}"
    await store(app, user.id, endpoint)

    await send(app, settings, user.id)

    assert listener.connections == 0
    assert await failures(app, endpoint) == 1
    assert dns.asked == []
    assert_refusal_logged(caplog, "internal_address", endpoint)


@pytest.mark.parametrize("settings_overrides", [ANY_HOST])
async def test_a_send_to_a_name_resolving_to_ipv6_loopback_makes_no_connection(
    app: FastAPI, settings: Settings, dns: StubResolver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    user = await create_user(app)
    for listener in running_push_service("::1"):
        endpoint = f"https://push.evil.example:{listener.port}/send/token-{uuid.uuid4().hex}"
        await store(app, user.id, endpoint)
        dns.script("push.evil.example", ["::1"])

        await send(app, settings, user.id)

        assert listener.connections == 0
        assert await failures(app, endpoint) == 1
        assert_refusal_logged(caplog, "internal_address", endpoint)


@pytest.mark.parametrize(
    "settings_overrides", [overrides(push_allowed_hosts="*", push_allow_private_endpoints=True)]
)
async def test_control_without_the_guard_the_same_send_reaches_the_listener(
    app: FastAPI, settings: Settings, dns: StubResolver, listener: PushService
) -> None:
    """What the tests above would see if the guard let the connection through."""
    user = await create_user(app)
    endpoint = f"https://push.evil.example:{listener.port}/send/abc"
    await store(app, user.id, endpoint)
    dns.script("push.evil.example", ["127.0.0.1"])

    await send(app, settings, user.id)

    assert listener.connections >= 1


@pytest.mark.parametrize("settings_overrides", [ANY_HOST])
async def test_dns_rebinding_after_subscribing_never_reaches_the_internal_address(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    dns: StubResolver,
    listener: PushService,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    endpoint = f"https://push.evil.example:{listener.port}/send/rebind-{uuid.uuid4().hex}"
    dns.script("push.evil.example", ["142.250.74.10"], ["127.0.0.1"])
    user_id, headers = await signed_in(app, client)
    assert (await subscribe(client, headers, endpoint)).status_code == 201

    await send(app, settings, user_id)

    assert dns.asked == ["push.evil.example", "push.evil.example"]  # checked again on send
    assert listener.connections == 0
    assert await failures(app, endpoint) == 1
    assert_refusal_logged(caplog, "internal_address", endpoint)


@pytest.mark.parametrize("settings_overrides", [LOOPBACK_STAND_IN])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirecting_push_endpoint_is_a_failed_delivery_not_followed(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    listener: PushService,
    status: int,
) -> None:
    user_id, headers = await signed_in(app, client)
    for inner in running_push_service():
        endpoint = listener.new_redirect(status, inner.new_endpoint())
        assert (await subscribe(client, headers, endpoint)).status_code == 201

        await send(app, settings, user_id)

        assert len(listener.received(endpoint)) == 1
        assert inner.connections == 0 and inner.requests == []
        assert await failures(app, endpoint) == 1


@pytest.mark.parametrize(
    "settings_overrides",
    [overrides(push_allowed_hosts="fcm.googleapis.com", push_allow_private_endpoints=True)],
)
async def test_a_stored_endpoint_off_the_allow_list_is_not_sent_to(
    app: FastAPI, settings: Settings, listener: PushService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    user = await create_user(app)
    endpoint = listener.new_endpoint()
    await store(app, user.id, endpoint)

    await send(app, settings, user.id)

    assert listener.connections == 0
    assert await failures(app, endpoint) == 1
    assert_refusal_logged(caplog, "host_not_allowed", endpoint)


# --- behind an egress proxy ---------------------------------------------------------------


async def test_behind_a_proxy_only_the_proxy_is_resolved_and_connected_to(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    dns: StubResolver,
    listener: PushService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://proxy.hospital.example:{listener.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    dns.script("proxy.hospital.example", ["127.0.0.1"])  # a private address: trusted
    endpoint = "https://fcm.googleapis.com/fcm/send/abc:APA91b"
    user_id, headers = await signed_in(app, client)
    assert (await subscribe(client, headers, endpoint)).status_code == 201
    assert dns.asked == []  # the proxy resolves public names

    await send(app, settings, user_id)

    assert dns.asked == ["proxy.hospital.example"]
    [tunnel] = listener.requests
    assert (tunnel.method, tunnel.path) == ("CONNECT", "fcm.googleapis.com:443")
    assert await failures(app, endpoint) == 1  # this stand-in proxy refused the tunnel


@pytest.mark.parametrize("settings_overrides", [ANY_HOST])
async def test_the_proxy_itself_cannot_be_subscribed(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.hospital.example:3128")
    _, headers = await signed_in(app, client)
    response = await subscribe(client, headers, "https://proxy.hospital.example/x")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "push_endpoint_not_allowed"
    assert await rows(app) == []
