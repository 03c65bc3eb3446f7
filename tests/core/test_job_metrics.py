"""Scheduled jobs on /metrics: every run counted by outcome, a success written to the
job's row so that every process reports the same last success (restarts too), the
database read at most every few seconds per scrape, and each job's schedule exported
before its first run."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from apscheduler.triggers.cron import CronTrigger
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update

from relaypacs.core import jobs, metrics
from relaypacs.core.jobs import JobLock
from relaypacs.reports import sync as report_sync
from relaypacs.uploads import housekeeping


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def runs(name: str, outcome: str) -> float:
    return metrics.SCHEDULED_JOB_RUNS.labels(name, outcome)._value.get()


async def last_success_in_database(app: FastAPI, name: str) -> datetime | None:
    async with app.state.database.sessionmaker() as session:
        value: datetime | None = await session.scalar(
            select(JobLock.last_success_at).where(JobLock.name == name)
        )
        return value


async def succeed() -> str:
    return "done"


async def fail() -> None:
    raise RuntimeError("the job broke")


async def test_runs_are_counted_by_outcome_and_a_success_is_kept_in_the_database(
    app: FastAPI,
) -> None:
    database, name = app.state.database, f"test_job_{uuid.uuid4().hex[:8]}"
    lease = timedelta(minutes=5)

    assert await jobs.run_exclusive(database, name, succeed, lease) == "done"
    assert runs(name, "success") == 1
    first = await last_success_in_database(app, name)
    assert first is not None and datetime.now(UTC) - first < timedelta(seconds=30)

    with pytest.raises(RuntimeError):
        await jobs.run_exclusive(database, name, fail, lease)
    assert runs(name, "failure") == 1
    assert await last_success_in_database(app, name) == first, "a failure is no success"

    assert await jobs.try_lock(database, name, lease)  # another run holds the lease
    assert await jobs.run_exclusive(database, name, succeed, lease) is None
    assert runs(name, "skipped") == 1
    await jobs.unlock(database, name)

    interval_job = f"{name}_interval"
    assert await jobs.run_once_per_interval(database, interval_job, succeed, lease) == "done"
    assert await jobs.run_once_per_interval(database, interval_job, succeed, lease) is None
    assert (runs(interval_job, "success"), runs(interval_job, "skipped")) == (1, 1)
    assert await last_success_in_database(app, interval_job) is not None


async def test_every_process_reports_the_last_success_the_database_holds(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"test_job_{uuid.uuid4().hex[:8]}"
    await jobs.run_exclusive(app.state.database, name, succeed, timedelta(minutes=5))
    stored = await last_success_in_database(app, name)
    assert stored is not None
    key = ("relaypacs_scheduled_job_last_success_timestamp_seconds", frozenset({("job", name)}))

    # Another replica, or this one after a restart: nothing in memory, the row remains.
    metrics.SCHEDULED_JOB_LAST_SUCCESS.labels(name).set(0)
    monkeypatch.setattr(jobs, "GAUGE_REFRESH_SECONDS", 0.0)
    assert (await scrape(client))[key] == pytest.approx(stored.timestamp())

    # Within the refresh period a scrape does not read the database again.
    monkeypatch.setattr(jobs, "GAUGE_REFRESH_SECONDS", 3600.0)
    later = stored + timedelta(hours=1)
    async with app.state.database.sessionmaker() as session:
        await session.execute(
            update(JobLock).where(JobLock.name == name).values(last_success_at=later)
        )
        await session.commit()
    assert (await scrape(client))[key] == pytest.approx(stored.timestamp())
    monkeypatch.setattr(jobs, "GAUGE_REFRESH_SECONDS", 0.0)
    assert (await scrape(client))[key] == pytest.approx(later.timestamp())


async def test_each_scheduled_job_exports_its_interval_and_series_before_it_runs(
    client: httpx.AsyncClient,
) -> None:
    samples = await scrape(client)

    def value(metric: str, **labels: str) -> float | None:
        return samples.get((metric, frozenset(labels.items())))

    interval = "relaypacs_scheduled_job_interval_seconds"
    assert value(interval, job=housekeeping.JOB_NAME) == 24 * 3600  # cron "0 2 * * *"
    assert value(interval, job=report_sync.JOB_NAME) == 5 * 60
    for job in (housekeeping.JOB_NAME, report_sync.JOB_NAME, "stream_event_prune"):
        assert value("relaypacs_scheduled_job_last_success_timestamp_seconds", job=job) == 0
        for outcome in ("success", "failure", "skipped"):
            assert value("relaypacs_scheduled_job_runs_total", job=job, outcome=outcome) == 0
    assert value("relaypacs_backup_last_success_timestamp_seconds") is not None


def test_a_cron_jobs_interval_is_its_longest_gap() -> None:
    weekdays = CronTrigger.from_crontab("0 3 * * 1-5", timezone="UTC")
    assert jobs.cron_interval(weekdays) == timedelta(days=3)  # Friday to Monday
    hourly = CronTrigger.from_crontab("15 * * * *", timezone="UTC")
    assert jobs.cron_interval(hourly) == timedelta(hours=1)


async def test_a_cron_fire_runs_once_across_processes_however_late_a_trigger_fires(
    app: FastAPI,
) -> None:
    """Three processes' triggers fire for the same time, one after another (the last ones
    late, after the first run ended): the job runs once. A failed run lets the next retry."""
    database, name = app.state.database, f"cron_job_{uuid.uuid4().hex[:8]}"
    ran: list[int] = []

    async def job() -> str:
        ran.append(1)
        return "done"

    for _ in range(3):
        await jobs.run_once_per_fire(database, name, job, timedelta(minutes=5), timedelta(hours=12))
    assert len(ran) == 1
    assert runs(name, "success") == 1 and runs(name, "skipped") == 2

    failing = f"{name}_failing"
    with pytest.raises(RuntimeError):
        await jobs.run_once_per_fire(
            database, failing, fail, timedelta(minutes=5), timedelta(hours=12)
        )
    assert (
        await jobs.run_once_per_fire(
            database, failing, succeed, timedelta(minutes=5), timedelta(hours=12)
        )
        == "done"
    )
