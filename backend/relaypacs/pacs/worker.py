"""Forwarding workers: claim a job, check the PACS is up, make one delivery attempt, and
apply the retry/fallback policy to what is left. Every change of a job's state is told to
the layer above (`on_change`, see `pacs.handoff`) inside the same transaction."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from relaypacs.core import metrics
from relaypacs.core.cache import Cache
from relaypacs.core.database import Database, execute_dml, utcnow
from relaypacs.core.logging import get_logger
from relaypacs.notifications.service import Notifier
from relaypacs.pacs import conflicts, outbox, policy, states
from relaypacs.pacs.clients import close_all, dicomweb_clients
from relaypacs.pacs.config import PacsSettings
from relaypacs.pacs.delivery import Outcome, Sender
from relaypacs.pacs.handoff import JobChange, JobListener
from relaypacs.pacs.health import HealthMonitor
from relaypacs.pacs.models import ForwardItem, ForwardJob, ForwardReceipt, JobRole, JobState
from relaypacs.uploads import changes as upload_changes
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
        cache: Cache | None = None,
    ) -> None:
        self.settings = settings
        self.lease = timedelta(seconds=settings.forward_lease_seconds)
        self.cache = cache  # where the uploads' generation is kept (see uploads.changes)
        self.database = database
        self.notifier = notifier
        self.on_change = on_change
        self.holder = outbox.holder_id()
        self.clients = dicomweb_clients(settings)
        self.monitor = HealthMonitor(settings, self.clients)
        self.health = self.monitor.health
        self.check = self.monitor.check
        self.sender = Sender(
            settings=settings, storage=storage, clients=self.clients, holder=self.holder
        )
        self._gauges_at = 0.0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        metrics.initialise_destinations(self.settings.destinations)
        if self.settings.forward_workers and self.settings.pacs_health_probe_seconds:
            probing = self.monitor.probe_forever(
                self.settings.watched_destinations, self.settings.pacs_health_probe_seconds
            )
            self._tasks.append(asyncio.create_task(probing, name="pacs-health"))
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
                job_id = await outbox.claim(self.database, holder=self.holder, lease=self.lease)
                if job_id is not None:
                    await self.process(job_id)
                    if asyncio.get_running_loop().time() - self._gauges_at > 5:
                        await self._update_queue_gauge()  # kept fresh under load too
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
        self._gauges_at = asyncio.get_running_loop().time()
        async with self.database.sessionmaker() as session:
            depth = await outbox.queue_depth(session)
            oldest = await outbox.oldest_open(session)
            dead = await outbox.dead_letters(session)
        now = utcnow()
        for name in self.settings.destinations:
            metrics.PACS_QUEUE_DEPTH.labels(name).set(depth.get(name, 0))
            metrics.PACS_DEAD_LETTERS.labels(name).set(dead.get(name, 0))
            since = oldest.get(name)
            age = (now - since).total_seconds() if since is not None else 0.0
            metrics.PACS_QUEUE_OLDEST.labels(name).set(max(0.0, age))

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
        await upload_changes.changed(self.cache)  # the upload's state may have followed
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
        """Renew the lease while working; if it was lost, stop: the job is someone else's.
        A failed renewal (a database blip) is tried again at the next beat; should the
        lease run out meanwhile, the final compare-and-set refuses this worker's result."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 4)
            try:
                async with self.database.sessionmaker() as session:
                    held = await outbox.renew(
                        session, job_id=job_id, holder=self.holder, lease=self.lease
                    )
            except Exception:
                log.warning("forward_job_lease_renewal_failed", job_id=str(job_id), exc_info=True)
                continue
            if not held:
                work.cancel()
                return

    async def _process(self, job_id: uuid.UUID) -> None:
        async with self.database.sessionmaker() as session:
            job = await session.get(ForwardJob, job_id)
            if job is None or job.state is not JobState.sending or job.locked_by != self.holder:
                return
            try:
                await self._attempt(session, job)
            except Exception as exc:
                # A bug or an outage in what follows a delivery must not leave the job
                # claimed for ever (re-sent at every lease expiry): it is retried with
                # backoff, as an attempt, and dead-lettered when attempts run out.
                log.exception("forward_job_failed", job_id=str(job_id))
                await session.rollback()
                await self._after_error(session, job_id, exc)

    async def _attempt(self, session: AsyncSession, job: ForwardJob) -> None:
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
        if job.destination in self.clients:
            # Asked again here: the PACS may not have answered at completion.
            try:
                conflict = await conflicts.conflict_before_sending(
                    session,
                    client=self.clients[job.destination],
                    upload=upload,
                    destination=job.destination,
                )
            except (httpx.HTTPError, ValueError) as exc:
                await self._postpone(session, job, f"study check failed: {type(exc).__name__}")
                return
            if conflict:
                await self._finish(session, job, JobState.dead, conflict)
                return
        attempt = await self.sender.send(session, job, upload, dest)
        if attempt.outcome is Outcome.lease_lost:
            return  # another worker owns the job now
        if attempt.outcome is Outcome.delivered:
            await self._finish(session, job, JobState.delivered, None)
        elif attempt.outcome is Outcome.refused:
            await self._finish(session, job, JobState.dead, attempt.error)
        else:
            await self._postpone(session, job, attempt.error or "", retry_after=attempt.retry_after)

    async def _settle(
        self, session: AsyncSession, job: ForwardJob, state: JobState, **values: Any
    ) -> bool:
        """Compare-and-set: move this worker's `sending` job to `state` (with `values`).
        False, with nothing written, when the job is no longer this worker's."""
        states.check(JobState.sending, state)
        fields: dict[str, Any] = {"state": state, "locked_by": None, "locked_until": None}
        fields |= values
        job_id = job.id
        moved = await execute_dml(
            session,
            update(ForwardJob)
            .where(
                ForwardJob.id == job_id,
                ForwardJob.state == JobState.sending,
                ForwardJob.locked_by == self.holder,
            )
            .values(**fields)
            .execution_options(synchronize_session=False),
        )
        if moved != 1:
            await session.rollback()  # expires `job`: the caller must not use it now
            log.warning("forward_job_lease_lost", job_id=str(job_id), state=state.value)
            return False
        for key, value in fields.items():
            set_committed_value(job, key, value)
        return True

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
        failed = {"last_error": error[:500], "first_failure_at": job.first_failure_at or now}
        decision = policy.after_failure(
            self.settings, job, now, count_attempt=count_attempt, retry_after=retry_after
        )
        if decision.action is policy.Action.fall_back:
            await self._fall_back(session, job, **failed)
        elif decision.action is policy.Action.give_up:
            await self._finish(
                session,
                job,
                JobState.dead,
                f"{decision.reason}: {error}",
                first_failure_at=failed["first_failure_at"],
            )
        elif await self._settle(
            session, job, JobState.pending, next_attempt_at=decision.next_attempt_at, **failed
        ):
            await session.commit()
            metrics.FORWARD_JOBS.labels(job.destination, "retry").inc()

    async def _fall_back(self, session: AsyncSession, job: ForwardJob, **failed: Any) -> None:
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
        # The fallback job is written only if this worker still owns the primary.
        if not await self._settle(session, job, JobState.superseded, **failed):
            return
        metrics.FORWARD_JOBS.labels(job.destination, "superseded").inc()
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
        self,
        session: AsyncSession,
        job: ForwardJob,
        state: JobState,
        error: str | None,
        **values: Any,
    ) -> None:
        values["last_error"] = error[:500] if error else None
        if state is JobState.delivered:
            values["delivered_at"] = utcnow()
        if not await self._settle(session, job, state, **values):
            return
        if state is JobState.delivered:
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
        metrics.FORWARD_JOBS.labels(job.destination, state.value).inc()
        if state is JobState.dead:
            metrics.PACS_FAILURES.labels(job.destination, "dead_letter").inc()

    async def _after_error(self, session: AsyncSession, job_id: uuid.UUID, exc: Exception) -> None:
        """Give the job back after an unexpected error, counting it as an attempt."""
        try:
            job = await session.get(ForwardJob, job_id, populate_existing=True)
            if job is None:
                return
            destination = job.destination
            attempts = job.attempts + 1
            error = f"internal error: {type(exc).__name__}"
            if attempts >= self.settings.forward_max_attempts:
                # Not told upwards: that may be what keeps failing. An admin can retry it.
                if await self._settle(
                    session, job, JobState.dead, attempts=attempts, last_error=error
                ):
                    await session.commit()
                    metrics.FORWARD_JOBS.labels(destination, "dead").inc()
                    metrics.PACS_FAILURES.labels(destination, "dead_letter").inc()
                    log.error("forward_job_dead_after_errors", job_id=str(job_id))
                return
            retry_at = utcnow() + policy.backoff(self.settings, attempts)
            if await self._settle(
                session,
                job,
                JobState.pending,
                attempts=attempts,
                last_error=error,
                next_attempt_at=retry_at,
            ):
                await session.commit()
                metrics.FORWARD_JOBS.labels(destination, "retry").inc()
        except Exception:
            log.exception("forward_job_release_failed", job_id=str(job_id))
