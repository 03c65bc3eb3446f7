"""Application settings, read from the environment (and an optional `.env`)."""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Self

from pydantic import (
    AliasChoices,
    EmailStr,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from relaypacs.core.rates import RateLimits

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
    # The proxies whose X-Forwarded-For and X-Forwarded-Proto `relaypacs serve` believes: the
    # client IP that rate limits, sessions and the audit trail record comes from them.
    forwarded_allow_ips: Annotated[tuple[str, ...], NoDecode] = ("127.0.0.1",)
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
    # A `complete` whose replica died is taken over by the next `complete` after this long
    # without a heartbeat (the run beats every sixth of it).
    upload_complete_stale_seconds: Annotated[float, Field(ge=6, le=3600)] = 60.0

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

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _check_forwarded_allow_ips(cls, value: object) -> object:
        entries = value.split(",") if isinstance(value, str) else value
        if not isinstance(entries, list | tuple):
            return entries
        found = tuple(dict.fromkeys(str(e).strip() for e in entries if str(e).strip()))
        for entry in (e for e in found if e != "*"):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network (or *)") from None
        return found or ("127.0.0.1",)

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
