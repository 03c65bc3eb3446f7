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
