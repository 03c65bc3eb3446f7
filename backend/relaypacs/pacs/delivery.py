"""One delivery attempt: send a job's pending instances in bounded batches, read each
answer, then verify with QIDO-RS that the PACS holds them all."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

import anyio.to_thread
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.core import metrics
from relaypacs.core.database import utcnow
from relaypacs.pacs import outbox
from relaypacs.pacs.config import DestinationSettings, PacsSettings, PacsType
from relaypacs.pacs.dicomweb import DicomWeb
from relaypacs.pacs.instances import StoredInstance, batches
from relaypacs.pacs.models import ForwardItem, ForwardJob, ForwardReceipt, ItemState
from relaypacs.pacs.stow import StowResult
from relaypacs.uploads.models import Instance, Upload, UploadFile
from relaypacs.uploads.storage import Storage


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


class Sender:
    def __init__(
        self, *, settings: PacsSettings, storage: Storage, clients: dict[str, DicomWeb], holder: str
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.clients = clients
        self.holder = holder

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

    async def send(
        self, session: AsyncSession, job: ForwardJob, upload: Upload, dest: DestinationSettings
    ) -> Attempt:
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
                return Attempt(Outcome.lease_lost)
        left = await self._pending(session, job, upload)
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

    async def _verify(self, session: AsyncSession, job: ForwardJob, upload: Upload) -> Attempt:
        """QIDO-RS: the PACS must hold every instance sent; missing ones go out again."""
        try:
            held = await self.clients[job.destination].study_instance_uids(
                upload.study_instance_uid or ""
            )
        except Exception as exc:  # noqa: BLE001 - retried later whatever went wrong
            return Attempt(Outcome.incomplete, f"verification failed: {type(exc).__name__}")
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
