"""The forwarding outbox: jobs are created in the transaction that records the upload as
`queued` (see `relaypacs.flows.forwarding`), and claimed by workers with a lease
(FOR UPDATE SKIP LOCKED on PostgreSQL)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.core.database import Database, execute_dml, utcnow
from relaypacs.pacs.config import PacsSettings
from relaypacs.pacs.handoff import ForwardingProgress
from relaypacs.pacs.models import ForwardItem, ForwardJob, ItemState, JobRole, JobState
from relaypacs.pacs.states import OPEN

# A worker holds a job for its lease (FORWARD_LEASE_SECONDS, LEASE by default) and renews it
# every quarter lease while it works; a worker that died (SIGKILL, power loss) lets its job
# go within one lease, to another replica.
LEASE = timedelta(seconds=60)


async def create_job(
    session: AsyncSession,
    *,
    upload_id: uuid.UUID,
    destination: str,
    role: JobRole,
    instance_ids: Sequence[uuid.UUID],
) -> ForwardJob:
    job = ForwardJob(
        id=uuid.uuid4(),
        upload_id=upload_id,
        destination=destination,
        role=role,
        state=JobState.pending,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(job)
    await session.flush()  # the job row first: its items refer to it
    if instance_ids:  # one multi-row INSERT: the ORM's unit of work costs more per row
        await session.execute(
            insert(cast(Table, ForwardItem.__table__)),
            [
                {"job_id": job.id, "instance_id": i, "state": ItemState.pending}
                for i in instance_ids
            ],
        )
    return job


async def enqueue(
    session: AsyncSession,
    *,
    settings: PacsSettings,
    upload_id: uuid.UUID,
    instance_ids: Sequence[uuid.UUID],
) -> list[str]:
    """One job per active destination for a just-completed upload; the caller commits."""
    destinations = settings.active_destinations
    for name in destinations:
        await create_job(
            session,
            upload_id=upload_id,
            destination=name,
            role=JobRole.primary,
            instance_ids=instance_ids,
        )
    return destinations


async def claim(database: Database, *, holder: str, lease: timedelta = LEASE) -> uuid.UUID | None:
    """Take the next due job; SKIP LOCKED keeps concurrent workers off the same row."""
    now = utcnow()
    async with database.sessionmaker() as session:
        candidate = await session.scalar(
            select(ForwardJob.id)
            .where(
                ForwardJob.next_attempt_at <= now,
                (ForwardJob.state == JobState.pending)
                | ((ForwardJob.state == JobState.sending) & (ForwardJob.locked_until < now)),
            )
            .order_by(ForwardJob.next_attempt_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if candidate is None:
            await session.rollback()
            return None
        # Compare-and-set as well, so the claim is exclusive on SQLite too.
        taken = await execute_dml(
            session,
            update(ForwardJob)
            .where(
                ForwardJob.id == candidate,
                (ForwardJob.state == JobState.pending)
                | ((ForwardJob.state == JobState.sending) & (ForwardJob.locked_until < now)),
            )
            .values(state=JobState.sending, locked_by=holder, locked_until=now + lease)
            .execution_options(synchronize_session=False),
        )
        await session.commit()
        return candidate if taken == 1 else None


async def renew(
    session: AsyncSession, *, job_id: uuid.UUID, holder: str, lease: timedelta = LEASE
) -> bool:
    renewed = await execute_dml(
        session,
        update(ForwardJob)
        .where(
            ForwardJob.id == job_id,
            ForwardJob.locked_by == holder,
            ForwardJob.state == JobState.sending,
        )
        .values(locked_until=utcnow() + lease)
        .execution_options(synchronize_session=False),
    )
    await session.commit()
    return renewed == 1


def _pid_namespace() -> str:
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "unknown"


def holder_id() -> str:
    """host:pid-namespace:pid:nonce — enough to tell a live worker of this machine (and of
    this PID namespace) from a dead one; anything else is left to its lease."""
    return f"{socket.gethostname()}:{_pid_namespace()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _holder_is_dead(holder: str, me: str) -> bool:
    parts, mine = holder.split(":"), me.split(":")
    if len(parts) != 4 or len(mine) != 4 or parts[:2] != mine[:2] or "unknown" in parts[1]:
        return False  # another machine or container: only its lease can tell
    if not parts[2].isdigit():
        return False
    pid = int(parts[2])
    if pid == int(mine[2]):
        return holder != me  # an earlier run of this very process (same PID, new nonce)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


async def release_orphans(database: Database, *, holder: str) -> int:
    """At start-up: jobs claimed by a process of this host that no longer runs go back now,
    rather than when their lease runs out."""
    released = 0
    async with database.sessionmaker() as session:
        rows = (
            await session.execute(
                select(ForwardJob.id, ForwardJob.locked_by).where(
                    ForwardJob.state == JobState.sending
                )
            )
        ).all()
        for job_id, locked_by in rows:
            if locked_by and _holder_is_dead(locked_by, holder):
                released += await execute_dml(
                    session,
                    update(ForwardJob)
                    .where(ForwardJob.id == job_id, ForwardJob.locked_by == locked_by)
                    .values(
                        state=JobState.pending,
                        locked_by=None,
                        locked_until=None,
                        next_attempt_at=utcnow(),
                    )
                    .execution_options(synchronize_session=False),
                )
        await session.commit()
    return released


async def progress(session: AsyncSession, *, upload_id: uuid.UUID) -> ForwardingProgress:
    """How far an upload's delivery has got, from its jobs (superseded ones don't count)."""
    job_states = (
        await session.scalars(
            select(ForwardJob.state).where(
                ForwardJob.upload_id == upload_id, ForwardJob.state != JobState.superseded
            )
        )
    ).all()
    if job_states and all(s is JobState.delivered for s in job_states):
        return ForwardingProgress.delivered
    if any(s is JobState.dead for s in job_states):
        return ForwardingProgress.failed
    return ForwardingProgress.forwarding


async def queue_depth(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(ForwardJob.destination, func.count())
        .where(ForwardJob.state.in_(OPEN))
        .group_by(ForwardJob.destination)
    )
    return {name: int(count) for name, count in rows.all()}


async def oldest_open(session: AsyncSession) -> dict[str, datetime]:
    """Per destination, when its oldest job still waiting or in progress was queued."""
    rows = await session.execute(
        select(ForwardJob.destination, func.min(ForwardJob.created_at))
        .where(ForwardJob.state.in_(OPEN))
        .group_by(ForwardJob.destination)
    )
    return {name: _aware(oldest) for name, oldest in rows.all() if oldest is not None}


async def dead_letters(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(ForwardJob.destination, func.count())
        .where(ForwardJob.state == JobState.dead)
        .group_by(ForwardJob.destination)
    )
    return {name: int(count) for name, count in rows.all()}


def _aware(value: datetime) -> datetime:
    # Whatever the driver hands back for MIN(), an aware UTC datetime.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
