"""Security primitives: password hashing, JWTs, opaque tokens.

Passwords: bcrypt (cost 12) over a base64 SHA-256 pre-hash, so every byte of a
password up to the 128-character limit counts (bcrypt alone ignores bytes past 72).
Hashing is CPU-bound and runs in worker threads, behind a limiter sized to leave a
core for the event loop.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import anyio
import anyio.to_thread
import bcrypt
import jwt

from relaypacs.core.config import CoreSettings

BCRYPT_ROUNDS = 12
_SCHEME = "bcrypt-sha256$"
JWT_ALGORITHM = "HS256"
TokenType = Literal["access", "refresh", "mfa"]


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


def hash_password_sync(password: str, rounds: int = BCRYPT_ROUNDS) -> str:
    return _SCHEME + bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode()


def verify_password_sync(password: str, stored: str) -> bool:
    if not stored.startswith(_SCHEME):
        return False
    return bcrypt.checkpw(_prehash(password), stored.removeprefix(_SCHEME).encode())


@functools.cache
def _dummy_hash(rounds: int) -> str:
    return hash_password_sync(secrets.token_urlsafe(16), rounds)


class PasswordHasher:
    """Runs bcrypt off the event loop, at most `concurrency` hashes at a time."""

    def __init__(self, concurrency: int, rounds: int = BCRYPT_ROUNDS) -> None:
        self.limiter = anyio.CapacityLimiter(concurrency)
        self.rounds = rounds

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(
            hash_password_sync, password, self.rounds, limiter=self.limiter
        )

    async def verify(self, password: str, stored: str | None) -> bool:
        # Unknown accounts are checked against a dummy hash so both answers take as long.
        ok = await anyio.to_thread.run_sync(
            verify_password_sync,
            password,
            stored or _dummy_hash(self.rounds),
            limiter=self.limiter,
        )
        return ok and stored is not None


def token_hash(token: str) -> str:
    """SHA-256 of a high-entropy token (safe to store: the token itself is not)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def keyed_digest(settings: CoreSettings, message: str) -> str:
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenClaims:
    sub: str
    typ: TokenType
    jti: str
    iat: int
    exp: int
    extra: dict[str, Any]


class InvalidToken(Exception):
    """The token is malformed, forged, expired, or of the wrong type."""


def encode_token(
    settings: CoreSettings,
    *,
    subject: str,
    token_type: TokenType,
    issued_at: datetime,
    ttl: timedelta,
    jti: str | None = None,
    **extra: Any,
) -> str:
    iat = int(issued_at.timestamp())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "typ": token_type,
        "jti": jti or uuid.uuid4().hex,
        "iat": iat,
        "exp": iat + int(ttl.total_seconds()),
        **extra,
    }
    return jwt.encode(
        claims,
        settings.secret_key.get_secret_value(),
        algorithm=JWT_ALGORITHM,
        headers={"typ": "JWT"},
    )


def decode_token(settings: CoreSettings, token: str, expected_type: TokenType) -> TokenClaims:
    """Verify signature (HS256 only), issuer, audience, expiry and the token type."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[JWT_ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["iss", "aud", "sub", "exp", "iat", "jti", "typ"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from exc
    if claims.get("typ") != expected_type:
        raise InvalidToken("wrong token type")
    known = {"iss", "aud", "sub", "typ", "jti", "iat", "exp"}
    return TokenClaims(
        sub=str(claims["sub"]),
        typ=claims["typ"],
        jti=str(claims["jti"]),
        iat=int(claims["iat"]),
        exp=int(claims["exp"]),
        extra={k: v for k, v in claims.items() if k not in known},
    )
