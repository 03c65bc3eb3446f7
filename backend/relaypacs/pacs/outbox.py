"""The forwarding outbox: jobs are created with the upload's `queued` state, in the same
transaction, and claimed by workers with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL)."""

from __future__ import annotations

import os
import random
import socket
import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.core.config import Settings
from relaypacs.core.database import Database, execute_dml, utcnow
from relaypacs.pacs.models import ForwardItem, ForwardJob, ItemState, JobRole, JobState
from relaypacs.uploads.models import Instance, Upload, UploadState

# A worker holds a job for LEASE and renews it every LEASE/4 while it works; a worker
# that died (SIGKILL, power loss) lets its job go within LEASE.
LEASE = timedelta(seconds=60)
OPEN_STATES = (JobState.pending, JobState.sending)


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
    session.add_all(
        ForwardItem(job_id=job.id, instance_id=i, state=ItemState.pending) for i in instance_ids
    )
    return job


async def enqueue(session: AsyncSession, *, settings: Settings, upload: Upload) -> list[str]:
    """One job per active destination for a just-completed upload; the caller commits."""
    await session.flush()
    instance_ids = (
        await session.scalars(select(Instance.id).where(Instance.upload_id == upload.id))
    ).all()
    destinations = settings.active_destinations
    for name in destinations:
        await create_job(
            session,
            upload_id=upload.id,
            destination=name,
            role=JobRole.primary,
            instance_ids=instance_ids,
        )
    return destinations


async def claim(database: Database, *, holder: str) -> uuid.UUID | None:
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
            .values(state=JobState.sending, locked_by=holder, locked_until=now + LEASE)
            .execution_options(synchronize_session=False),
        )
        await session.commit()
        return candidate if taken == 1 else None


async def renew(session: AsyncSession, *, job_id: uuid.UUID, holder: str) -> bool:
    renewed = await execute_dml(
        session,
        update(ForwardJob)
        .where(
            ForwardJob.id == job_id,
            ForwardJob.locked_by == holder,
            ForwardJob.state == JobState.sending,
        )
        .values(locked_until=utcnow() + LEASE)
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


def backoff(settings: Settings, attempts: int, retry_after: float | None = None) -> timedelta:
    """Exponential with full jitter, never sooner than the server's Retry-After."""
    ceiling = min(
        settings.forward_backoff_max_seconds,
        settings.forward_backoff_base_seconds * 2 ** max(0, attempts - 1),
    )
    delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security
    return timedelta(seconds=max(delay, retry_after or 0.0))


async def refresh_upload_state(session: AsyncSession, *, upload_id: uuid.UUID) -> UploadState:
    """Derive the upload's forwarding state from its jobs (superseded ones don't count)."""
    # Lock the upload first: two workers finishing the two jobs of an `ACTIVE_PACS=both`
    # upload at once would otherwise each see the other's job still sending, and the
    # upload would stay `forwarding` (and never get its report). The second now waits for
    # the first's commit and then reads both jobs delivered.
    await session.execute(select(Upload.id).where(Upload.id == upload_id).with_for_update())
    states = (
        await session.scalars(
            select(ForwardJob.state).where(
                ForwardJob.upload_id == upload_id, ForwardJob.state != JobState.superseded
            )
        )
    ).all()
    if states and all(s is JobState.delivered for s in states):
        new = UploadState.forwarded
    elif any(s is JobState.dead for s in states):
        new = UploadState.failed
    else:
        new = UploadState.forwarding
    await session.execute(
        update(Upload)
        .where(Upload.id == upload_id)
        .values(state=new)
        .execution_options(synchronize_session=False)
    )
    return new


async def queue_depth(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(ForwardJob.destination, func.count())
        .where(ForwardJob.state.in_(OPEN_STATES))
        .group_by(ForwardJob.destination)
    )
    return {name: int(count) for name, count in rows.all()}
