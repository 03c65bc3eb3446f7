"""Shared FastAPI dependencies and their `Annotated` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.core.config import Settings
from relaypacs.core.database import Database


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_database(request).sessionmaker() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]

# Any list's page number: bounded, so a huge value is a 422 rather than an offset that
# overflows the database's integer (a 500).
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
