"""Readiness: each component the app depends on registers a check at start-up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

from relaypacs.ops.schemas import ComponentCheck, Readiness

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


async def check_readiness(*, checks: Mapping[str, ReadinessCheck], timeout: float) -> Readiness:
    """Run every registered check concurrently, each bounded by `timeout`."""
    names = list(checks)
    results = await asyncio.gather(*(_run_check(checks[n], timeout) for n in names))
    report = dict(zip(names, results, strict=True))
    ready = all(r.ok for r in results)
    return Readiness(status="ready" if ready else "unavailable", checks=report)
