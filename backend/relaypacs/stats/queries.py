"""The stats' SQL: every figure is a GROUP BY in the database, never rows in Python.

Four query shapes, each one index range scan over `upload` (created_at, or completed_at for
the volume), scoped by ix_upload_user_id_created_at / ix_upload_facility_id_created_at:
`breakdown` (outcome × modality × service level, with the duration sums), `daily`,
`volume`, and `export` (day × facility × modality × service level × outcome). Grouping
is by output alias, so an expression with bound values appears once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Float,
    Row,
    and_,
    case,
    extract,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.uploads.models import Upload, UploadState

S = UploadState


def _where(scope: ColumnElement[bool] | None, start: datetime | None) -> list[Any]:
    conditions: list[Any] = [] if scope is None else [scope]
    if start is not None:
        conditions.append(Upload.created_at >= start)
    return conditions


def outcome(now: datetime) -> ColumnElement[str]:
    """forwarded | failed | cancelled | expired | in_progress (an upload past its deadline
    that housekeeping has not expired yet already counts as expired)."""
    return case(
        (Upload.state == S.forwarded, "forwarded"),
        (Upload.state == S.failed, "failed"),
        (Upload.state == S.cancelled, "cancelled"),
        (
            or_(
                Upload.state == S.expired,
                and_(Upload.state == S.uploading, Upload.expires_at <= now),
            ),
            "expired",
        ),
        else_="in_progress",
    )


def _seconds(dialect: str, later: Any, earlier: Any) -> ColumnElement[float]:
    if dialect == "postgresql":
        return extract("epoch", later - earlier).cast(Float)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def day_bucket(
    dialect: str, tz: ZoneInfo, offsets: Sequence[tuple[datetime, int]]
) -> ColumnElement[Any]:
    """The local date (in `tz`) an upload was initialised. PostgreSQL converts with its
    zone database; SQLite adds the UTC offset in force at that instant (`offsets`, see
    periods.utc_offsets), so days stay right across DST changes."""
    if dialect == "postgresql":
        return func.date(func.timezone(tz.key, Upload.created_at))
    pieces = [
        (Upload.created_at < until, func.date(Upload.created_at, f"{offset:+d} seconds"))
        for until, offset in offsets[:-1]
    ]
    last = func.date(Upload.created_at, f"{offsets[-1][1]:+d} seconds")
    return case(*pieces, else_=last) if pieces else last


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


async def first_upload(
    session: AsyncSession, *, scope: ColumnElement[bool] | None
) -> datetime | None:
    """When the scope's first upload was initialised (None: no uploads)."""
    value = await session.scalar(select(func.min(Upload.created_at)).where(*_where(scope, None)))
    if value is None:
        return None
    if isinstance(value, str):  # SQLite's text, when the column type is not applied
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def breakdown(
    session: AsyncSession,
    *,
    dialect: str,
    scope: ColumnElement[bool] | None,
    start: datetime | None,
    now: datetime,
) -> Sequence[Row[Any]]:
    completed = Upload.completed_at.is_not(None)
    delivered = and_(completed, Upload.forwarded_at.is_not(None))
    query = (
        select(
            outcome(now).label("bucket_outcome"),
            Upload.modality,
            Upload.service_level,
            func.count().label("uploads"),
            func.coalesce(func.sum(case((completed, Upload.total_bytes), else_=0)), 0).label(
                "bytes"
            ),
            func.count(Upload.completed_at).label("completed"),
            func.sum(
                case((completed, _seconds(dialect, Upload.completed_at, Upload.created_at)))
            ).label("upload_seconds"),
            func.count(case((delivered, 1))).label("delivered"),
            func.sum(
                case((delivered, _seconds(dialect, Upload.forwarded_at, Upload.completed_at)))
            ).label("delivery_seconds"),
        )
        .where(*_where(scope, start))
        .group_by(literal_column("bucket_outcome"), Upload.modality, Upload.service_level)
    )
    return (await session.execute(query)).all()


async def daily(
    session: AsyncSession,
    *,
    scope: ColumnElement[bool] | None,
    start: datetime | None,
    day: ColumnElement[Any],
) -> Sequence[Row[Any]]:
    query = (
        select(
            day.label("bucket_day"),
            func.count().label("uploads"),
            func.count(case((Upload.state == S.forwarded, 1))).label("forwarded"),
            func.count(case((Upload.state == S.failed, 1))).label("failed"),
        )
        .where(*_where(scope, start))
        .group_by(literal_column("bucket_day"))
        .order_by(literal_column("bucket_day"))
    )
    return (await session.execute(query)).all()


async def volume(
    session: AsyncSession, *, scope: ColumnElement[bool] | None, start: datetime | None
) -> int:
    """Bytes of the uploads whose completion was accepted in the period."""
    conditions: list[Any] = [] if scope is None else [scope]
    conditions.append(
        Upload.completed_at >= start if start is not None else Upload.completed_at.is_not(None)
    )
    total = await session.scalar(
        select(func.coalesce(func.sum(Upload.total_bytes), 0)).where(*conditions)
    )
    return int(total or 0)


async def export(
    session: AsyncSession,
    *,
    scope: ColumnElement[bool] | None,
    start: datetime | None,
    now: datetime,
    day: ColumnElement[Any],
) -> AsyncIterator[Row[Any]]:
    """Day × facility × modality × service level × outcome, non-empty ones, by date
    (streamed from a server-side cursor)."""
    completed = Upload.completed_at.is_not(None)
    keys: tuple[Any, ...] = (
        literal_column("bucket_day"),
        literal_column("bucket_facility"),
        Upload.modality,
        Upload.service_level,
        literal_column("bucket_outcome"),
    )
    query = (
        select(
            day.label("bucket_day"),
            func.coalesce(Upload.facility, "").label("bucket_facility"),
            Upload.modality,
            Upload.service_level,
            outcome(now).label("bucket_outcome"),
            func.count().label("uploads"),
            func.coalesce(func.sum(case((completed, Upload.total_bytes), else_=0)), 0).label(
                "bytes"
            ),
        )
        .where(*_where(scope, start))
        .group_by(*keys)
        .order_by(*keys)
    )
    result = await session.stream(query.execution_options(yield_per=500))
    async for row in result:
        yield row
