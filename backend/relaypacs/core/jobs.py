"""Periodic jobs: APScheduler in every process, each run guarded by a database lease so
that with several processes or replicas a job runs once."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from relaypacs.core.database import Base, Database, execute_dml, utcnow
from relaypacs.core.logging import get_logger

log = get_logger("relaypacs.jobs")
HOLDER = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"


class JobLock(Base):
    __tablename__ = "job_lock"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime]


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


async def run_exclusive(
    database: Database, name: str, func: Callable[[], Awaitable[Any]], lease: timedelta
) -> Any | None:
    """Run `func` if this process wins the lease; None when another process holds it."""
    if not await try_lock(database, name, lease):
        log.info("job_skipped_locked", job=name)
        return None
    try:
        return await func()
    finally:
        await unlock(database, name)


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
    async def guarded() -> None:
        try:
            await run_exclusive(database, name, func, lease)
        except Exception:
            log.exception("job_failed", job=name)

    scheduler.add_job(
        guarded,
        CronTrigger.from_crontab(crontab, timezone="UTC"),
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
    if not await try_lock(database, name, hold_for):
        log.info("job_skipped_locked", job=name)
        return None
    try:
        return await func()
    except BaseException:
        await unlock(database, name)
        raise


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
