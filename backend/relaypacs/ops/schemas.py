from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from relaypacs.core.errors import ErrorDetail


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class ComponentCheck(BaseModel):
    ok: bool
    latency_ms: float
    error: str | None = None


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, ComponentCheck]
    # Reported, but a PACS being down does not make the gateway unready: uploads queue.
    destinations: dict[str, ComponentCheck] = {}


class NotReady(Readiness):
    """/readyz's 503: the readiness report, and the error naming what is down."""

    error: ErrorDetail


class BrowserErrorReporting(BaseModel):
    """Sentry for the web app: `dsn` is null when SENTRY_BROWSER_DSN is unset (reporting off)."""

    dsn: str | None
    environment: str
    traces_sample_rate: float


class ClientConfig(BaseModel):
    """What the web app reads at start-up; public (nothing in it is a secret)."""

    sentry: BrowserErrorReporting
