"""The one page type and the one way to cut a query into pages.

A list route takes a `Window` from `window(default_size=…, max_size=…)` (the `page` and
`page_size` query parameters, both bounded: a huge page is a 422, never an offset that
overflows the database's integer), its service calls `paginate`, and it answers a
`Page[T]` subclass named after what it lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Self, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.core.strict import QUERY_INT

MAX_PAGE = 1_000_000
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Window:
    """Which page of how many items was asked for."""

    page: int = 1
    page_size: int = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def window(*, default_size: int, max_size: int) -> Callable[..., Window]:
    """A dependency reading `page` and `page_size` (1..max_size) from the query string."""

    def dependency(page: int = 1, page_size: int = default_size) -> Window:
        return Window(page=page, page_size=page_size)

    # Set here, not written in the signature: under postponed annotations FastAPI would look
    # `max_size` up in the module, and the QUERY_INT marker must follow the bounds (see
    # core/strict.py) for the schema to keep them.
    dependency.__annotations__ = {
        "page": Annotated[
            int, Query(ge=1, le=MAX_PAGE, description="1-based page number"), QUERY_INT
        ],
        "page_size": Annotated[
            int, Query(ge=1, le=max_size, description="Items per page"), QUERY_INT
        ],
        "return": Window,
    }
    return dependency


@dataclass(frozen=True, slots=True)
class Rows:
    """One page of rows and how many there are in all."""

    items: Sequence[Any]
    total: int
    window: Window


async def paginate(
    session: AsyncSession, query: Select[Any], window: Window, *order_by: Any
) -> Rows:
    """Count the query's rows, then fetch one window of them in `order_by` order."""
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(*order_by).offset(window.offset).limit(window.page_size)
    )
    return Rows(items=rows.all(), total=int(total or 0), window=window)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int

    @classmethod
    def of(cls, rows: Rows, convert: Callable[[Any], T], **extra: Any) -> Self:
        return cls(
            items=[convert(row) for row in rows.items],
            total=rows.total,
            page=rows.window.page,
            page_size=rows.window.page_size,
            **extra,
        )
