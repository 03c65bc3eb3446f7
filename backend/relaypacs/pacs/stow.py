"""Reading a STOW-RS answer (PS3.18 §10.5): which instances were stored, which failed
and whether trying again can help."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from relaypacs.core.database import utcnow

REFERENCED_SOP_SEQUENCE = "00081199"
FAILED_SOP_SEQUENCE = "00081198"
REFERENCED_SOP_INSTANCE_UID = "00081155"
FAILURE_REASON = "00081197"
WARNING_REASON = "00081196"
RETRIEVE_URL = "00081190"

# 401: an expired token (OIDC) is refreshed for the next attempt.
RETRYABLE_HTTP = frozenset({401, 408, 425, 429, 500, 502, 503, 504})


def failure_is_retryable(reason: int | None) -> bool:
    """A7xx (out of resources) can succeed later; Cxxx, A9xx, 0122 and the rest cannot."""
    return reason is not None and 0xA700 <= reason <= 0xA7FF


@dataclass(frozen=True, slots=True)
class FailedInstance:
    sop_instance_uid: str
    reason: int | None

    @property
    def retryable(self) -> bool:
        return failure_is_retryable(self.reason)

    def describe(self) -> dict[str, Any]:
        code = f"{self.reason:04X}" if self.reason is not None else None
        return {
            "sop_instance_uid": self.sop_instance_uid,
            "reason": code,
            "retryable": self.retryable,
        }


@dataclass(slots=True)
class StowResult:
    http_status: int | None
    referenced: list[str] = field(default_factory=list)
    failed: list[FailedInstance] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    retrieve_url: str | None = None
    retry_after: float | None = None
    error: str | None = None
    corrupt: list[str] = field(default_factory=list)  # not sent: stored bytes changed
    # Why, for instances sent one at a time (DIMSE), where the others still went.
    integrity_failures: list[Exception] = field(default_factory=list)

    @property
    def transport_retryable(self) -> bool:
        """No usable per-instance answer, but the request may succeed later."""
        return self.http_status is None or self.http_status in RETRYABLE_HTTP


def _values(item: dict[str, Any], tag: str) -> list[Any]:
    element = item.get(tag) or {}
    values = element.get("Value") or []
    return values if isinstance(values, list) else []


def _first(item: dict[str, Any], tag: str) -> Any:
    values = _values(item, tag)
    return values[0] if values else None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds, from either form of Retry-After (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - utcnow()).total_seconds())


def parse_response(status: int, body: Any, headers: dict[str, str]) -> StowResult:
    """Turn a STOW-RS HTTP answer (DICOM JSON body when there is one) into a StowResult."""
    result = StowResult(
        http_status=status, retry_after=parse_retry_after(headers.get("retry-after"))
    )
    dataset = body[0] if isinstance(body, list) and body else body
    if isinstance(dataset, dict):
        result.retrieve_url = _first(dataset, RETRIEVE_URL)
        for item in _values(dataset, REFERENCED_SOP_SEQUENCE):
            uid = _first(item, REFERENCED_SOP_INSTANCE_UID)
            if uid:
                result.referenced.append(str(uid))
                warning = _first(item, WARNING_REASON)
                if warning is not None:
                    result.warnings.append(f"{uid}: warning {int(warning):04X}")
        for item in _values(dataset, FAILED_SOP_SEQUENCE):
            uid = _first(item, REFERENCED_SOP_INSTANCE_UID)
            reason = _first(item, FAILURE_REASON)
            if uid:
                result.failed.append(
                    FailedInstance(str(uid), int(reason) if reason is not None else None)
                )
    if status >= 400 and not result.failed and not result.referenced:
        result.error = f"HTTP {status}"
    return result
