"""The models and the migrations agree, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from relaypacs.core import migrate
from relaypacs.core.database import Base, create_engine
from relaypacs.settings import Settings


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "render_as_batch": connection.dialect.name == "sqlite"},
    )
    return list(compare_metadata(context, Base.metadata))


async def _schema_diff(settings: Settings) -> list[Any]:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_diff)
    finally:
        await engine.dispose()


async def _tables(settings: Settings) -> set[str]:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: inspect(c).get_table_names())
            return set(names) - {"alembic_version"}
    finally:
        await engine.dispose()


async def test_autogenerate_finds_no_difference_between_models_and_migrations(
    settings: Settings,
) -> None:
    assert await _schema_diff(settings) == []


async def test_downgrade_to_base_then_upgrade_to_head(settings: Settings) -> None:
    assert await _tables(settings) == set(Base.metadata.tables)
    await anyio.to_thread.run_sync(migrate.downgrade, settings, "base")
    assert await _tables(settings) == set()
    await anyio.to_thread.run_sync(migrate.upgrade, settings, "head")
    assert await _tables(settings) == set(Base.metadata.tables)
    assert await _schema_diff(settings) == []
    current = await anyio.to_thread.run_sync(migrate.current, settings)
    assert "(head)" in current
