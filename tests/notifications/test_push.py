"""Web Push over the real protocol: a browser-like subscription (P-256 key pair and auth
secret) is registered through the API, a notification is sent with pywebpush to a local
stand-in push service, and the test decrypts what arrived (RFC 8291, aes128gcm) and verifies
the VAPID token (RFC 8292) as a push service would."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import http_ece  # type: ignore[import-untyped]
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from sqlalchemy import select
from typer.testing import CliRunner

from relaypacs.cli import app as cli_app
from relaypacs.notifications import push
from relaypacs.notifications import service as notifications_service
from relaypacs.notifications.models import PushSubscription
from relaypacs.reports.models import ReportStatus
from relaypacs.settings import Settings
from tests.factories import UserFixture, bearer, create_user, login
from tests.notifications.factories import create_delivered
from tests.notifications.push_service import PushService, running_push_service

SUBSCRIPTIONS = "/api/notifications/push-subscriptions"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_keys_with_cli() -> dict[str, str]:
    result = CliRunner().invoke(cli_app, ["push", "keys"])
    assert result.exit_code == 0, result.output
    pairs = dict(line.split("=", 1) for line in result.output.strip().splitlines())
    assert set(pairs) == {"VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY"}
    return pairs


@pytest.fixture(scope="module")
def vapid_keys() -> dict[str, str]:
    """The pair every test here sends with: printed by `relaypacs push keys`."""
    return generate_keys_with_cli()


@pytest.fixture
def settings_overrides(vapid_keys: dict[str, str]) -> dict[str, Any]:
    return {
        "vapid_private_key": vapid_keys["VAPID_PRIVATE_KEY"],
        "vapid_public_key": vapid_keys["VAPID_PUBLIC_KEY"],
        "vapid_subject": "mailto:push-admin@relaypacs.example",
        "push_timeout_seconds": 5.0,
        # The stand-in push service listens on loopback over plain http.
        "push_allowed_hosts": "127.0.0.1",
        "push_allow_private_endpoints": True,
    }


@pytest.fixture(scope="module")
def push_service() -> Iterator[PushService]:
    yield from running_push_service()


@dataclass
class Browser:
    """What a browser keeps for one subscription: its ECDH key and auth secret."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @classmethod
    def create(cls, endpoint: str) -> Browser:
        return cls(endpoint, ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    def subscription(self) -> dict[str, Any]:
        """`PushSubscription.toJSON()`."""
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(public), "auth": b64url(self.auth_secret)},
        }

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm"
        )
        message: dict[str, Any] = json.loads(plain)
        return message


async def user_and_headers(
    app: FastAPI, client: httpx.AsyncClient
) -> tuple[UserFixture, dict[str, str]]:
    user = await create_user(app)
    return user, bearer(await login(client, user))


async def subscribe(
    client: httpx.AsyncClient, headers: dict[str, str], browser: Browser
) -> httpx.Response:
    return await client.post(
        SUBSCRIPTIONS,
        json=browser.subscription(),
        headers={**headers, "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"},
    )


async def create_report(app: FastAPI, uploader: UserFixture) -> tuple[uuid.UUID, uuid.UUID]:
    """A forwarded STAT upload and its READY report, written straight to the database."""
    return await create_delivered(
        app.state.database, uploader=uploader, service_level="STAT", status=ReportStatus.ready
    )


async def notify(
    app: FastAPI,
    user: UserFixture,
    *,
    type: str = "report_ready",
    report_id: uuid.UUID | None = None,
    upload_id: uuid.UUID | None = None,
) -> None:
    """Create a notification as a producer would, deliver it after commit, and wait for the
    background push to finish."""
    async with app.state.database.sessionmaker() as session:
        dispatch = await notifications_service.notify(
            session,
            user_ids=[user.id],
            type=type,
            title="Report ready",
            body="CT of 2026-11-01 (STAT) has been reported.",
            report_id=report_id,
            upload_id=upload_id,
        )
        await session.commit()
    await app.state.notifier.deliver(dispatch)
    await app.state.notifier.drain()


async def stored(app: FastAPI, endpoint: str) -> PushSubscription | None:
    async with app.state.database.sessionmaker() as session:
        row: PushSubscription | None = await session.scalar(
            select(PushSubscription).where(PushSubscription.endpoint == endpoint)
        )
        return row


# --- keys -------------------------------------------------------------------------


def test_push_keys_prints_a_p256_pair_whose_halves_match() -> None:
    keys = generate_keys_with_cli()
    private = b64url_decode(keys["VAPID_PRIVATE_KEY"])
    public = b64url_decode(keys["VAPID_PUBLIC_KEY"])
    assert len(private) == 32
    assert len(public) == 65 and public[0] == 0x04
    derived = ec.derive_private_key(int.from_bytes(private, "big"), ec.SECP256R1())
    assert (
        derived.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        == public
    )
    assert generate_keys_with_cli() != keys


# --- the round trip -----------------------------------------------------------------


async def test_report_ready_push_arrives_encrypted_for_the_browser_and_vapid_signed(
    app: FastAPI,
    client: httpx.AsyncClient,
    push_service: PushService,
    settings: Settings,
    vapid_keys: dict[str, str],
) -> None:
    user, headers = await user_and_headers(app, client)
    browser = Browser.create(push_service.new_endpoint())
    response = await subscribe(client, headers, browser)
    assert response.status_code == 201, response.text
    assert response.json()["endpoint"] == browser.endpoint
    assert response.json()["last_success_at"] is None
    upload_id, report_id = await create_report(app, user)

    before = int(time.time())
    await notify(app, user, report_id=report_id, upload_id=upload_id)

    [received] = push_service.received(browser.endpoint)
    assert received.headers["content-encoding"] == "aes128gcm"
    assert received.headers["urgency"] == "high"
    assert int(received.headers["ttl"]) == push.TTL_SECONDS
    assert len(received.body) < 4096
    message = browser.decrypt(received.body)
    assert message["type"] == "report_ready"
    assert message["title"] == "Report ready"
    assert message["body"] == "CT of 2026-11-01 (STAT) has been reported."
    assert message["report_id"] == str(report_id)
    assert message["upload_id"] == str(upload_id)
    assert message["url"] == f"/reports/{report_id}"

    # RFC 8292: "vapid t=<JWT>, k=<public key>", the JWT signed with that key.
    scheme, _, params = received.headers["authorization"].partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == vapid_keys["VAPID_PUBLIC_KEY"]
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), b64url_decode(fields["k"])
    )
    claims = jwt.decode(
        fields["t"],
        public_key,
        algorithms=["ES256"],
        audience=push_service.origin,
        options={"require": ["aud", "exp", "sub"]},
    )
    assert claims["sub"] == settings.vapid_subject
    assert before < claims["exp"] <= before + 24 * 3600 + 5

    listed = await client.get(SUBSCRIPTIONS, headers=headers)
    assert listed.status_code == 200
    [subscription] = listed.json()
    assert subscription["last_success_at"] is not None


async def test_every_subscription_of_the_user_gets_the_message_with_normal_urgency(
    app: FastAPI, client: httpx.AsyncClient, push_service: PushService
) -> None:
    user, headers = await user_and_headers(app, client)
    phone, laptop = (Browser.create(push_service.new_endpoint()) for _ in range(2))
    for browser in (phone, laptop):
        assert (await subscribe(client, headers, browser)).status_code == 201
    upload_id, _ = await create_report(app, user)

    await notify(app, user, type="upload_complete", upload_id=upload_id)

    for browser in (phone, laptop):
        [received] = push_service.received(browser.endpoint)
        assert received.headers["urgency"] == "normal"
        message = browser.decrypt(received.body)
        assert message["type"] == "upload_complete"
        assert message["url"] == f"/history/{upload_id}"


async def test_push_message_carries_the_unread_count_for_the_app_badge(
    app: FastAPI, client: httpx.AsyncClient, push_service: PushService
) -> None:
    user, headers = await user_and_headers(app, client)
    browser = Browser.create(push_service.new_endpoint())
    assert (await subscribe(client, headers, browser)).status_code == 201
    upload_id, _ = await create_report(app, user)

    await notify(app, user, type="upload_complete", upload_id=upload_id)
    await notify(app, user, type="upload_failed", upload_id=upload_id)

    first, second = push_service.received(browser.endpoint)
    assert browser.decrypt(first.body)["unread"] == 1
    assert browser.decrypt(second.body)["unread"] == 2


@pytest.mark.parametrize("status", [404, 410])
async def test_subscription_the_push_service_calls_gone_is_deleted(
    app: FastAPI, client: httpx.AsyncClient, push_service: PushService, status: int
) -> None:
    user, headers = await user_and_headers(app, client)
    expired = Browser.create(push_service.new_endpoint(status))
    alive = Browser.create(push_service.new_endpoint())
    for browser in (expired, alive):
        assert (await subscribe(client, headers, browser)).status_code == 201

    await notify(app, user)

    assert len(push_service.received(expired.endpoint)) == 1
    assert await stored(app, expired.endpoint) is None
    kept = await stored(app, alive.endpoint)
    assert kept is not None and kept.last_success_at is not None


async def test_other_push_service_failures_keep_the_subscription_and_count(
    app: FastAPI, client: httpx.AsyncClient, push_service: PushService
) -> None:
    user, headers = await user_and_headers(app, client)
    browser = Browser.create(push_service.new_endpoint(503))
    assert (await subscribe(client, headers, browser)).status_code == 201

    await notify(app, user)
    await notify(app, user)

    row = await stored(app, browser.endpoint)
    assert row is not None
    assert row.failure_count == 2
    assert row.last_success_at is None


async def test_unreachable_push_service_counts_a_failure(
    app: FastAPI, client: httpx.AsyncClient, push_service: PushService
) -> None:
    from tests.servers import free_port

    user, headers = await user_and_headers(app, client)
    browser = Browser.create(f"http://127.0.0.1:{free_port()}/push/nobody-listens")
    assert (await subscribe(client, headers, browser)).status_code == 201

    await notify(app, user)

    row = await stored(app, browser.endpoint)
    assert row is not None and row.failure_count == 1


async def test_push_switched_off_in_preferences_sends_nothing(
    app: FastAPI, client: httpx.AsyncClient, push_service: PushService
) -> None:
    user, headers = await user_and_headers(app, client)
    browser = Browser.create(push_service.new_endpoint())
    assert (await subscribe(client, headers, browser)).status_code == 201
    response = await client.patch(
        "/api/me/preferences",
        json={"notifications": {"report_ready": {"in_app": True, "push": False, "email": False}}},
        headers=headers,
    )
    assert response.status_code == 200, response.text

    await notify(app, user, type="report_ready")
    assert push_service.received(browser.endpoint) == []

    # Only that type was switched off.
    await notify(app, user, type="upload_failed")
    [received] = push_service.received(browser.endpoint)
    assert browser.decrypt(received.body)["type"] == "upload_failed"


# --- subscribing ----------------------------------------------------------------------


@pytest.mark.parametrize("settings_overrides", [{"vapid_private_key": "", "vapid_public_key": ""}])
async def test_subscribing_without_vapid_keys_is_404_not_a_server_error(
    app: FastAPI, client: httpx.AsyncClient, push_service: PushService
) -> None:
    _, headers = await user_and_headers(app, client)
    response = await subscribe(client, headers, Browser.create(push_service.new_endpoint()))
    # An optional feature this server does not offer: 404, never a 5xx.
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "push_not_configured"
    config = await client.get("/api/notifications/push-config", headers=headers)
    assert config.json() == {"enabled": False, "public_key": None}


async def test_push_config_publishes_the_application_server_key(
    client: httpx.AsyncClient, app: FastAPI, vapid_keys: dict[str, str]
) -> None:
    _, headers = await user_and_headers(app, client)
    config = await client.get("/api/notifications/push-config", headers=headers)
    assert config.json() == {"enabled": True, "public_key": vapid_keys["VAPID_PUBLIC_KEY"]}


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {
            "vapid_private_key": push.generate_vapid_keys()[0],
            "vapid_public_key": push.generate_vapid_keys()[1],
        }
    ],
)
async def test_mismatched_vapid_keys_are_reported_as_not_configured(
    app: FastAPI, client: httpx.AsyncClient, push_service: PushService
) -> None:
    _, headers = await user_and_headers(app, client)
    response = await subscribe(client, headers, Browser.create(push_service.new_endpoint()))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "push_not_configured"
    assert "VAPID_PUBLIC_KEY" in response.json()["error"]["message"]


def _point_off_the_curve() -> str:
    return b64url(b"\x04" + (1).to_bytes(32, "big") + (1).to_bytes(32, "big"))


@pytest.mark.parametrize(
    ("keys", "complaint"),
    [
        ({"p256dh": b64url(b"\x04" + os.urandom(40))}, "65 bytes"),
        ({"p256dh": b64url(b"\x02" + os.urandom(64))}, "65 bytes"),
        ({"p256dh": _point_off_the_curve()}, "curve"),
        ({"auth": b64url(os.urandom(15))}, "16-byte"),
        ({"p256dh": "A" * 85}, "base64url"),
    ],
    ids=["short-key", "compressed-prefix", "off-curve", "short-auth", "not-base64"],
)
async def test_bad_subscription_keys_are_422(
    app: FastAPI,
    client: httpx.AsyncClient,
    push_service: PushService,
    keys: dict[str, str],
    complaint: str,
) -> None:
    _, headers = await user_and_headers(app, client)
    body = Browser.create(push_service.new_endpoint()).subscription()
    body["keys"].update(keys)
    response = await client.post(SUBSCRIPTIONS, json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_push_key"
    assert complaint in response.json()["error"]["message"]


async def test_resubscribing_an_endpoint_from_another_account_moves_it(
    app: FastAPI, client: httpx.AsyncClient, push_service: PushService
) -> None:
    first, first_headers = await user_and_headers(app, client)
    second, second_headers = await user_and_headers(app, client)
    browser = Browser.create(push_service.new_endpoint())
    assert (await subscribe(client, first_headers, browser)).status_code == 201
    assert (await subscribe(client, first_headers, browser)).status_code == 201
    assert len((await client.get(SUBSCRIPTIONS, headers=first_headers)).json()) == 1

    assert (await subscribe(client, second_headers, browser)).status_code == 201

    assert (await client.get(SUBSCRIPTIONS, headers=first_headers)).json() == []
    assert len((await client.get(SUBSCRIPTIONS, headers=second_headers)).json()) == 1
    await notify(app, first)
    assert push_service.received(browser.endpoint) == []
    await notify(app, second)
    assert len(push_service.received(browser.endpoint)) == 1


async def test_a_user_keeps_at_most_the_newest_subscriptions(
    app: FastAPI, client: httpx.AsyncClient, push_service: PushService
) -> None:
    _, headers = await user_and_headers(app, client)
    endpoints = [push_service.new_endpoint() for _ in range(push.MAX_SUBSCRIPTIONS_PER_USER + 2)]
    for endpoint in endpoints:
        assert (await subscribe(client, headers, Browser.create(endpoint))).status_code == 201

    listed = (await client.get(SUBSCRIPTIONS, headers=headers)).json()
    assert len(listed) == push.MAX_SUBSCRIPTIONS_PER_USER
    kept = {item["endpoint"] for item in listed}
    assert endpoints[-1] in kept
    assert not kept & set(endpoints[:2])


async def test_unsubscribing_deletes_only_your_own_subscription(
    app: FastAPI, client: httpx.AsyncClient, push_service: PushService
) -> None:
    owner, owner_headers = await user_and_headers(app, client)
    _, other_headers = await user_and_headers(app, client)
    browser = Browser.create(push_service.new_endpoint())
    assert (await subscribe(client, owner_headers, browser)).status_code == 201

    response = await client.request(
        "DELETE", SUBSCRIPTIONS, json={"endpoint": browser.endpoint}, headers=other_headers
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "push_subscription_not_found"
    assert await stored(app, browser.endpoint) is not None

    response = await client.request(
        "DELETE", SUBSCRIPTIONS, json={"endpoint": browser.endpoint}, headers=owner_headers
    )
    assert response.status_code == 204
    assert await stored(app, browser.endpoint) is None
    await notify(app, owner)
    assert push_service.received(browser.endpoint) == []


# --- payload --------------------------------------------------------------------------


def test_payload_stays_small_whatever_the_body() -> None:
    report_id = uuid.uuid4()
    encoded = push.encode_payload(
        {
            "type": "additional_data_required",
            "title": "Additional data required",
            "body": "Please send the prior CT. " * 500,
            "upload_id": None,
            "report_id": str(report_id),
        }
    )
    assert len(encoded) <= push.MAX_PAYLOAD_BYTES
    message = json.loads(encoded)
    assert message["url"] == f"/reports/{report_id}"
    assert message["body"].startswith("Please send the prior CT.")
