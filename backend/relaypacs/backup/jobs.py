"""The scheduled daily backup (once across replicas: a job lease) and the
`relaypacs_backup_last_success_timestamp_seconds` gauge, read from the newest manifest in
the target at start-up, after each run and every few minutes, so every replica reports
backups made by any of them or by the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from relaypacs.backup import service
from relaypacs.backup.config import BackupSettings
from relaypacs.backup.errors import BackupError
from relaypacs.backup.objects import stored_objects
from relaypacs.backup.targets import Target, build_target
from relaypacs.core import jobs
from relaypacs.core.database import Database
from relaypacs.core.logging import get_logger
from relaypacs.core.metrics import BACKUP_LAST_SUCCESS
from relaypacs.uploads.storage import Storage

log = get_logger("relaypacs.backup")
JOB_NAME = "backup"
REFRESH_JOB_NAME = "backup_metric_refresh"
REFRESH_EVERY = timedelta(minutes=5)
# A crashed run's lease lapses after this; a backup taking longer would be run twice.
LEASE = timedelta(hours=6)


async def refresh_metric(target: Target) -> None:
    """Set the gauge from the newest complete backup in the target (unchanged on error)."""
    try:
        manifest = await service.newest(target=target)
    except BackupError as exc:
        log.warning("backup_metric_unavailable", error=exc.code)
        return
    except OSError as exc:  # e.g. a backup directory this process may not read
        log.warning("backup_metric_unavailable", error=type(exc).__name__)
        return
    if manifest is not None:
        BACKUP_LAST_SUCCESS.set(manifest.finished_at.timestamp())


async def run_once(settings: BackupSettings, *, storage: Storage, target: Target) -> None:
    """One scheduled backup, then retention; the gauge follows the target."""
    try:
        await service.create(settings, target=target, objects=stored_objects(storage))
        await service.prune(settings, target=target)
    except BackupError as exc:
        log.error("backup_failed", error=exc.code)
        raise
    finally:
        await refresh_metric(target)


def schedule(
    scheduler: AsyncIOScheduler, database: Database, settings: BackupSettings, storage: Storage
) -> Target:
    """Add the daily backup (when BACKUP_CRON is set) and the gauge refresh, first run now (in
    the background: an unreachable bucket does not hold up start-up); returns the target, for
    the caller to close at shutdown."""
    target = build_target(settings)
    if settings.backup_cron:
        jobs.add_cron_job(
            scheduler,
            database,
            name=JOB_NAME,
            crontab=settings.backup_cron,
            func=lambda: run_once(settings, storage=storage, target=target),
            lease=LEASE,
        )
    scheduler.add_job(
        refresh_metric,
        IntervalTrigger(seconds=REFRESH_EVERY.total_seconds(), timezone="UTC"),
        args=[target],
        next_run_time=datetime.now(UTC),
        id=REFRESH_JOB_NAME,
        name=REFRESH_JOB_NAME,
        replace_existing=True,
    )
    return target
