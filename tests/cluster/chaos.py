"""The soak's chaos: faults on a timeline (replica kills and restarts, one Redis and one
PostgreSQL restart, the PACS flapping), noted in the report as they happen."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime

from tests.cluster.soak_report import SoakReport
from tests.cluster.stack import Cluster


class Chaos:
    """Faults on a timeline within the first `seconds`, one at a time, then none."""

    def __init__(
        self,
        cluster: Cluster,
        rng: random.Random,
        report: SoakReport,
        started: float,
        seconds: float,
        restart_after: tuple[float, float],
    ) -> None:
        self.cluster = cluster
        self.rng = rng
        self.report = report
        self.started = started
        self.seconds = seconds
        self.restart_after = restart_after
        self.last_fault_end: datetime | None = None

    def note(self, what: str) -> None:
        self.report.faults.append(f"t={time.monotonic() - self.started:6.1f}s {what}")

    def ended(self) -> None:
        self.last_fault_end = datetime.now(UTC)

    async def run(
        self,
        *,
        kill_every: tuple[float, float],
        restart_redis_once: bool,
        restart_postgres_once: bool,
        flap_pacs: bool,
    ) -> None:
        events: list[tuple[float, str]] = []
        at = self.rng.uniform(*kill_every)
        while at < self.seconds * 0.9:
            events.append((at, "kill"))
            at += self.rng.uniform(*kill_every)
        if restart_redis_once:
            events.append((self.seconds * 0.3, "redis"))
        if restart_postgres_once:
            events.append((self.seconds * 0.55, "postgres"))
        if flap_pacs:
            events += [(self.seconds * 0.1, "flap"), (self.seconds * 0.75, "unflap")]
        events.sort()
        flap_started: float | None = None
        proxy = self.cluster.pacs_proxy
        assert proxy is not None
        try:
            for when, what in events:
                delay = self.started + when - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if what == "kill":
                    await self._kill_and_restart()
                elif what == "redis":
                    gap = self.rng.uniform(1.0, 2.0)
                    self.note(f"restart Redis (gap {gap:.1f} s)")
                    await asyncio.to_thread(self.cluster.restart_redis, gap)
                    self.report.redis_restarts += 1
                    self.ended()
                elif what == "postgres":
                    gap = self.rng.uniform(1.0, 2.0)
                    self.note(f"restart PostgreSQL (gap {gap:.1f} s)")
                    await asyncio.to_thread(self.cluster.restart_postgres, gap)
                    self.report.postgres_restarts += 1
                    self.ended()
                elif what == "flap":
                    self.note("PACS proxy flaps (3 s up, 2 s down)")
                    await asyncio.to_thread(proxy.flap, 3, 2)
                    flap_started = time.monotonic()
                elif what == "unflap" and flap_started is not None:
                    await asyncio.to_thread(proxy.passthrough)
                    self.report.pacs_flap_seconds = round(time.monotonic() - flap_started, 1)
                    flap_started = None
                    self.note("PACS proxy back to passthrough")
                    self.ended()
        finally:
            if flap_started is not None:
                await asyncio.to_thread(proxy.passthrough)
                self.report.pacs_flap_seconds = round(time.monotonic() - flap_started, 1)
                self.ended()
            for index, replica in enumerate(self.cluster.replicas):
                if not replica.is_running():
                    await self.cluster.restart(index)
                    self.report.replica_restarts += 1
                    self.ended()

    async def _kill_and_restart(self) -> None:
        index = self.rng.randrange(len(self.cluster.replicas))
        self.note(f"SIGKILL replica {index}")
        self.cluster.kill(index)
        self.report.kills += 1
        await asyncio.sleep(self.rng.uniform(*self.restart_after))
        await self.cluster.restart(index)
        self.report.replica_restarts += 1
        self.note(f"replica {index} ready again")
        self.ended()
