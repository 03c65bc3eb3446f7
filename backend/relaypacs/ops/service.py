"""Readiness: each component the app depends on registers a check at start-up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

from relaypacs.core import jobs
from relaypacs.core.database import Database
from relaypacs.core.logging import get_logger
from relaypacs.ops.schemas import ComponentCheck, Readiness

log = get_logger("relaypacs.ops")

ReadinessCheck = Callable[[], Awaitable[None]]


async def _run_check(check: ReadinessCheck, timeout: float) -> ComponentCheck:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout)
    except TimeoutError:
        error: str | None = f"no answer within {timeout:g} s"
    except Exception as exc:  # noqa: BLE001 - any failure makes the component unready
        error = type(exc).__name__
    else:
        error = None
    return ComponentCheck(
        ok=error is None, latency_ms=round((time.perf_counter() - started) * 1000, 1), error=error
    )


async def check_readiness(
    *,
    checks: Mapping[str, ReadinessCheck],
    informational: Mapping[str, ReadinessCheck],
    timeout: float,
) -> Readiness:
    """Run every check concurrently, each bounded by `timeout`; only `checks` decide."""
    everything = {
        **{f"c:{n}": c for n, c in checks.items()},
        **{f"i:{n}": c for n, c in informational.items()},
    }
    names = list(everything)
    results = await asyncio.gather(*(_run_check(everything[n], timeout) for n in names))
    by_name = dict(zip(names, results, strict=True))
    report = {n[2:]: r for n, r in by_name.items() if n.startswith("c:")}
    info = {n[2:]: r for n, r in by_name.items() if n.startswith("i:")}
    ready = all(r.ok for r in report.values())
    return Readiness(status="ready" if ready else "unavailable", checks=report, destinations=info)


async def refresh_metrics(database: Database | None) -> None:
    """Bring the gauges read from the database up to date (cached; never fails a scrape)."""
    if database is None:
        return
    try:
        await jobs.refresh_gauges(database)
    except Exception as exc:  # noqa: BLE001 - a scrape still answers with what it has
        log.warning("metrics_refresh_failed", error=type(exc).__name__)
