"""Forwarding workers: claim a job, check the PACS is up, make one delivery attempt, and
apply the retry/fallback policy to what is left. Every change of a job's state is told to
the layer above (`on_change`, see `pacs.handoff`) inside the same transaction."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.core import metrics
from relaypacs.core.database import Database, utcnow
from relaypacs.core.logging import get_logger
from relaypacs.notifications.service import Notifier
from relaypacs.pacs import outbox, policy, states
from relaypacs.pacs.clients import close_all, dicomweb_clients
from relaypacs.pacs.config import PacsSettings
from relaypacs.pacs.delivery import Outcome, Sender
from relaypacs.pacs.handoff import JobChange, JobListener
from relaypacs.pacs.health import HealthMonitor
from relaypacs.pacs.models import ForwardItem, ForwardJob, ForwardReceipt, JobRole, JobState
from relaypacs.uploads.models import Upload
from relaypacs.uploads.storage import Storage

log = get_logger("relaypacs.pacs")


class Forwarder:
    """Runs `settings.forward_workers` worker tasks in this process."""

    def __init__(
        self,
        *,
        settings: PacsSettings,
        database: Database,
        storage: Storage,
        notifier: Notifier,
        on_change: JobListener,
    ) -> None:
        self.settings = settings
        self.database = database
        self.notifier = notifier
        self.on_change = on_change
        self.holder = outbox.holder_id()
        self.clients = dicomweb_clients(settings)
        self.monitor = HealthMonitor(settings, self.clients)
        self.health = self.monitor.health
        self.check = self.monitor.check
        self.check_or_raise = self.monitor.check_or_raise
        self.sender = Sender(
            settings=settings, storage=storage, clients=self.clients, holder=self.holder
        )
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
        await close_all(self.clients.values())

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

    async def changed(self, session: AsyncSession, job: ForwardJob) -> None:
        """Tell the layer above about the job's state, commit, then deliver what it said to."""
        dispatch = await self.on_change(
            session,
            JobChange(
                job_id=job.id,
                upload_id=job.upload_id,
                destination=job.destination,
                state=job.state,
                error=job.last_error,
            ),
        )
        await session.commit()
        await self.notifier.deliver(dispatch)

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
            await self.changed(session, job)  # the upload is being forwarded now
            upload = await session.get(Upload, job.upload_id)
            assert upload is not None
            dest = self.settings.destinations.get(job.destination)
            if dest is None or not dest.configured:
                await self._finish(session, job, JobState.dead, "destination not configured")
                return
            if not await self.check(job.destination):
                await self._postpone(
                    session, job, "PACS unreachable (health check)", count_attempt=False
                )
                return
            attempt = await self.sender.send(session, job, upload, dest)
            if attempt.outcome is Outcome.lease_lost:
                return  # another worker owns the job now
            if attempt.outcome is Outcome.delivered:
                await self._finish(session, job, JobState.delivered, None)
            elif attempt.outcome is Outcome.refused:
                await self._finish(session, job, JobState.dead, attempt.error)
            else:
                await self._postpone(
                    session, job, attempt.error or "", retry_after=attempt.retry_after
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
        decision = policy.after_failure(
            self.settings, job, now, count_attempt=count_attempt, retry_after=retry_after
        )
        if decision.action is policy.Action.fall_back:
            await self._fall_back(session, job)
        elif decision.action is policy.Action.give_up:
            await self._finish(session, job, JobState.dead, f"{decision.reason}: {error}")
        else:
            assert decision.next_attempt_at is not None  # a retry always says when
            states.check(job.state, JobState.pending)
            job.state = JobState.pending
            job.locked_by = job.locked_until = None
            job.next_attempt_at = decision.next_attempt_at
            await session.commit()

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
        states.check(job.state, JobState.superseded)
        job.state = JobState.superseded
        job.locked_by = job.locked_until = None
        log.warning(
            "pacs_fallback",
            job_id=str(job.id),
            fallback_job_id=str(fallback.id),
            destination=job.destination,
            fallback=self.settings.fallback_pacs,
        )
        await self.changed(session, job)
        self.wake()

    async def _finish(
        self, session: AsyncSession, job: ForwardJob, state: JobState, error: str | None
    ) -> None:
        states.check(job.state, state)
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
        # The upload's state, its report and the notifications are written in the same
        # transaction as the delivery (or the dead letter): none can be lost in between.
        await self.changed(session, job)
        log.info(
            "forward_job_finished",
            job_id=str(job.id),
            destination=job.destination,
            state=state.value,
        )
        if state is JobState.dead:
            metrics.PACS_FAILURES.labels(job.destination, "dead_letter").inc()
