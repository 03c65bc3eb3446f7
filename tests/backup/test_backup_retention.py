"""Retention keeps the newest backup of each of the last N days and M ISO weeks that have
one; prune deletes the rest and unfinished backups older than a day, never a young one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from relaypacs.backup import jobs as backup_jobs
from relaypacs.backup import retention, service
from relaypacs.backup.manifest import DatabasePart, Manifest, StoragePart
from relaypacs.backup.targets import DirectoryTarget
from relaypacs.main import create_app
from tests.conftest import make_settings

START = datetime(2026, 9, 1, 1, 15, tzinfo=UTC)  # a Tuesday


def _fake(target: DirectoryTarget, at: datetime, *, complete: bool = True) -> str:
    backup_id = service.new_id(at)
    folder = target.root / backup_id
    folder.mkdir(parents=True)
    if complete:
        manifest = Manifest(
            id=backup_id,
            app_version="test",
            started_at=at,
            finished_at=at + timedelta(minutes=3),
            database=DatabasePart(
                kind="sqlite", file="database.sqlite3", size=0, sha256="", tables={}
            ),
            storage=StoragePart(kind="local", objects=0, bytes=0, list_sha256=""),
        )
        (folder / "manifest.json").write_text(manifest.model_dump_json())
    return backup_id


def test_the_newest_of_each_recent_day_and_week_are_kept() -> None:
    # Two backups a day (01:15 and 13:15) for 60 days.
    times = [START + timedelta(hours=12 * n) for n in range(120)]
    backups = [(f"b{n:03d}", at) for n, at in enumerate(times)]
    kept = retention.to_keep(backups, daily=7, weekly=4)
    newest = times[-1]
    by_id = dict(backups)
    days = {by_id[k].date() for k in kept}
    # The last 7 days: the 13:15 backup of each.
    last_days = {(newest - timedelta(days=d)).date() for d in range(7)}
    assert last_days <= days
    for day in last_days:
        [chosen] = [k for k in kept if by_id[k].date() == day]
        assert by_id[chosen].hour == 13
    # And the newest of each of the 4 latest ISO weeks (the current week's is today's).
    weeks = sorted({at.isocalendar()[:2] for at in times}, reverse=True)[:4]
    weekly = {max(at for at in times if at.isocalendar()[:2] == week) for week in weeks}
    daily = {max(at for at in times if at.date() == day) for day in last_days}
    # Nothing else: the 30 October (a Friday) and 25 October (a Sunday) are in both sets.
    assert {by_id[k] for k in kept} == daily | weekly
    assert len(kept) == 7 + 2


def test_no_backups_keep_nothing_and_weekly_zero_keeps_only_days() -> None:
    assert retention.to_keep([], daily=3, weekly=2) == set()
    backups = [(str(n), START + timedelta(days=n)) for n in range(10)]
    assert retention.to_keep(backups, daily=3, weekly=0) == {"9", "8", "7"}


async def test_prune_deletes_what_retention_drops_and_only_stale_unfinished_backups(
    tmp_path: Path,
) -> None:
    target = DirectoryTarget(tmp_path / "backups")
    ids = [_fake(target, START + timedelta(days=n)) for n in range(20)]
    now = START + timedelta(days=19, hours=2)
    stale = _fake(target, now - timedelta(days=2), complete=False)
    running = _fake(target, now - timedelta(hours=1), complete=False)
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        tmp_path,
        backup_keep_daily=3,
        backup_keep_weekly=2,
    )
    deleted = await service.prune(settings, target=target, now=now)
    kept = sorted(p.name for p in target.root.iterdir())
    # Days 19, 18, 17 (daily) and the newest of the previous ISO week (day 13: a Sunday).
    assert sorted(set(ids) - set(deleted)) == sorted([ids[19], ids[18], ids[17], ids[12]])
    assert stale in deleted and running in kept
    assert set(kept) == {ids[19], ids[18], ids[17], ids[12], running}


@pytest.mark.slow
async def test_the_gauge_reports_the_newest_backup_at_start_and_after_a_run(
    tmp_path: Path, sqlite_template: Path
) -> None:
    import asyncio
    import shutil

    db = tmp_path / "relaypacs.db"
    shutil.copyfile(sqlite_template, db)
    settings = make_settings(
        f"sqlite+aiosqlite:///{db}", tmp_path / "data", backup_target=str(tmp_path / "backups")
    )
    target = DirectoryTarget(tmp_path / "backups")
    made_by_cli = _fake(target, datetime.now(UTC) - timedelta(hours=5))
    _fake(target, datetime.now(UTC) - timedelta(minutes=1), complete=False)  # unfinished
    finished = Manifest.model_validate_json(
        (target.root / made_by_cli / "manifest.json").read_text()
    ).finished_at
    app = create_app(settings)
    name = "relaypacs_backup_last_success_timestamp_seconds"
    async with app.router.lifespan_context(app):
        for _ in range(100):
            if REGISTRY.get_sample_value(name) == finished.timestamp():
                break
            await asyncio.sleep(0.05)
        assert REGISTRY.get_sample_value(name) == finished.timestamp()
        await backup_jobs.run_once(settings, storage=app.state.storage, target=target)
        newest = await service.newest(target=target)
        assert newest is not None and newest.id != made_by_cli
        assert REGISTRY.get_sample_value(name) == newest.finished_at.timestamp()
