"""Which backups to keep: the newest of each of the last `daily` days that have a backup
and of each of the last `weekly` ISO weeks that have one (UTC), as restic and borg count."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime


def to_keep(backups: Iterable[tuple[str, datetime]], *, daily: int, weekly: int) -> set[str]:
    """The ids to keep among complete backups given as (id, time)."""
    newest_first = sorted(backups, key=lambda b: b[1], reverse=True)
    kept: set[str] = set()
    for count, period in ((daily, _day), (weekly, _week)):
        seen: set[tuple[int, int] | tuple[int, int, int]] = set()
        for backup_id, at in newest_first:
            key = period(at)
            if key in seen:
                continue
            if len(seen) == count:
                break
            seen.add(key)
            kept.add(backup_id)
    return kept


def _day(at: datetime) -> tuple[int, int, int]:
    return (at.year, at.month, at.day)


def _week(at: datetime) -> tuple[int, int]:
    iso = at.isocalendar()
    return (iso.year, iso.week)
