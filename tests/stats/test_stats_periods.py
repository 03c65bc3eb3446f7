"""The zone arithmetic behind SQLite's day buckets: UTC offsets cut exactly at each DST
change, and periods starting at local midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from relaypacs.stats import periods
from relaypacs.stats.errors import InvalidTimezone
from relaypacs.stats.schemas import Period


def test_offsets_change_at_the_exact_second_of_each_dst_change() -> None:
    london = periods.zone("Europe/London")
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    assert periods.utc_offsets(london, start, end) == [
        (datetime(2025, 3, 30, 1, 0, tzinfo=UTC), 0),
        (datetime(2025, 10, 26, 1, 0, tzinfo=UTC), 3600),
        (end, 0),
    ]


@pytest.mark.parametrize(
    ("name", "offsets"),
    [
        ("UTC", [0]),
        ("Asia/Kathmandu", [5 * 3600 + 45 * 60]),  # no DST, a 45-minute offset
        ("Australia/Lord_Howe", [39600, 37800, 39600]),  # a 30-minute DST, southern summer
    ],
)
def test_offsets_of_zones_without_dst_or_with_odd_ones(name: str, offsets: list[int]) -> None:
    pieces = periods.utc_offsets(
        periods.zone(name), datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert [offset for _, offset in pieces] == offsets


def test_a_period_starts_at_local_midnight_of_its_first_day() -> None:
    zone = periods.zone("America/New_York")
    now = datetime(2025, 3, 10, 3, 0, tzinfo=UTC)  # 23:00 on 9 March in New York (EDT)
    window = periods.window(Period.w1, zone, now)
    assert window.start == datetime(2025, 3, 3, tzinfo=zone)
    assert window.start.utcoffset().total_seconds() == -5 * 3600  # EST before the change
    assert window.days(None)[0] == date(2025, 3, 3) and window.days(None)[-1] == date(2025, 3, 9)
    assert periods.window(Period.all, zone, now).start is None


@pytest.mark.parametrize("name", ["", "utc ", "Europe/", "/etc/localtime", "posixrules/../UTC"])
def test_only_names_from_the_zone_database_are_accepted(name: str) -> None:
    with pytest.raises(InvalidTimezone):
        periods.zone(name)
