"""Domain events inside the process (e.g. `upload_failed`), for other domains to react to.

Listeners are async callables registered at start-up; a failing listener is logged and
never breaks the publisher.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from relaypacs.core.logging import get_logger

log = get_logger("relaypacs.events")
Listener = Callable[[str, dict[str, Any]], Awaitable[None]]


class EventBus:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def publish(self, event: str, **payload: Any) -> None:
        log.info(
            "event", name=event, **{k: str(v) for k, v in payload.items() if k.endswith("_id")}
        )
        for listener in self._listeners:
            try:
                await listener(event, payload)
            except Exception:
                log.exception("event_listener_failed", name=event)
