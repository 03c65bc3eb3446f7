"""Periods and days in a time zone: where a period starts, and the zone's UTC offsets.

SQLite has no time zone database, so a day is bucketed there as `date(created_at, +offset)`
with the offset that holds at that instant: `utc_offsets` cuts the period at the zone's
transitions (DST changes), each piece with one fixed offset. PostgreSQL uses
`timezone(tz, created_at)` instead.
"""

from __future__ import annotations

import functools
import math
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from relaypacs.stats.errors import InvalidTimezone
from relaypacs.stats.schemas import PERIOD_DAYS, Period

# No zone changes its offset twice within this step (transitions are months apart).
_STEP = 12 * 3600


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone_names() -> list[str]:
    """Every name `zone` accepts, sorted (the OpenAPI enum of `tz`)."""
    return sorted(_zone_names() | {"UTC"})


def zone(name: str) -> ZoneInfo:
    """The IANA zone called `name` (422 invalid_timezone otherwise). Only names from the
    zone database are looked up, so a user's string never reaches the file system."""
    if name != "UTC" and name not in _zone_names():
        raise InvalidTimezone()
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class Window:
    """A period in a zone: `start` is local midnight of its first day (None: `all`)."""

    period: Period
    zone: ZoneInfo
    now: datetime
    start: datetime | None

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def days(self, first: date | None) -> list[date]:
        """Every local day from `first` (or the period's first day) to today."""
        begin = self.start.date() if self.start is not None else first
        if begin is None:
            return []
        return [begin + timedelta(days=n) for n in range((self.today - begin).days + 1)]


def window(period: Period, tz: ZoneInfo, now: datetime) -> Window:
    days = PERIOD_DAYS[period]
    if days is None:
        return Window(period, tz, now, None)
    first = now.astimezone(tz).date() - timedelta(days=days - 1)
    return Window(period, tz, now, datetime.combine(first, time(0), tzinfo=tz))


def _offset(tz: ZoneInfo, second: int) -> int:
    offset = datetime.fromtimestamp(second, UTC).astimezone(tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def utc_offsets(tz: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """The zone's UTC offset (seconds) over [start, end] as (until, offset) pieces: the
    offset holds before `until`; the last piece's `until` is `end`."""
    pieces: list[tuple[datetime, int]] = []
    at, last = math.floor(start.timestamp()), math.ceil(end.timestamp())
    current = _offset(tz, at)
    while at < last:
        step = min(at + _STEP, last)
        if _offset(tz, step) == current:
            at = step
            continue
        low, high = at, step  # the offset changes in (low, high], on a whole second
        while high - low > 1:
            middle = (low + high) // 2
            if _offset(tz, middle) == current:
                low = middle
            else:
                high = middle
        pieces.append((datetime.fromtimestamp(high, UTC), current))
        current, at = _offset(tz, high), high
    pieces.append((end, current))
    return pieces
