"""Forwarding workers: claim a job, check the PACS is up, send its pending instances in
bounded batches, read each answer, verify with QIDO-RS, and schedule what is left."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio.to_thread
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.core import metrics
from relaypacs.core.config import DestinationSettings, PacsType, Settings
from relaypacs.core.database import Database, utcnow
from relaypacs.core.events import EventBus
from relaypacs.core.logging import get_logger
from relaypacs.notifications import service as notifications_service
from relaypacs.notifications.service import Dispatch, Notifier
from relaypacs.pacs import outbox
from relaypacs.pacs.dicomweb import DicomWeb
from relaypacs.pacs.instances import StoredInstance, batches
from relaypacs.pacs.models import (
    ForwardItem,
    ForwardJob,
    ForwardReceipt,
    ItemState,
    JobRole,
    JobState,
)
from relaypacs.pacs.stow import StowResult
from relaypacs.reports import service as reports_service
from relaypacs.uploads.models import Instance, Upload, UploadFile
from relaypacs.uploads.storage import Storage

log = get_logger("relaypacs.pacs")


@dataclass
class DestinationHealth:
    up: bool | None = None
    since: datetime | None = None
    last_checked: datetime | None = None


class Forwarder:
    """Runs `settings.forward_workers` worker tasks in this process."""

    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        storage: Storage,
        events: EventBus,
        notifier: Notifier,
    ) -> None:
        self.settings = settings
        self.database = database
        self.storage = storage
        self.events = events
        self.notifier = notifier
        self.holder = outbox.holder_id()
        self.health: dict[str, DestinationHealth] = {
            n: DestinationHealth() for n in settings.destinations
        }
        self.clients: dict[str, DicomWeb] = {
            name: DicomWeb(name, dest)
            for name, dest in settings.destinations.items()
            if dest.type is PacsType.dicomweb and dest.configured
        }
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        if self.settings.forward_workers:
            released = await outbox.release_orphans(self.database, holder=self.holder)
            if released:
                log.info("forward_jobs_resumed", count=released)
        # SQLite takes one writer at a time: one worker there; PostgreSQL takes them all.
        workers = self.settings.forward_workers
        if self.settings.is_sqlite:
            workers = min(workers, 1)
        for n in range(workers):
            self._tasks.append(asyncio.create_task(self._run(), name=f"forwarder-{n}"))

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for client in self.clients.values():
            await client.close()

    def wake(self) -> None:
        """New work was queued in this process: don't wait for the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                job_id = await outbox.claim(self.database, holder=self.holder)
                if job_id is not None:
                    await self.process(job_id)
                    continue
                await self._update_queue_gauge()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("forwarder_error")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.forward_poll_seconds)

    async def _update_queue_gauge(self) -> None:
        async with self.database.sessionmaker() as session:
            depth = await outbox.queue_depth(session)
        for name in self.settings.destinations:
            metrics.PACS_QUEUE_DEPTH.labels(name).set(depth.get(name, 0))

    # --- health -----------------------------------------------------------------------

    async def check(self, name: str) -> bool:
        dest = self.settings.destinations[name]
        try:
            if dest.type is PacsType.dimse:
                from relaypacs.pacs import dimse  # pynetdicom: only for DIMSE destinations

                ok = await anyio.to_thread.run_sync(dimse.c_echo, dest)
            else:
                await self.clients[name].ping()
                ok = True
        except Exception:  # noqa: BLE001 - any failure means "down"
            ok = False
        health = self.health[name]
        if health.up is not ok:
            health.since = utcnow()
            log.info("pacs_health_changed", destination=name, up=ok)
        health.up, health.last_checked = ok, utcnow()
        metrics.PACS_UP.labels(name).set(1 if ok else 0)
        return ok

    async def check_or_raise(self, name: str) -> None:
        if not await self.check(name):
            raise ConnectionError(f"{name} is not answering")

    # --- one job ----------------------------------------------------------------------

    async def process(self, job_id: uuid.UUID) -> None:
        work = asyncio.create_task(self._process(job_id))
        keeper = asyncio.create_task(self._keep_lease(job_id, work))
        try:
            await work
        except asyncio.CancelledError:
            lease_lost = keeper.done() and work.cancelled()
            if not lease_lost:
                raise  # this worker is being stopped
            log.warning("forward_job_lease_lost", job_id=str(job_id))
        finally:
            keeper.cancel()

    async def _keep_lease(self, job_id: uuid.UUID, work: asyncio.Task[None]) -> None:
        """Renew the lease while working; if it was lost, stop: the job is someone else's."""
        while True:
            await asyncio.sleep(outbox.LEASE.total_seconds() / 4)
            async with self.database.sessionmaker() as session:
                if not await outbox.renew(session, job_id=job_id, holder=self.holder):
                    work.cancel()
                    return

    async def _process(self, job_id: uuid.UUID) -> None:
        async with self.database.sessionmaker() as session:
            job = await session.get(ForwardJob, job_id)
            if job is None or job.state is not JobState.sending or job.locked_by != self.holder:
                return
            upload = await session.get(Upload, job.upload_id)
            assert upload is not None
            await outbox.refresh_upload_state(session, upload_id=upload.id)
            await session.commit()
            dest = self.settings.destinations.get(job.destination)
            if dest is None or not dest.configured:
                await self._finish(session, job, JobState.dead, "destination not configured")
                return
            if not await self.check(job.destination):
                await self._postpone(
                    session, job, "PACS unreachable (health check)", count_attempt=False
                )
                return
            await self._send(session, job, upload, dest)

    async def _pending(
        self, session: AsyncSession, job: ForwardJob, upload: Upload
    ) -> list[StoredInstance]:
        rows = await session.execute(
            select(Instance, UploadFile)
            .join(ForwardItem, ForwardItem.instance_id == Instance.id)
            .join(
                UploadFile,
                (UploadFile.upload_id == Instance.upload_id)
                & (UploadFile.index == Instance.file_index),
            )
            .where(ForwardItem.job_id == job.id, ForwardItem.state == ItemState.pending)
            .order_by(Instance.file_index)
        )
        return [StoredInstance(self.storage, upload, f, i) for i, f in rows]

    async def _send(
        self, session: AsyncSession, job: ForwardJob, upload: Upload, dest: DestinationSettings
    ) -> None:
        job.attempts += 1
        await session.commit()
        pending = await self._pending(session, job, upload)
        study_uid = upload.study_instance_uid or ""
        retry_after: float | None = None
        for batch in batches(dest, pending):
            result = await self._send_batch(session, job, upload, dest, study_uid, batch)
            if result.transport_retryable and not result.referenced and not result.failed:
                retry_after = result.retry_after
                break
            if not await outbox.renew(session, job_id=job.id, holder=self.holder):
                return  # the lease was lost; another worker owns the job now
        left = await self._pending(session, job, upload)
        failed = (
            await session.scalars(
                select(ForwardItem.reason).where(
                    ForwardItem.job_id == job.id, ForwardItem.state == ItemState.failed
                )
            )
        ).all()
        if failed:
            await self._finish(
                session, job, JobState.dead, f"{len(failed)} instance(s) refused: {failed[0]}"
            )
        elif left:
            await self._postpone(
                session, job, job.last_error or "instances left to send", retry_after=retry_after
            )
        elif self.settings.forward_verify and dest.type is PacsType.dicomweb:
            await self._verify(session, job, upload)
        else:
            await self._finish(session, job, JobState.delivered, None)

    async def _send_batch(
        self,
        session: AsyncSession,
        job: ForwardJob,
        upload: Upload,
        dest: DestinationSettings,
        study_uid: str,
        batch: list[StoredInstance],
    ) -> StowResult:
        started, clock = utcnow(), time.perf_counter()
        try:
            for item in batch:
                await anyio.to_thread.run_sync(item.prepare)
            if dest.type is PacsType.dimse:
                from relaypacs.pacs import dimse

                result = await anyio.to_thread.run_sync(dimse.c_store, dest, batch)
            else:
                result = await self.clients[job.destination].store(study_uid, batch)
        finally:
            for item in batch:
                item.discard()
        elapsed = time.perf_counter() - clock
        metrics.PACS_LATENCY.labels(job.destination).observe(elapsed)
        by_uid = {i.sop_instance_uid: i for i in batch}
        stored = [u for u in result.referenced if u in by_uid]
        await self._set_items(session, job, [by_uid[u] for u in stored], ItemState.stored, None)
        for failure in result.failed:
            code = failure.describe()["reason"] or "unknown"
            if failure.sop_instance_uid in by_uid and not failure.retryable:
                await self._set_items(
                    session,
                    job,
                    [by_uid[failure.sop_instance_uid]],
                    ItemState.failed,
                    f"failure reason {code}",
                )
            metrics.PACS_FAILURES.labels(job.destination, code).inc()
        if result.http_status == 400 and not result.failed and not stored:
            # The PACS rejected the request as a whole.
            await self._set_items(session, job, batch, ItemState.failed, "HTTP 400")
        if result.error:
            job.last_error = result.error[:500]
            metrics.PACS_FAILURES.labels(
                job.destination,
                "transport" if result.http_status is None else f"http_{result.http_status}",
            ).inc()
        sent_bytes = sum(i.size for i in batch)
        metrics.PACS_INSTANCES.labels(job.destination).inc(len(stored))
        metrics.PACS_BYTES.labels(job.destination).inc(sent_bytes)
        outcome = "stored" if len(stored) == len(batch) else "partial" if stored else "failed"
        session.add(
            ForwardReceipt(
                job_id=job.id,
                upload_id=upload.id,
                destination=job.destination,
                attempt=job.attempts,
                outcome=outcome,
                http_status=result.http_status,
                referenced=stored,
                failed=[f.describe() for f in result.failed],
                retrieve_url=result.retrieve_url,
                instances_sent=len(batch),
                bytes_sent=sent_bytes,
                error=result.error,
                started_at=started,
                duration_ms=int(elapsed * 1000),
            )
        )
        await session.commit()
        return result

    async def _set_items(
        self,
        session: AsyncSession,
        job: ForwardJob,
        items: list[StoredInstance],
        state: ItemState,
        reason: str | None,
    ) -> None:
        """One UPDATE for a whole batch's answer, not one per instance."""
        if not items:
            return
        await session.execute(
            update(ForwardItem)
            .where(
                ForwardItem.job_id == job.id,
                ForwardItem.instance_id.in_([i.instance.id for i in items]),
            )
            .values(state=state, reason=reason)
            .execution_options(synchronize_session=False)
        )

    async def _verify(self, session: AsyncSession, job: ForwardJob, upload: Upload) -> None:
        """QIDO-RS: the PACS must hold every instance sent; missing ones go out again."""
        try:
            held = await self.clients[job.destination].study_instance_uids(
                upload.study_instance_uid or ""
            )
        except Exception as exc:  # noqa: BLE001 - retried later whatever went wrong
            await self._postpone(session, job, f"verification failed: {type(exc).__name__}")
            return
        rows = (
            await session.execute(
                select(ForwardItem.instance_id, Instance.sop_instance_uid)
                .join(Instance, Instance.id == ForwardItem.instance_id)
                .where(ForwardItem.job_id == job.id)
            )
        ).all()
        missing = [instance_id for instance_id, uid in rows if uid not in held]
        if not missing:
            await self._finish(session, job, JobState.delivered, None)
            return
        await session.execute(
            update(ForwardItem)
            .where(ForwardItem.job_id == job.id, ForwardItem.instance_id.in_(missing))
            .values(state=ItemState.pending, reason="not found by QIDO-RS after STOW")
            .execution_options(synchronize_session=False)
        )
        metrics.PACS_FAILURES.labels(job.destination, "verification").inc()
        await self._postpone(
            session, job, f"{len(missing)} of {len(rows)} instances not found on the PACS"
        )

    async def _postpone(
        self,
        session: AsyncSession,
        job: ForwardJob,
        error: str,
        *,
        count_attempt: bool = True,
        retry_after: float | None = None,
    ) -> None:
        now = utcnow()
        job.last_error = error[:500]
        job.first_failure_at = job.first_failure_at or now
        too_old = now - job.created_at > timedelta(hours=self.settings.forward_max_age_hours)
        exhausted = count_attempt and job.attempts >= self.settings.forward_max_attempts
        down_too_long = now - job.first_failure_at >= timedelta(
            seconds=self.settings.fallback_after_seconds
        )
        if (
            job.role is JobRole.primary
            and self.settings.fallback_pacs
            and (exhausted or too_old or down_too_long)
        ):
            await self._fall_back(session, job)
            return
        if exhausted or too_old:
            reason = "attempts exhausted" if exhausted else "too old"
            await self._finish(session, job, JobState.dead, f"{reason}: {error}")
            return
        job.state = JobState.pending
        job.locked_by = job.locked_until = None
        job.next_attempt_at = now + outbox.backoff(self.settings, max(job.attempts, 1), retry_after)
        await session.commit()

    async def _owner(self, session: AsyncSession, job: ForwardJob) -> uuid.UUID | None:
        return await session.scalar(select(Upload.user_id).where(Upload.id == job.upload_id))

    async def _fall_back(self, session: AsyncSession, job: ForwardJob) -> None:
        """The primary cannot take the study: hand what it has not stored to the fallback."""
        instance_ids = (
            await session.scalars(
                select(ForwardItem.instance_id).where(ForwardItem.job_id == job.id)
            )
        ).all()
        fallback = await outbox.create_job(
            session,
            upload_id=job.upload_id,
            destination=self.settings.fallback_pacs,
            role=JobRole.fallback,
            instance_ids=instance_ids,
        )
        job.state = JobState.superseded
        job.locked_by = job.locked_until = None
        log.warning(
            "pacs_fallback",
            job_id=str(job.id),
            fallback_job_id=str(fallback.id),
            destination=job.destination,
            fallback=self.settings.fallback_pacs,
        )
        await outbox.refresh_upload_state(session, upload_id=job.upload_id)
        await session.commit()
        self.wake()

    async def _finish(
        self, session: AsyncSession, job: ForwardJob, state: JobState, error: str | None
    ) -> None:
        job.state = state
        job.locked_by = job.locked_until = None
        job.last_error = error[:500] if error else None
        if state is JobState.delivered:
            job.delivered_at = utcnow()
            last = await session.scalar(
                select(ForwardReceipt)
                .where(ForwardReceipt.job_id == job.id)
                .order_by(ForwardReceipt.started_at.desc())
                .limit(1)
            )
            if last is not None:
                last.delivered = True
        upload_state = await outbox.refresh_upload_state(session, upload_id=job.upload_id)
        # The report and the notifications are written in the same transaction as the
        # delivery (or the dead letter), so neither can be lost to a crash in between.
        dispatch = Dispatch()
        if state is JobState.dead:
            dispatch = await notifications_service.notify(
                session,
                user_ids=[owner] if (owner := await self._owner(session, job)) else [],
                type="upload_failed",
                title="Study could not be delivered",
                body=f"Delivery to {job.destination} failed: {(error or 'unknown error')[:300]}",
                upload_id=job.upload_id,
            )
        elif upload_state.value == "forwarded":
            dispatch = await reports_service.create_for_upload(
                session, upload_id=job.upload_id, destination=job.destination
            )
        await session.commit()
        await self.notifier.deliver(dispatch)
        log.info(
            "forward_job_finished",
            job_id=str(job.id),
            destination=job.destination,
            state=state.value,
            upload_state=upload_state.value,
        )
        if state is JobState.dead:
            metrics.PACS_FAILURES.labels(job.destination, "dead_letter").inc()
            owner = await self._owner(session, job)
            await self.events.publish(
                "upload_failed",
                upload_id=job.upload_id,
                user_id=owner,
                destination=job.destination,
                reason=error,
            )
        elif upload_state.value == "forwarded":
            owner = await self._owner(session, job)
            await self.events.publish("upload_complete", upload_id=job.upload_id, user_id=owner)
