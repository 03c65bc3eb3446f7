"""Application settings, read from the environment (and an optional `.env`)."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_SECRET_KEY = "change-me-in-production"

# Upload chunk size bounds, shared by the upload engine and the user preferences.
MIN_CHUNK_SIZE = 256 * 1024
MAX_CHUNK_SIZE = 16 * 1024 * 1024
DEFAULT_CHUNK_SIZE = 1024 * 1024
# The browsers' push services (an entry allows that host and every host under it): Chrome and
# other Chromium browsers (FCM), Firefox (Mozilla autopush), Edge (WNS), Safari (APNs).
DEFAULT_PUSH_ALLOWED_HOSTS = (
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "notify.windows.com",
    "push.apple.com",
)
_HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_HOST_NAME = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*")

# The most UPLOAD_MAX_FILES may be set to.
MAX_UPLOAD_FILES = 100_000
# backend/relaypacs/core/config.py → the repository root's frontend/dist (absent when installed).
REPO_FRONTEND_DIST = Path(__file__).resolve().parents[3] / "frontend" / "dist"

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class StorageBackend(StrEnum):
    local = "local"
    s3 = "s3"


class LogFormat(StrEnum):
    auto = "auto"
    json = "json"
    console = "console"


_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(
    r"^\s*(?P<limit>\d+)\s*/\s*(?P<count>\d+)?\s*"
    r"(?P<unit>s|sec|second|m|min|minute|h|hour|d|day)s?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Rate:
    """At most `limit` attempts per `seconds` (a fixed window)."""

    limit: int
    seconds: int

    def __str__(self) -> str:
        for unit, name in ((86400, "day"), (3600, "hour"), (60, "minute")):
            if self.seconds % unit == 0:
                count = self.seconds // unit
                return f"{self.limit}/{name}" if count == 1 else f"{self.limit}/{count}{name}s"
        return f"{self.limit}/{self.seconds}seconds"


def parse_rate(value: object) -> object:
    """ "30/minute", "5/15minutes", "100/day", "3/30s" → Rate (other types pass through)."""
    if not isinstance(value, str):
        return value
    match = _RATE.match(value)
    if match is None:
        raise ValueError("expected <count>/<period>, e.g. 30/minute, 5/15minutes or 100/day")
    seconds = int(match["count"] or 1) * _PERIODS[match["unit"][0].lower()]
    limit = int(match["limit"])
    if limit < 1 or not 1 <= seconds <= 7 * 86400:
        raise ValueError("the count must be at least 1 and the period between 1 s and 7 days")
    return Rate(limit=limit, seconds=seconds)


# NoDecode: the environment's "30/minute" is parsed here, not as JSON.
RateSetting = Annotated[Rate, NoDecode, BeforeValidator(parse_rate), PlainSerializer(str)]
RateLimitedAction = Literal[
    "login", "login_2fa", "register", "verify_resend", "password_change", "reauth"
]


class RateLimits(BaseModel):
    """Attempts allowed per client IP and per account (the email or username given, or
    the signed-in user); env vars RATE_LIMIT__<ACTION>_PER_IP / _PER_ACCOUNT."""

    model_config = ConfigDict(frozen=True)

    login_per_ip: RateSetting = Rate(30, 60)
    login_per_account: RateSetting = Rate(10, 60)
    login_2fa_per_ip: RateSetting = Rate(30, 60)
    login_2fa_per_account: RateSetting = Rate(10, 60)
    register_per_ip: RateSetting = Rate(20, 3600)
    register_per_account: RateSetting = Rate(5, 3600)
    verify_resend_per_ip: RateSetting = Rate(20, 3600)
    verify_resend_per_account: RateSetting = Rate(5, 3600)
    password_change_per_ip: RateSetting = Rate(30, 3600)
    password_change_per_account: RateSetting = Rate(10, 3600)
    reauth_per_ip: RateSetting = Rate(30, 3600)
    reauth_per_account: RateSetting = Rate(10, 3600)

    def per_ip(self, action: RateLimitedAction) -> Rate:
        rate: Rate = getattr(self, f"{action}_per_ip")
        return rate

    def per_account(self, action: RateLimitedAction) -> Rate:
        rate: Rate = getattr(self, f"{action}_per_account")
        return rate


class CoreSettings(BaseSettings):
    """The settings every layer may read. The one root `Settings` (relaypacs/settings.py)
    adds each domain's own groups (e.g. `pacs.config.PacsSettings`); every variable is
    documented, with its default, in `.env.example`."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        env_nested_delimiter="__",
    )

    environment: Environment = Environment.development
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    data_dir: Path = Path("data")
    database_url: str = "sqlite+aiosqlite:///data/relaypacs.db"
    database_pool_size: Annotated[int, Field(ge=1, le=200)] = 10
    db_migrate_on_startup: bool = True
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.auto
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    public_base_url: str = "http://127.0.0.1:8000"
    readiness_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 2.0
    metrics_token: SecretStr = SecretStr("")
    # Largest request body (JSON) accepted; upload chunks have their own bound (chunk size).
    request_max_body_bytes: Annotated[int, Field(ge=1024, le=MAX_CHUNK_SIZE)] = 1024 * 1024
    redis_url: str = ""

    # web app: the built PWA served at `/`; empty means the repository's frontend/dist
    frontend_dist: Path | None = None

    # accounts and sessions
    jwt_issuer: str = "relaypacs"
    jwt_audience: str = "relaypacs-api"
    access_token_ttl_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 60
    refresh_token_ttl_days: Annotated[int, Field(ge=1, le=90)] = 7
    session_idle_timeout: timedelta = timedelta(hours=12)
    refresh_reuse_grace_seconds: Annotated[int, Field(ge=0, le=120)] = 10
    login_max_failures: Annotated[int, Field(ge=1, le=100)] = 5
    login_lockout_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 15
    rate_limit: RateLimits = RateLimits()
    # Email change, 2FA changes, backup codes and "revoke all sessions" need a sign-in or a
    # POST /api/auth/reauth at most this long ago.
    reauth_window_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 10
    password_hash_concurrency: Annotated[int, Field(ge=1, le=64)] = max(
        1, (os.cpu_count() or 2) - 1
    )
    email_verification_ttl_hours: Annotated[int, Field(ge=1, le=24 * 14)] = 24
    # How long an invitation link (an admin invites a user by email) stays usable.
    invitation_ttl_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 72
    bootstrap_admin_email: EmailStr | None = Field(
        default=None,
        validation_alias=AliasChoices("RELAYPACS_BOOTSTRAP_ADMIN_EMAIL", "bootstrap_admin_email"),
    )
    bootstrap_admin_password: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "RELAYPACS_BOOTSTRAP_ADMIN_PASSWORD", "bootstrap_admin_password"
        ),
    )

    # uploads and storage
    storage_backend: StorageBackend = StorageBackend.local
    storage_local_dir: Path | None = None
    s3_bucket: str = "relaypacs"
    s3_prefix: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: SecretStr = SecretStr("")
    s3_create_bucket: bool = False
    upload_max_files: Annotated[int, Field(ge=1, le=MAX_UPLOAD_FILES)] = 10_000
    upload_max_total_bytes: Annotated[int, Field(ge=1)] = 20 * 1024**3
    upload_ttl_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 24
    duplicate_window_days: Annotated[int, Field(ge=0, le=3650)] = 30
    upload_cleanup_cron: str = "0 2 * * *"
    upload_validation_concurrency: Annotated[int, Field(ge=1, le=64)] = 2

    # upload analytics: how long /api/upload/stats answers are cached (0: not cached)
    stats_cache_seconds: Annotated[int, Field(ge=0, le=3600)] = 60

    # reports and notifications
    report_sync_interval_minutes: Annotated[float, Field(gt=0, le=24 * 60)] = 5.0
    report_sync_batch: Annotated[int, Field(ge=1, le=10_000)] = 200
    sse_ping_seconds: Annotated[float, Field(gt=0, le=300)] = 15.0
    sse_ticket_ttl_seconds: Annotated[int, Field(ge=5, le=600)] = 60
    sse_session_check_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0
    stream_event_retention_days: Annotated[int, Field(ge=1, le=90)] = 7
    stream_poll_seconds: Annotated[float, Field(gt=0, le=60)] = 2.0
    vapid_private_key: SecretStr = SecretStr("")
    vapid_public_key: str = ""
    vapid_subject: str = "mailto:admin@relaypacs.local"
    push_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0
    push_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = DEFAULT_PUSH_ALLOWED_HOSTS
    # Tests only (a stand-in push service on loopback): refused unless ENVIRONMENT=test.
    push_allow_private_endpoints: bool = False

    # outgoing mail (verification links); without SMTP_HOST, development logs the link
    smtp_host: str = ""
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = True
    smtp_use_tls: bool = False
    smtp_from: str = "RelayPACS <no-reply@relaypacs.local>"
    smtp_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "not a database URL; expected sqlite+aiosqlite:///path or "
                "postgresql+asyncpg://user:password@host/db"
            ) from None
        driver = _DRIVERS.get(url.drivername)
        if driver is None:
            raise ValueError(
                f"unsupported database scheme {url.drivername!r}; "
                "expected sqlite+aiosqlite or postgresql+asyncpg"
            )
        return url.set(drivername=driver).render_as_string(hide_password=False)

    @field_validator(
        "bootstrap_admin_email", "bootstrap_admin_password", "storage_local_dir", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("frontend_dist", mode="before")
    @classmethod
    def _frontend_dist_empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("upload_cleanup_cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"not a crontab expression ({exc})") from None
        return value

    @field_validator("push_allowed_hosts", mode="before")
    @classmethod
    def _split_push_hosts(cls, value: object) -> object:
        return value.split(",") if isinstance(value, str) else value

    @field_validator("push_allowed_hosts")
    @classmethod
    def _check_push_hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        hosts: list[str] = []
        for raw in value:
            entry = raw.strip().lower().removeprefix("*.").removeprefix(".").rstrip(".")
            if not entry:
                continue
            if entry != "*" and not _HOST_NAME.fullmatch(entry):
                try:
                    ipaddress.ip_address(entry)
                except ValueError:
                    raise ValueError(
                        f"{raw.strip()!r} is not a host name; expected comma-separated hosts "
                        "such as fcm.googleapis.com,push.apple.com (or * for any public host)"
                    ) from None
            hosts.append(entry)
        if not hosts:
            raise ValueError(
                "empty; list the push services' hosts (comma-separated), or * for any public host"
            )
        return tuple(dict.fromkeys(hosts))

    @model_validator(mode="after")
    def _check_push_private_endpoints(self) -> Self:
        if self.push_allow_private_endpoints and self.environment is not Environment.test:
            raise ValueError(
                "PUSH_ALLOW_PRIVATE_ENDPOINTS: only for the test suite's local push service; "
                "refused unless ENVIRONMENT=test"
            )
        return self

    @model_validator(mode="after")
    def _check_s3(self) -> Self:
        if self.storage_backend is StorageBackend.s3 and not self.s3_bucket:
            raise ValueError("S3_BUCKET: required when STORAGE_BACKEND=s3")
        return self

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected redis://host:port/db, rediss://… or empty for in-process")
        return value

    @field_validator("session_idle_timeout")
    @classmethod
    def _check_idle_timeout(cls, value: timedelta) -> timedelta:
        if value < timedelta(minutes=1):
            raise ValueError("must be at least one minute (e.g. PT12H or 43200 seconds)")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @model_validator(mode="after")
    def _enforce_non_default_secrets(self) -> Self:
        secret = self.secret_key.get_secret_value()
        if self.environment is Environment.production:
            if secret == DEFAULT_SECRET_KEY:
                raise ValueError(
                    "SECRET_KEY: the default value is refused when ENVIRONMENT=production; "
                    "set a random secret (e.g. `openssl rand -hex 32`)"
                )
            if len(secret) < 32:
                raise ValueError("SECRET_KEY: must be at least 32 characters in production")
        return self

    @property
    def database(self) -> URL:
        return make_url(self.database_url)

    @property
    def local_storage_dir(self) -> Path:
        return self.storage_local_dir or self.data_dir / "storage"

    @property
    def frontend_dist_dir(self) -> Path:
        return self.frontend_dist or REPO_FRONTEND_DIST

    @property
    def access_token_ttl(self) -> timedelta:
        return timedelta(minutes=self.access_token_ttl_minutes)

    @property
    def refresh_token_ttl(self) -> timedelta:
        return timedelta(days=self.refresh_token_ttl_days)

    @property
    def is_sqlite(self) -> bool:
        return self.database.get_backend_name() == "sqlite"

    @property
    def json_logs(self) -> bool:
        if self.log_format is LogFormat.auto:
            return self.environment is Environment.production
        return self.log_format is LogFormat.json


class ConfigurationError(Exception):
    """Raised with a one-line, human message naming the offending variable."""


def describe_validation_error(exc: ValidationError) -> str:
    """Render pydantic's error as one line that names each environment variable."""
    parts: list[str] = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ()) if p != "__root__"]
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        if loc:
            # Nested settings are read from PARENT__CHILD variables.
            parts.append(f"{'__'.join(loc).upper()}: {message}")
        else:
            parts.append(message)
    return "invalid configuration: " + "; ".join(parts)
