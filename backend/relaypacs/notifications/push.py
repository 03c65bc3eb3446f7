"""Web Push (RFC 8030 delivery, RFC 8291 aes128gcm encryption, RFC 8292 VAPID) with pywebpush.

Keys: `VAPID_PRIVATE_KEY` is the base64url raw 32-byte P-256 scalar, `VAPID_PUBLIC_KEY` the
base64url uncompressed point (the browser's `applicationServerKey`); `relaypacs push keys`
prints a pair. Payload bodies may name a study, so logs carry only ids and status codes.
Endpoints are checked, when subscribed and on every send, by `push_guard` (allow-list, public
addresses only at connect time, no redirects).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid  # type: ignore[import-untyped]
from pywebpush import WebPushException, webpush_async  # type: ignore[import-untyped]
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.auth.models import User
from relaypacs.core.config import CoreSettings
from relaypacs.core.database import Database, utcnow
from relaypacs.core.logging import get_logger
from relaypacs.notifications import push_guard
from relaypacs.notifications.errors import (
    InvalidPushEndpoint,
    InvalidPushKey,
    PushEndpointNotAllowed,
    PushNotConfigured,
    PushSubscriptionNotFound,
)
from relaypacs.notifications.models import PushSubscription
from relaypacs.notifications.schemas import PushSubscriptionCreate

log = get_logger("relaypacs.notifications.push")

MAX_SUBSCRIPTIONS_PER_USER = 20
MAX_PAYLOAD_BYTES = 3000
# How long the push service keeps a message for an offline device.
TTL_SECONDS = 24 * 3600
# RFC 8292 caps a VAPID token's lifetime at 24 hours.
VAPID_TOKEN_SECONDS = 12 * 3600
HIGH_URGENCY_TYPES = frozenset({"report_ready", "upload_failed"})
GONE_STATUSES = frozenset({404, 410})
_ENDPOINT_MAX_LENGTH = 1000
_USER_AGENT_MAX_LENGTH = 400


def enabled(settings: CoreSettings) -> bool:
    return bool(settings.vapid_private_key.get_secret_value() and settings.vapid_public_key)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    text = text.strip().rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_vapid_keys() -> tuple[str, str]:
    """A new P-256 pair as (private: base64url raw scalar, public: base64url uncompressed)."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64url(private), _b64url(public)


@functools.lru_cache(maxsize=4)
def _load_vapid(private_key: str, public_key: str) -> Any:
    try:
        vapid = Vapid.from_string(private_key=private_key)
        derived = vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    except Exception as exc:  # py_vapid raises whatever cryptography or base64 raise
        raise PushNotConfigured(
            "VAPID_PRIVATE_KEY is not a valid key; generate a pair with `relaypacs push keys`."
        ) from exc
    try:
        configured = _b64url_decode(public_key)
    except (binascii.Error, ValueError):
        configured = b""
    # Browsers subscribe with the public key; a mismatch would make every push a 403.
    if configured != derived:
        raise PushNotConfigured(
            "VAPID_PUBLIC_KEY does not match VAPID_PRIVATE_KEY; set both from one "
            "`relaypacs push keys` run."
        )
    return vapid


def vapid_signer(settings: CoreSettings) -> Any:
    """The VAPID signer for the configured keys; PushNotConfigured if absent or broken."""
    if not enabled(settings):
        raise PushNotConfigured()
    if not settings.vapid_subject.startswith(("mailto:", "https://")):
        raise PushNotConfigured("VAPID_SUBJECT must be a mailto: address or an https:// URL.")
    return _load_vapid(settings.vapid_private_key.get_secret_value(), settings.vapid_public_key)


def _check_keys(p256dh: str, auth: str) -> None:
    try:
        point = _b64url_decode(p256dh)
        secret = _b64url_decode(auth)
    except (binascii.Error, ValueError) as exc:
        raise InvalidPushKey("keys.p256dh and keys.auth must be base64url.") from exc
    if len(point) != 65 or point[0] != 0x04:
        raise InvalidPushKey("keys.p256dh must be an uncompressed P-256 point (65 bytes).")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise InvalidPushKey("keys.p256dh is not a point on the P-256 curve.") from exc
    if len(secret) != 16:
        raise InvalidPushKey("keys.auth must be a 16-byte secret.")


async def _check_endpoint(settings: CoreSettings, endpoint: str) -> None:
    if len(endpoint) > _ENDPOINT_MAX_LENGTH or not urlsplit(endpoint).hostname:
        raise InvalidPushEndpoint("The endpoint must be an absolute URL of at most 1000 chars.")
    # The gateway POSTs to this URL: keep browsers from pointing it at internal services.
    try:
        await push_guard.check_subscription(settings, endpoint)
    except push_guard.EndpointRefused as exc:
        if exc.reason == "scheme":
            raise InvalidPushEndpoint(exc.message) from exc
        raise PushEndpointNotAllowed(exc.message) from exc
    except (OSError, TimeoutError) as exc:
        raise InvalidPushEndpoint("The endpoint's host could not be resolved.") from exc


async def subscribe(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    user: User,
    data: PushSubscriptionCreate,
    user_agent: str | None,
) -> PushSubscription:
    """Store (or take over) the browser's subscription; the user's oldest beyond the cap go."""
    vapid_signer(settings)
    endpoint = str(data.endpoint)
    await _check_endpoint(settings, endpoint)
    _check_keys(data.keys.p256dh, data.keys.auth)
    agent = user_agent[:_USER_AGENT_MAX_LENGTH] if user_agent else None
    user_id = user.id  # a rollback expires `user`; its id must not need a reload
    try:
        row = await _upsert(session, user_id=user_id, endpoint=endpoint, data=data, agent=agent)
    except IntegrityError:
        # Another request stored the same endpoint in between: update that row instead.
        await session.rollback()
        row = await _upsert(session, user_id=user_id, endpoint=endpoint, data=data, agent=agent)
    await _enforce_cap(session, user_id=user_id, keep=row.id)
    await session.commit()
    await session.refresh(row)
    return row


async def _upsert(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    endpoint: str,
    data: PushSubscriptionCreate,
    agent: str | None,
) -> PushSubscription:
    row = await session.scalar(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint)
    )
    if row is None:
        row = PushSubscription(user_id=user_id, endpoint=endpoint, created_at=utcnow())
        session.add(row)
    elif row.user_id != user_id:
        # The browser profile changed hands: it now belongs to whoever subscribed last.
        row.user_id = user_id
        row.created_at = utcnow()
        row.last_success_at = None
    row.p256dh = data.keys.p256dh
    row.auth = data.keys.auth
    row.user_agent = agent
    row.failure_count = 0
    await session.flush()
    return row


async def _enforce_cap(session: AsyncSession, *, user_id: uuid.UUID, keep: uuid.UUID) -> None:
    mine = PushSubscription.user_id == user_id
    count = await session.scalar(select(func.count()).where(mine)) or 0
    excess = count - MAX_SUBSCRIPTIONS_PER_USER
    if excess <= 0:
        return
    oldest = await session.scalars(
        select(PushSubscription.id)
        .where(mine, PushSubscription.id != keep)
        .order_by(PushSubscription.created_at, PushSubscription.id)
        .limit(excess)
    )
    await session.execute(delete(PushSubscription).where(PushSubscription.id.in_(oldest.all())))


async def unsubscribe(session: AsyncSession, *, user: User, endpoint: str) -> None:
    """Forget one of the user's subscriptions; someone else's is a 404."""
    row = await session.scalar(
        select(PushSubscription).where(
            PushSubscription.endpoint == endpoint, PushSubscription.user_id == user.id
        )
    )
    if row is None:
        raise PushSubscriptionNotFound()
    await session.delete(row)
    await session.commit()


async def list_for_user(session: AsyncSession, *, user: User) -> Sequence[PushSubscription]:
    """The user's subscriptions, newest first."""
    return (
        await session.scalars(
            select(PushSubscription)
            .where(PushSubscription.user_id == user.id)
            .order_by(PushSubscription.created_at.desc(), PushSubscription.id)
        )
    ).all()


def encode_payload(payload: dict[str, Any]) -> bytes:
    """The JSON the service worker shows, with a `url` to open; the body is shortened so the
    message stays under MAX_PAYLOAD_BYTES (push services accept about 4 KB)."""
    message = dict(payload)
    if message.get("report_id"):
        message["url"] = f"/reports/{message['report_id']}"
    elif message.get("upload_id"):
        message["url"] = f"/history/{message['upload_id']}"
    for key in ("title", "body"):
        if isinstance(message.get(key), str):
            message[key] = message[key][:1000]
    encoded = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
    while len(encoded) > MAX_PAYLOAD_BYTES and message.get("body"):
        message["body"] = message["body"][: len(message["body"]) // 2].rstrip() + "…"
        if len(message["body"]) <= 1:
            message["body"] = ""
        encoded = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
    return encoded


@dataclass(frozen=True)
class _Target:
    id: uuid.UUID
    endpoint: str
    p256dh: str
    auth: str


def _origin(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def _refused(target: _Target, exc: push_guard.EndpointRefused) -> None:
    log.warning("push_endpoint_refused", subscription_id=str(target.id), reason=exc.reason)


async def _send_one(
    http: push_guard.NoRedirects,
    *,
    settings: CoreSettings,
    vapid: Any,
    target: _Target,
    data: str,
    urgency: str,
) -> int | None:
    """Deliver one message; the push service's status, or None if it was unreachable or
    refused by the guard."""
    try:
        push_guard.check_endpoint(settings, target.endpoint)
    except push_guard.EndpointRefused as exc:
        _refused(target, exc)
        return None
    claims = {
        "sub": settings.vapid_subject,
        "aud": _origin(target.endpoint),
        "exp": int(time.time()) + VAPID_TOKEN_SECONDS,
    }
    try:
        response = await webpush_async(
            subscription_info={
                "endpoint": target.endpoint,
                "keys": {"p256dh": target.p256dh, "auth": target.auth},
            },
            data=data,
            vapid_private_key=vapid,
            vapid_claims=claims,
            content_encoding="aes128gcm",
            ttl=TTL_SECONDS,
            headers={"Urgency": urgency},
            timeout=settings.push_timeout_seconds,
            aiohttp_session=http,
        )
    except WebPushException as exc:
        return exc.status_code if isinstance(exc.status_code, int) else None
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, push_guard.EndpointRefused):
            _refused(target, exc.os_error)
        return None
    except (aiohttp.ClientError, TimeoutError):
        return None
    except Exception as exc:  # noqa: BLE001 - one broken subscription must not stop the rest
        log.warning("push_error", subscription_id=str(target.id), error=type(exc).__name__)
        return None
    status: int = response.status
    return status


async def send_to_user(
    *, settings: CoreSettings, database: Database, user_id: uuid.UUID, payload: dict[str, Any]
) -> None:
    """Push `payload` to each of the user's subscriptions; drop those the service says are
    gone (404/410), count failures on the others."""
    if not enabled(settings):
        return
    async with database.sessionmaker() as session:
        rows = await session.scalars(
            select(PushSubscription).where(PushSubscription.user_id == user_id)
        )
        targets = [_Target(row.id, row.endpoint, row.p256dh, row.auth) for row in rows]
    if not targets:
        return
    vapid = vapid_signer(settings)
    data = encode_payload(payload).decode()
    urgency = "high" if payload.get("type") in HIGH_URGENCY_TYPES else "normal"
    async with push_guard.client_session(settings) as http:
        statuses = await asyncio.gather(
            *(
                _send_one(
                    http, settings=settings, vapid=vapid, target=t, data=data, urgency=urgency
                )
                for t in targets
            )
        )
    delivered: list[uuid.UUID] = []
    gone: list[uuid.UUID] = []
    failed: list[uuid.UUID] = []
    for target, status in zip(targets, statuses, strict=True):
        if status is not None and 200 <= status < 300:
            delivered.append(target.id)
        elif status in GONE_STATUSES:
            gone.append(target.id)
            log.info("push_subscription_expired", subscription_id=str(target.id), status=status)
        else:
            failed.append(target.id)
            log.warning(
                "push_failed", subscription_id=str(target.id), user_id=str(user_id), status=status
            )
    await _record(database, delivered=delivered, gone=gone, failed=failed)


async def _record(
    database: Database,
    *,
    delivered: list[uuid.UUID],
    gone: list[uuid.UUID],
    failed: list[uuid.UUID],
) -> None:
    async with database.sessionmaker() as session:
        if delivered:
            await session.execute(
                update(PushSubscription)
                .where(PushSubscription.id.in_(delivered))
                .values(last_success_at=utcnow(), failure_count=0)
            )
        if failed:
            await session.execute(
                update(PushSubscription)
                .where(PushSubscription.id.in_(failed))
                .values(failure_count=PushSubscription.failure_count + 1)
            )
        if gone:
            await session.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone)))
        await session.commit()
