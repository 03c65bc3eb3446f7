"""Periodic jobs: APScheduler in every process, each run guarded by a database lease so
that with several processes or replicas a job runs once.

Every run is counted (`relaypacs_scheduled_job_runs_total{job,outcome}`) and a success is
written to the job's `job_lock` row, which `/metrics` reads (`refresh_gauges`) so that
every replica reports the same last success, across restarts too."""

from __future__ import annotations

import socket
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from relaypacs.core import metrics
from relaypacs.core.database import Base, Database, execute_dml, utcnow
from relaypacs.core.logging import get_logger

log = get_logger("relaypacs.jobs")
HOLDER = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
# /metrics reads the last successes from the database at most this often.
GAUGE_REFRESH_SECONDS = 5.0
_watched: set[str] = set()  # the jobs scheduled in this process
_gauges_read_at: weakref.WeakKeyDictionary[Database, float] = weakref.WeakKeyDictionary()


class JobLock(Base):
    __tablename__ = "job_lock"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime]
    last_success_at: Mapped[datetime | None]


async def try_lock(database: Database, name: str, lease: timedelta) -> bool:
    """Take the lease on `name` unless another holder has a live one."""
    now = utcnow()
    async with database.sessionmaker() as session:
        if await session.scalar(select(JobLock.name).where(JobLock.name == name)) is None:
            session.add(JobLock(name=name, holder=None, locked_until=now))
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
        taken = await execute_dml(
            session,
            update(JobLock)
            .where(JobLock.name == name, JobLock.locked_until <= now)
            .values(holder=HOLDER, locked_until=now + lease)
            .execution_options(synchronize_session=False),
        )
        await session.commit()
        return taken == 1


async def unlock(database: Database, name: str) -> None:
    async with database.sessionmaker() as session:
        await execute_dml(
            session,
            update(JobLock)
            .where(JobLock.name == name, JobLock.holder == HOLDER)
            .values(holder=None, locked_until=utcnow())
            .execution_options(synchronize_session=False),
        )
        await session.commit()


async def _succeeded(database: Database, name: str, hold_until: datetime | None = None) -> None:
    """Record the success; with `hold_until`, the lease is kept (holder cleared) until then,
    so that no other process runs the job again before it."""
    now = utcnow()
    values: dict[str, Any] = {"last_success_at": now}
    if hold_until is not None:
        values.update(holder=None, locked_until=max(hold_until, now))
    async with database.sessionmaker() as session:
        await execute_dml(
            session,
            update(JobLock)
            .where(JobLock.name == name)
            .values(**values)
            .execution_options(synchronize_session=False),
        )
        await session.commit()
    log.info("job_succeeded", job=name)
    metrics.SCHEDULED_JOB_RUNS.labels(name, "success").inc()
    metrics.SCHEDULED_JOB_LAST_SUCCESS.labels(name).set(now.timestamp())


def _skipped(name: str) -> None:
    log.info("job_skipped_locked", job=name)
    metrics.SCHEDULED_JOB_RUNS.labels(name, "skipped").inc()


async def run_exclusive(
    database: Database, name: str, func: Callable[[], Awaitable[Any]], lease: timedelta
) -> Any | None:
    """Run `func` now if this process wins the lease, releasing it after (an operator's
    on-demand run); None when another process holds it."""
    if not await try_lock(database, name, lease):
        _skipped(name)
        return None
    try:
        result = await func()
        await _succeeded(database, name)
        return result
    except Exception:
        metrics.SCHEDULED_JOB_RUNS.labels(name, "failure").inc()
        raise
    finally:
        await unlock(database, name)


async def run_once_per_fire(
    database: Database,
    name: str,
    func: Callable[[], Awaitable[Any]],
    lease: timedelta,
    hold: timedelta,
) -> Any | None:
    """A cron job's run: `func` if this process wins the lease (held for `lease` while it
    runs); None when another process holds it. A success keeps the lease until `hold` after
    the run began (half the shortest gap between fire times), so every other process whose
    trigger fires for the same time, however late, skips it; a failure releases the lease
    so that another process (or the next fire) may retry."""
    started = utcnow()
    if not await try_lock(database, name, lease):
        _skipped(name)
        return None
    try:
        result = await func()
    except BaseException as exc:
        if isinstance(exc, Exception):
            metrics.SCHEDULED_JOB_RUNS.labels(name, "failure").inc()
        await unlock(database, name)
        raise
    await _succeeded(database, name, hold_until=started + hold)
    return result


def watch(name: str, interval: timedelta) -> None:
    """Export the job's schedule, and its series at 0, before its first run."""
    _watched.add(name)
    metrics.SCHEDULED_JOB_INTERVAL.labels(name).set(interval.total_seconds())
    metrics.SCHEDULED_JOB_LAST_SUCCESS.labels(name)
    for outcome in ("success", "failure", "skipped"):
        metrics.SCHEDULED_JOB_RUNS.labels(name, outcome)


def cron_gaps(trigger: CronTrigger, runs: int = 8) -> list[timedelta]:
    """The gaps between the trigger's next `runs` fire times (weekends included)."""
    now = datetime.now(UTC)
    fire: datetime | None = trigger.get_next_fire_time(None, now)
    gaps: list[timedelta] = []
    for _ in range(runs):
        if fire is None:
            break
        following: datetime | None = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        if following is None:
            break
        gaps.append(following - fire)
        fire = following
    return gaps


def cron_interval(trigger: CronTrigger, runs: int = 8) -> timedelta:
    """The longest gap between the trigger's next `runs` fire times."""
    return max(cron_gaps(trigger, runs), default=timedelta(0))


async def refresh_gauges(database: Database) -> None:
    """The last-success gauges from the database, read at most every few seconds."""
    now = time.monotonic()
    if now - _gauges_read_at.get(database, float("-inf")) < GAUGE_REFRESH_SECONDS:
        return
    _gauges_read_at[database] = now
    async with database.sessionmaker() as session:
        rows = (await session.execute(select(JobLock.name, JobLock.last_success_at))).all()
    stored = {name: last for name, last in rows}
    for name in _watched | stored.keys():
        last_success = stored.get(name)
        seconds = last_success.timestamp() if last_success is not None else 0.0
        metrics.SCHEDULED_JOB_LAST_SUCCESS.labels(name).set(seconds)


def create_scheduler() -> AsyncIOScheduler:
    return AsyncIOScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})


def add_cron_job(
    scheduler: AsyncIOScheduler,
    database: Database,
    *,
    name: str,
    crontab: str,
    func: Callable[[], Awaitable[Any]],
    lease: timedelta = timedelta(hours=1),
) -> None:
    trigger = CronTrigger.from_crontab(crontab, timezone="UTC")
    gaps = cron_gaps(trigger)
    hold = min(gaps, default=timedelta(hours=1)) / 2

    async def guarded() -> None:
        try:
            await run_once_per_fire(database, name, func, lease, hold)
        except Exception:
            log.exception("job_failed", job=name)

    watch(name, max(gaps, default=timedelta(0)))
    scheduler.add_job(
        guarded,
        trigger,
        id=name,
        name=name,
        replace_existing=True,
    )


async def run_once_per_interval(
    database: Database, name: str, func: Callable[[], Awaitable[Any]], hold_for: timedelta
) -> Any | None:
    """Run `func` if no process ran it within the last `hold_for`; None otherwise.

    Unlike `run_exclusive`, a successful run keeps its lease until it expires, so
    processes whose interval triggers are not aligned still run the job once per
    interval. A failed run releases the lease so that the next trigger retries.
    """
    return await run_once_per_fire(database, name, func, lease=hold_for, hold=hold_for)


def add_interval_job(
    scheduler: AsyncIOScheduler,
    database: Database,
    *,
    name: str,
    interval: timedelta,
    func: Callable[[], Awaitable[Any]],
) -> None:
    """Every `interval`, in every process; the lease (the interval less a margin for
    trigger jitter) makes it run once per interval across processes."""
    margin = min(timedelta(seconds=10), interval / 10)
    hold_for = interval - margin
    watch(name, interval)

    async def guarded() -> None:
        try:
            await run_once_per_interval(database, name, func, hold_for)
        except Exception:
            log.exception("job_failed", job=name)

    scheduler.add_job(
        guarded,
        IntervalTrigger(seconds=interval.total_seconds(), timezone="UTC"),
        id=name,
        name=name,
        replace_existing=True,
    )
