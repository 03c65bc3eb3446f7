"""Stream event ids are commit-ordered, so a client's Last-Event-ID is an exact resume
point: an event with a lower id never becomes visible after one with a higher id."""

from __future__ import annotations

import asyncio
import uuid

from fastapi import FastAPI
from sqlalchemy import select

from relaypacs.core.permissions import Role
from relaypacs.notifications import service
from relaypacs.notifications.models import StreamEvent


async def test_a_second_writer_of_events_waits_for_the_first_to_commit(app: FastAPI) -> None:
    database = app.state.database
    first_committed = asyncio.Event()

    async def second_writer() -> int:
        async with database.sessionmaker() as session:
            dispatch = await service.broadcast(
                session, type="report_updated", data={"n": 2}, roles=[Role.radiologist]
            )
            assert first_committed.is_set(), "got an event id while an earlier one was open"
            await session.commit()
            return dispatch.events[0].id

    async with database.sessionmaker() as session:
        first = await service.broadcast(
            session, type="report_updated", data={"n": 1}, roles=[Role.radiologist]
        )
        second = asyncio.create_task(second_writer())
        await asyncio.sleep(0.5)
        assert not second.done()
        first_committed.set()
        await session.commit()
    second_id = await second
    assert second_id > first.events[0].id
    async with database.sessionmaker() as session:
        rows = (await session.scalars(select(StreamEvent).order_by(StreamEvent.id))).all()
    assert [row.data["n"] for row in rows] == [1, 2]


async def test_the_hub_hands_committed_events_to_subscribers_in_id_order(app: FastAPI) -> None:
    hub = app.state.hub
    database = app.state.database
    async with hub.subscribe(user_id=uuid.uuid4(), role="radiologist") as sub:
        for n in range(5):
            async with database.sessionmaker() as session:
                dispatch = await service.broadcast(
                    session, type="report_updated", data={"n": n}, roles=[Role.radiologist]
                )
                await session.commit()
            await app.state.notifier.deliver(dispatch)
        received = [await asyncio.wait_for(sub.queue.get(), 5) for _ in range(5)]
    assert [m.data["n"] for m in received] == list(range(5))
    assert [m.id for m in received] == sorted(m.id for m in received)
