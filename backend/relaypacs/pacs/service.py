"""PACS destinations, their queues, dead-letter retries and per-upload delivery state."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.core.database import utcnow
from relaypacs.core.pagination import Window, paginate
from relaypacs.pacs import outbox, states
from relaypacs.pacs.config import PacsSettings
from relaypacs.pacs.errors import JobNotFound, JobNotRetryable
from relaypacs.pacs.handoff import ForwardingProgress
from relaypacs.pacs.models import ForwardItem, ForwardJob, ForwardReceipt, ItemState, JobState
from relaypacs.pacs.schemas import (
    DeadLetterPage,
    DeadLetterRead,
    DeliveryReceipt,
    DestinationRead,
)
from relaypacs.pacs.worker import Forwarder
from relaypacs.uploads.schemas import ForwardJobRead, ReceiptRead


async def list_destinations(
    session: AsyncSession, *, settings: PacsSettings, forwarder: Forwarder
) -> list[DestinationRead]:
    depth = await outbox.queue_depth(session)
    result = []
    for name, dest in settings.destinations.items():
        if dest.configured:
            await forwarder.check(name)
        health = forwarder.health[name]
        last_success = await session.scalar(
            select(func.max(ForwardJob.delivered_at)).where(ForwardJob.destination == name)
        )
        last_failure = await session.scalar(
            select(func.max(ForwardReceipt.started_at)).where(
                ForwardReceipt.destination == name, ForwardReceipt.outcome != "stored"
            )
        )
        last_error = await session.scalar(
            select(ForwardJob.last_error)
            .where(ForwardJob.destination == name, ForwardJob.last_error.is_not(None))
            .order_by(ForwardJob.updated_at.desc())
            .limit(1)
        )
        role = (
            "active"
            if name in settings.active_destinations
            else "fallback"
            if name == settings.fallback_pacs
            else "standby"
        )
        result.append(
            DestinationRead(
                name=name,
                type=dest.type.value,
                url=dest.url or f"{dest.host}:{dest.port}",
                role=role,
                configured=dest.configured,
                up=health.up,
                up_since=health.since,
                queue_depth=depth.get(name, 0),
                last_success_at=last_success,
                last_failure_at=last_failure,
                last_error=last_error,
            )
        )
    return result


async def list_dead_letters(
    session: AsyncSession, *, window: Window, destination: str | None = None
) -> DeadLetterPage:
    """Dead-lettered jobs, the most recently given up first, with their refused instances."""
    query = select(ForwardJob).where(ForwardJob.state == JobState.dead)
    if destination:
        query = query.where(ForwardJob.destination == destination)
    rows = await paginate(session, query, window, ForwardJob.updated_at.desc(), ForwardJob.id)
    failed: dict[uuid.UUID, int] = {}
    if rows.items:
        counts = await session.execute(
            select(ForwardItem.job_id, func.count())
            .where(
                ForwardItem.job_id.in_([job.id for job in rows.items]),
                ForwardItem.state == ItemState.failed,
            )
            .group_by(ForwardItem.job_id)
        )
        failed = {job_id: int(count) for job_id, count in counts}

    def read(job: ForwardJob) -> DeadLetterRead:
        return DeadLetterRead.model_validate(job).model_copy(
            update={"instances_failed": failed.get(job.id, 0)}
        )

    return DeadLetterPage.of(rows, read)


async def retry(
    session: AsyncSession,
    *,
    forwarder: Forwarder,
    job_id: uuid.UUID,
    actor_id: uuid.UUID,
    ip: str | None,
) -> ForwardJobRead:
    """Give a dead-lettered job a fresh set of attempts (refused instances included)."""
    job = await session.get(ForwardJob, job_id)
    if job is None:
        raise JobNotFound()
    if job.state is not JobState.dead:
        raise JobNotRetryable(state=job.state.value)
    await session.execute(
        update(ForwardItem)
        .where(ForwardItem.job_id == job.id, ForwardItem.state == ItemState.failed)
        .values(state=ItemState.pending, reason=None)
        .execution_options(synchronize_session=False)
    )
    states.check(job.state, JobState.pending)
    job.state = JobState.pending
    job.attempts = 0
    job.first_failure_at = None
    job.next_attempt_at = utcnow()
    job.last_error = None
    audit.record(
        session,
        action="forward_job_retried",
        actor_id=actor_id,
        target_type="forward_job",
        target_id=job.id,
        ip=ip,
    )
    await forwarder.changed(session, job)  # commits: the upload is being forwarded again
    forwarder.wake()
    return ForwardJobRead.model_validate(job)


async def enqueue(
    session: AsyncSession,
    *,
    settings: PacsSettings,
    upload_id: uuid.UUID,
    instance_ids: Sequence[uuid.UUID],
) -> list[str]:
    """Queue a just-completed upload for every active destination; the caller commits."""
    return await outbox.enqueue(
        session, settings=settings, upload_id=upload_id, instance_ids=instance_ids
    )


async def progress(session: AsyncSession, *, upload_id: uuid.UUID) -> ForwardingProgress:
    """How far the upload's delivery has got across its destinations."""
    return await outbox.progress(session, upload_id=upload_id)


async def forwarding_of(session: AsyncSession, *, upload_id: uuid.UUID) -> list[ForwardJobRead]:
    """Each destination's delivery state for an upload, with its receipts."""
    jobs = (
        await session.scalars(
            select(ForwardJob)
            .where(ForwardJob.upload_id == upload_id)
            .order_by(ForwardJob.created_at)
        )
    ).all()
    result = []
    for job in jobs:
        receipts = (
            await session.scalars(
                select(ForwardReceipt)
                .where(ForwardReceipt.job_id == job.id)
                .order_by(ForwardReceipt.started_at)
            )
        ).all()
        rows = await session.execute(
            select(ForwardItem.state, func.count())
            .where(ForwardItem.job_id == job.id)
            .group_by(ForwardItem.state)
        )
        counts = {state: int(count) for state, count in rows}
        read = ForwardJobRead.model_validate(job)
        read.receipts = [ReceiptRead.model_validate(r) for r in receipts]
        read.receipt_id = next((r.id for r in receipts if r.delivered), None)
        read.instances_stored = int(counts.get(ItemState.stored, 0))
        read.instances_total = int(sum(counts.values()))
        result.append(read)
    return result


async def delivery_receipt(
    session: AsyncSession, *, upload_id: uuid.UUID, destination: str | None = None
) -> DeliveryReceipt | None:
    """The latest successful delivery of an upload (optionally to one destination)."""
    query = (
        select(ForwardReceipt, ForwardJob.state)
        .join(ForwardJob, ForwardJob.id == ForwardReceipt.job_id)
        .where(ForwardReceipt.upload_id == upload_id, ForwardReceipt.delivered.is_(True))
    )
    if destination:
        query = query.where(ForwardReceipt.destination == destination)
    row = (await session.execute(query.order_by(ForwardReceipt.started_at.desc()).limit(1))).first()
    if row is None:
        return None
    receipt, state = row
    counts = {
        item_state: int(count)
        for item_state, count in await session.execute(
            select(ForwardItem.state, func.count())
            .where(ForwardItem.job_id == receipt.job_id)
            .group_by(ForwardItem.state)
        )
    }
    return DeliveryReceipt(
        receipt_id=receipt.id,
        destination=receipt.destination,
        status=state.value,
        http_status=receipt.http_status,
        instances_referenced=counts.get(ItemState.stored, 0),
        instances_failed=counts.get(ItemState.failed, 0),
        received_at=receipt.started_at + timedelta(milliseconds=receipt.duration_ms),
    )
