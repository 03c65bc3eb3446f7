"""One delivery attempt: send a job's pending instances in bounded batches, read each
answer, then verify with QIDO-RS that the PACS holds them all."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import anyio.to_thread
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.core import metrics
from relaypacs.core.database import utcnow
from relaypacs.core.logging import get_logger
from relaypacs.pacs import outbox, pending
from relaypacs.pacs.config import DestinationSettings, PacsSettings, PacsType
from relaypacs.pacs.dicomweb import DicomWeb
from relaypacs.pacs.instances import StoredInstance, batches
from relaypacs.pacs.models import ForwardItem, ForwardJob, ForwardReceipt, ItemState
from relaypacs.pacs.stow import StowResult
from relaypacs.pacs.verify import StoredDataCorrupt
from relaypacs.uploads.models import Instance, Upload
from relaypacs.uploads.storage import Storage

log = get_logger("relaypacs.pacs")


class Outcome(StrEnum):
    delivered = "delivered"  # every instance stored (and verified, when enabled)
    refused = "refused"  # the PACS refused an instance for good
    incomplete = "incomplete"  # something is left to send: try again later
    lease_lost = "lease_lost"  # another worker owns the job now: leave it alone


@dataclass(frozen=True, slots=True)
class Attempt:
    outcome: Outcome
    error: str | None = None
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class _Sent:
    """One batch's request, done: the PACS's answer, or the stored data that failed."""

    started: datetime
    elapsed: float
    result: StowResult | None
    corrupt: StoredDataCorrupt | None
    error: Exception | None = None  # anything else (stored data missing, a bug)


class Sender:
    def __init__(
        self, *, settings: PacsSettings, storage: Storage, clients: dict[str, DicomWeb], holder: str
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.clients = clients
        self.holder = holder

    async def send(
        self, session: AsyncSession, job: ForwardJob, upload: Upload, dest: DestinationSettings
    ) -> Attempt:
        job.attempts += 1
        await session.commit()
        study_uid = upload.study_instance_uid or ""
        retry_after: float | None = None
        after, stopped = -1, False
        # DICOMweb: up to stow_in_flight requests at once (the PACS stores one batch while
        # the next is read and sent); their answers are recorded in order, one at a time.
        depth = dest.stow_in_flight if dest.type is PacsType.dicomweb else 1
        failure: Exception | None = None
        ready: deque[list[StoredInstance]] = deque()  # batches of the page loaded last
        in_flight: deque[tuple[list[StoredInstance], asyncio.Task[_Sent]]] = deque()
        try:
            while True:
                while not stopped and len(in_flight) < depth:
                    if not ready:
                        page = await pending.page(
                            session, self.storage, job, upload, after, dest.batch_max_instances
                        )
                        if not page:
                            stopped = True
                            break
                        after = page[-1].file.index
                        ready.extend(batches(dest, page))
                    batch = ready.popleft()
                    sending = self._timed_store(job, dest, study_uid, batch)
                    in_flight.append((batch, asyncio.create_task(sending)))
                if not in_flight:
                    break
                batch, task = in_flight.popleft()
                sent = await task
                if sent.error is not None:
                    # Raised once the requests already out have had their answers recorded:
                    # a batch they stored must not go again at the next attempt.
                    failure, stopped = failure or sent.error, True
                    continue
                result = await self._record(session, job, upload, dest, study_uid, batch, sent)
                if result.transport_retryable and not (
                    result.referenced or result.failed or result.corrupt
                ):
                    # Send no more; the requests already out still get their answers.
                    retry_after, stopped = result.retry_after, True
                if not await outbox.renew(session, job_id=job.id, holder=self.holder):
                    return Attempt(Outcome.lease_lost)
        finally:
            for _, task in in_flight:  # lease lost, or cancelled: nothing left running
                task.cancel()
            if in_flight:
                await asyncio.gather(*(task for _, task in in_flight), return_exceptions=True)
        if failure is not None:
            raise failure
        left = await pending.count(session, job)
        failed = (
            await session.scalars(
                select(ForwardItem.reason).where(
                    ForwardItem.job_id == job.id, ForwardItem.state == ItemState.failed
                )
            )
        ).all()
        if failed:
            return Attempt(Outcome.refused, f"{len(failed)} instance(s) refused: {failed[0]}")
        if left:
            return Attempt(
                Outcome.incomplete,
                job.last_error or "instances left to send",
                retry_after=retry_after,
            )
        if self.settings.forward_verify and dest.type is PacsType.dicomweb:
            return await self._verify(session, job, upload)
        return Attempt(Outcome.delivered)

    async def _send_batch(
        self,
        session: AsyncSession,
        job: ForwardJob,
        upload: Upload,
        dest: DestinationSettings,
        study_uid: str,
        batch: list[StoredInstance],
    ) -> StowResult:
        sent = await self._timed_store(job, dest, study_uid, batch)
        return await self._record(session, job, upload, dest, study_uid, batch, sent)

    async def _timed_store(
        self,
        job: ForwardJob,
        dest: DestinationSettings,
        study_uid: str,
        batch: list[StoredInstance],
    ) -> _Sent:
        """Send one batch (no database work: several may run at once)."""
        started, clock = utcnow(), time.perf_counter()
        try:
            result = await self._store(job, dest, study_uid, batch)
        except StoredDataCorrupt as exc:
            return _Sent(started, time.perf_counter() - clock, None, exc)
        except Exception as exc:  # noqa: BLE001 - raised once the others' answers are recorded
            return _Sent(started, time.perf_counter() - clock, None, None, exc)
        return _Sent(started, time.perf_counter() - clock, result, None)

    async def _record(
        self,
        session: AsyncSession,
        job: ForwardJob,
        upload: Upload,
        dest: DestinationSettings,
        study_uid: str,
        batch: list[StoredInstance],
        sent: _Sent,
    ) -> StowResult:
        """Record one batch's answer: its items' states, a receipt, the metrics."""
        if sent.corrupt is not None:
            # Nothing of this request reached the PACS whole: refuse the file whose stored
            # bytes changed, send the rest of the batch again without it.
            exc = sent.corrupt
            bad = [i for i in batch if i.file.index == exc.file_index]
            await self._refuse_corrupt(session, job, upload, bad, exc)
            rest = [i for i in batch if i.file.index != exc.file_index]
            if rest and bad:
                return await self._send_batch(session, job, upload, dest, study_uid, rest)
            return StowResult(
                http_status=None, corrupt=[i.sop_instance_uid for i in bad], error=str(exc)
            )
        assert sent.result is not None
        result, started, elapsed = sent.result, sent.started, sent.elapsed
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
        # DIMSE: an instance not sent (its stored bytes changed) while the others were;
        # refused once their answers are committed, so none of those can be lost.
        for integrity in result.integrity_failures:
            assert isinstance(integrity, StoredDataCorrupt)
            bad = [i for i in batch if i.file.index == integrity.file_index]
            await self._refuse_corrupt(session, job, upload, bad, integrity)
        return result

    async def _store(
        self,
        job: ForwardJob,
        dest: DestinationSettings,
        study_uid: str,
        batch: list[StoredInstance],
    ) -> StowResult:
        try:
            for item in batch:
                await anyio.to_thread.run_sync(item.prepare)
            if dest.type is PacsType.dimse:
                from relaypacs.pacs import dimse

                return await anyio.to_thread.run_sync(dimse.c_store, dest, batch)
            return await self.clients[job.destination].store(study_uid, batch)
        finally:
            for item in batch:
                item.discard()

    async def _refuse_corrupt(
        self,
        session: AsyncSession,
        job: ForwardJob,
        upload: Upload,
        items: list[StoredInstance],
        exc: StoredDataCorrupt,
    ) -> None:
        """Stored bytes that no longer match what was acknowledged are never sent: the
        instance is refused (the uploader is told, and can send the study again)."""
        reason = f"{exc}; send the study again"
        await self._set_items(session, job, items, ItemState.failed, reason[:300])
        metrics.PACS_FAILURES.labels(job.destination, "stored_data_corrupt").inc()
        log.error(
            "stored_data_corrupt",
            upload_id=str(upload.id),
            job_id=str(job.id),
            file=exc.file_index,
            chunk=exc.chunk_index,
        )
        job.last_error = reason[:500]
        session.add(
            ForwardReceipt(
                job_id=job.id,
                upload_id=upload.id,
                destination=job.destination,
                attempt=job.attempts,
                outcome="failed",
                http_status=None,
                referenced=[],
                failed=[],
                retrieve_url=None,
                instances_sent=0,
                bytes_sent=0,
                error=reason[:500],
                started_at=utcnow(),
                duration_ms=0,
            )
        )
        await session.commit()

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

    async def _verify(self, session: AsyncSession, job: ForwardJob, upload: Upload) -> Attempt:
        """QIDO-RS: the PACS must hold every instance sent; missing ones go out again.

        Count first: when the study holds exactly as many instances as the job sent (each
        of them acknowledged by its STOW answer), one study-level query settles it. Any
        other count (fewer; or more, the study having instances from elsewhere) or none
        given, and every SOP Instance UID is looked up. What the count cannot see: as many
        instances of ours lost, despite their STOW answers, as the study holds from
        elsewhere."""
        client = self.clients[job.destination]
        study_uid = upload.study_instance_uid or ""
        expected = await pending.count(session, job, state=None)
        try:
            if await client.study_instance_count(study_uid) == expected:
                metrics.PACS_VERIFICATIONS.labels(job.destination, "count").inc()
                return Attempt(Outcome.delivered)
            held = await client.study_instance_uids(study_uid)
        except Exception as exc:  # noqa: BLE001 - retried later whatever went wrong
            return Attempt(Outcome.incomplete, f"verification failed: {type(exc).__name__}")
        metrics.PACS_VERIFICATIONS.labels(job.destination, "instances").inc()
        rows = (
            await session.execute(
                select(ForwardItem.instance_id, Instance.sop_instance_uid)
                .join(Instance, Instance.id == ForwardItem.instance_id)
                .where(ForwardItem.job_id == job.id)
            )
        ).all()
        missing = [instance_id for instance_id, uid in rows if uid not in held]
        if not missing:
            return Attempt(Outcome.delivered)
        await session.execute(
            update(ForwardItem)
            .where(ForwardItem.job_id == job.id, ForwardItem.instance_id.in_(missing))
            .values(state=ItemState.pending, reason="not found by QIDO-RS after STOW")
            .execution_options(synchronize_session=False)
        )
        metrics.PACS_FAILURES.labels(job.destination, "verification").inc()
        return Attempt(
            Outcome.incomplete, f"{len(missing)} of {len(rows)} instances not found on the PACS"
        )
