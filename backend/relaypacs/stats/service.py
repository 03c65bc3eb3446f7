"""Upload stats: computed by SQL aggregation, cached per (scope, period, facility, tz)
under the uploads' generation (uploads.changes), so any upload change is seen at once."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.core.cache import Cache, CacheUnavailable
from relaypacs.core.database import Database, utcnow
from relaypacs.core.logging import get_logger
from relaypacs.core.service_levels import ServiceLevel
from relaypacs.stats import periods, queries
from relaypacs.stats.periods import Window
from relaypacs.stats.schemas import (
    DailyCount,
    ModalityCount,
    Outcomes,
    Period,
    ServiceLevelCount,
    UploadStats,
)
from relaypacs.stats.scope import Scope
from relaypacs.uploads import changes

log = get_logger("relaypacs.stats")

EXPORT_HEADER = ("date", "facility", "modality", "service_level", "outcome", "uploads", "bytes")
# A cell starting with one of these is run as a formula by spreadsheets (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class StatsQuery:
    """What was asked: whose uploads, which period, in which zone."""

    scope: Scope
    period: Period
    tz: ZoneInfo

    def cache_key(self, generation: str) -> str:
        return f"stats:{generation}:{self.scope.key}:{self.period.value}:{self.tz.key}"


async def get(
    session: AsyncSession, *, cache: Cache, ttl_seconds: int, query: StatsQuery
) -> UploadStats:
    """The stats, from the cache when fresh; computed (and cached) otherwise. With the
    cache unreachable they are computed every time, never an error."""
    if ttl_seconds <= 0:
        return await compute(session, query=query)
    try:
        key = query.cache_key(await changes.generation(cache))
        cached = await cache.get(key)
    except CacheUnavailable:
        log.warning("stats_cache_unavailable")
        return await compute(session, query=query)
    if cached is not None:
        return UploadStats.model_validate_json(cached)
    stats = await compute(session, query=query)
    try:
        await cache.add(key, stats.model_dump_json(by_alias=True), ttl_seconds)
    except CacheUnavailable:
        log.warning("stats_cache_unavailable")
    return stats


async def _day_bucket(
    session: AsyncSession, *, window: Window, scope: Scope
) -> tuple[Any, datetime | None]:
    """The day expression for this database, and (for `all`) the first upload's time."""
    dialect = session.get_bind().dialect.name
    first = None
    start = window.start
    if start is None and dialect != "postgresql":
        first = await queries.first_upload(session, scope=scope.condition())
        start = first
    offsets = periods.utc_offsets(window.zone, start or window.now, window.now)
    return queries.day_bucket(dialect, window.zone, offsets), first


async def compute(session: AsyncSession, *, query: StatsQuery) -> UploadStats:
    """Every figure by SQL aggregation over the scope's uploads of the period."""
    now = utcnow()
    window = periods.window(query.period, query.tz, now)
    scope, dialect = query.scope.condition(), session.get_bind().dialect.name
    rows = await queries.breakdown(
        session, dialect=dialect, scope=scope, start=window.start, now=now
    )
    outcomes: Counter[str] = Counter()
    levels: Counter[str] = Counter()
    modalities: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    upload_seconds = delivery_seconds = 0.0
    completed = delivered = 0
    for row in rows:
        outcomes[row.bucket_outcome] += row.uploads
        levels[row.service_level] += row.uploads
        modalities[row.modality][0] += row.uploads
        modalities[row.modality][1] += int(row.bytes)
        completed += row.completed
        delivered += row.delivered
        upload_seconds += float(row.upload_seconds or 0)
        delivery_seconds += float(row.delivery_seconds or 0)
    day, _ = await _day_bucket(session, window=window, scope=query.scope)
    daily = {
        queries.as_date(r.bucket_day): r
        for r in await queries.daily(session, scope=scope, start=window.start, day=day)
    }
    volume = await queries.volume(session, scope=scope, start=window.start)
    finished = outcomes["forwarded"] + outcomes["failed"]
    return UploadStats(
        period=query.period,
        from_=window.start,
        to=now.astimezone(query.tz),
        generated_at=now,
        total_uploads=sum(outcomes.values()),
        volume_bytes=volume,
        volume_gb=round(volume / 1e9, 2),
        success_rate=round(outcomes["forwarded"] / finished, 4) if finished else None,
        avg_upload_seconds=round(upload_seconds / completed, 1) if completed else None,
        avg_delivery_seconds=round(delivery_seconds / delivered, 1) if delivered else None,
        by_outcome=Outcomes(
            forwarded=outcomes["forwarded"],
            failed=outcomes["failed"],
            in_progress=outcomes["in_progress"],
            cancelled=outcomes["cancelled"],
            expired=outcomes["expired"],
        ),
        by_modality=[
            ModalityCount(modality=m, uploads=n, bytes=b)
            for m, (n, b) in sorted(modalities.items(), key=lambda i: (-i[1][0], -i[1][1], i[0]))
        ],
        by_service_level=[
            ServiceLevelCount(service_level=level, uploads=levels[level.value])
            for level in ServiceLevel
        ],
        daily=[
            DailyCount(
                date=d,
                uploads=daily[d].uploads if d in daily else 0,
                forwarded=daily[d].forwarded if d in daily else 0,
                failed=daily[d].failed if d in daily else 0,
            )
            for d in window.days(min(daily) if daily else None)
        ],
    )


def neutralise(cell: str) -> str:
    """A text cell a spreadsheet would run as a formula is prefixed with a quote."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def _csv_line(values: Iterable[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(
        neutralise(v) if isinstance(v, str) else v for v in values
    )
    return buffer.getvalue()


def export_filename(query: StatsQuery, now: datetime) -> str:
    return f"relaypacs-stats-{query.period.value}-{now.astimezone(query.tz):%Y%m%d}.csv"


async def record_export(
    session: AsyncSession, *, query: StatsQuery, actor_id: Any, ip: str | None
) -> None:
    """The export is audited before a byte of it is sent."""
    audit.record(
        session,
        action="stats_exported",
        actor_id=actor_id,
        target_type="stats",
        ip=ip,
        details={
            "period": query.period.value,
            "scope": query.scope.key,
            "tz": query.tz.key,
        },
    )
    await session.commit()


async def export(database: Database, *, query: StatsQuery) -> AsyncIterator[str]:
    """The CSV (RFC 4180: CRLF, quoted where needed), one line at a time, from its own
    session: the response outlives the request's dependencies."""
    yield _csv_line(EXPORT_HEADER)
    now = utcnow()
    window = periods.window(query.period, query.tz, now)
    async with database.sessionmaker() as session:
        day, _ = await _day_bucket(session, window=window, scope=query.scope)
        rows = queries.export(
            session, scope=query.scope.condition(), start=window.start, now=now, day=day
        )
        async for row in rows:
            yield _csv_line(
                (
                    queries.as_date(row.bucket_day).isoformat(),
                    row.bucket_facility,
                    row.modality,
                    row.service_level,
                    row.bucket_outcome,
                    int(row.uploads),
                    int(row.bytes),
                )
            )
