"""Destination health: a cheap probe before sending, remembered per destination."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio.to_thread

from relaypacs.core import metrics
from relaypacs.core.database import utcnow
from relaypacs.core.logging import get_logger
from relaypacs.pacs.config import PacsSettings, PacsType
from relaypacs.pacs.dicomweb import DicomWeb

log = get_logger("relaypacs.pacs")

# /readyz is anonymous: it reuses an answer this recent rather than probing the PACS for
# every caller (and concurrent callers share one probe).
READINESS_PROBE_TTL = timedelta(seconds=10)


@dataclass
class DestinationHealth:
    up: bool | None = None
    since: datetime | None = None
    last_checked: datetime | None = None


class HealthMonitor:
    """QIDO-RS (DICOMweb) or C-ECHO (DIMSE) per destination; the latest answer is kept."""

    def __init__(self, settings: PacsSettings, clients: dict[str, DicomWeb]) -> None:
        self.settings = settings
        self.clients = clients
        self.health: dict[str, DestinationHealth] = {
            n: DestinationHealth() for n in settings.destinations
        }
        self._probing = {n: asyncio.Lock() for n in settings.destinations}

    async def check(self, name: str) -> bool:
        dest = self.settings.destinations[name]
        try:
            if dest.type is PacsType.dimse:
                from relaypacs.pacs import dimse  # pynetdicom: only for DIMSE destinations

                ok = await anyio.to_thread.run_sync(dimse.c_echo, dest)
            else:
                await self.clients[name].ping()
                ok = True
        except Exception:  # noqa: BLE001 - any failure means "down"
            ok = False
        health = self.health[name]
        if health.up is not ok:
            health.since = utcnow()
            log.info("pacs_health_changed", destination=name, up=ok)
        health.up, health.last_checked = ok, utcnow()
        metrics.PACS_UP.labels(name).set(1 if ok else 0)
        return ok

    async def probe_forever(self, names: list[str], interval: float) -> None:
        """Keep `relaypacs_pacs_up` current while nothing is sent: probe each destination
        whose last answer is older than `interval` (sending probes too)."""
        while True:
            for name in names:
                last = self.health[name].last_checked
                if last is None or (utcnow() - last).total_seconds() >= interval:
                    async with self._probing[name]:
                        await self.check(name)
            await asyncio.sleep(min(interval, 5.0))

    async def recent_or_raise(self, name: str) -> None:
        """For /readyz: the last answer if under READINESS_PROBE_TTL old, else one probe."""
        async with self._probing[name]:
            health = self.health[name]
            fresh = (
                health.last_checked is not None
                and utcnow() - health.last_checked < READINESS_PROBE_TTL
            )
            up = health.up if fresh else await self.check(name)
        if not up:
            raise ConnectionError(f"{name} is not answering")
