"""Per-request context shared by logging, errors, the audit log and request validation."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from relaypacs.core.config import CoreSettings

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_settings: ContextVar[CoreSettings | None] = ContextVar("settings", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> None:
    _request_id.set(value)


def current_settings() -> CoreSettings | None:
    """The settings of the app serving this request, for the one place that has no
    dependency injection: a pydantic validator bounding a request body by configuration."""
    return _settings.get()


def set_settings(value: CoreSettings | None) -> None:
    _settings.set(value)
