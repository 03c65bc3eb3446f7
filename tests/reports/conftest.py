"""Helpers for report tests: a recorded delivery (study rows, outbox job, items, receipt)
for an upload, so the PDF's delivery receipt has something to show without a PACS."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import FastAPI
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from relaypacs.core.database import utcnow
from relaypacs.pacs.models import (
    ForwardItem,
    ForwardJob,
    ForwardReceipt,
    ItemState,
    JobRole,
    JobState,
)
from relaypacs.uploads.models import Instance, Series, Study, Upload


@dataclass
class DeliveryFixture:
    job_id: uuid.UUID
    receipt_id: uuid.UUID
    received_at: datetime


async def make_delivery(
    app: FastAPI,
    *,
    upload_id: uuid.UUID,
    destination: str = "orthanc",
    stored: int = 3,
    failed: int = 0,
    duration_ms: int = 1500,
) -> DeliveryFixture:
    """Record that `stored` instances of the upload reached `destination` (and `failed`
    were refused), as the forwarder does."""
    async with app.state.database.sessionmaker() as session:
        upload = await session.get(Upload, upload_id)
        assert upload is not None
        study = Study(
            upload_id=upload.id,
            study_instance_uid=upload.study_instance_uid or generate_uid(),
            patient_name=upload.patient_name,
            study_date=upload.study_date,
            modality=upload.modality,
            instance_count=stored + failed,
            total_bytes=1000 * (stored + failed),
        )
        session.add(study)
        await session.flush()
        series = Series(
            study_id=study.id,
            series_instance_uid=generate_uid(),
            modality=upload.modality,
            series_number=1,
            instance_count=stored + failed,
        )
        session.add(series)
        await session.flush()
        now = utcnow()
        job = ForwardJob(
            upload_id=upload.id,
            destination=destination,
            role=JobRole.primary,
            state=JobState.delivered,
            attempts=1,
            next_attempt_at=now,
            created_at=now,
            delivered_at=now,
        )
        session.add(job)
        await session.flush()
        sop_uids: list[str] = []
        for number in range(stored + failed):
            instance = Instance(
                series_id=series.id,
                upload_id=upload.id,
                file_index=number,
                sop_instance_uid=generate_uid(),
                sop_class_uid=CTImageStorage,
                instance_number=number + 1,
                transfer_syntax=ExplicitVRLittleEndian,
                has_file_meta=True,
                size=1000,
                sha256=f"{number:064x}",
            )
            session.add(instance)
            await session.flush()
            ok = number < stored
            if ok:
                sop_uids.append(instance.sop_instance_uid)
            session.add(
                ForwardItem(
                    job_id=job.id,
                    instance_id=instance.id,
                    state=ItemState.stored if ok else ItemState.failed,
                    reason=None if ok else "refused",
                )
            )
        started = now - timedelta(milliseconds=duration_ms)
        receipt = ForwardReceipt(
            job_id=job.id,
            upload_id=upload.id,
            destination=destination,
            attempt=1,
            outcome="stored" if not failed else "partial",
            http_status=200 if not failed else 202,
            referenced=sop_uids,
            failed=[{"reason": "refused"}] * failed,
            instances_sent=stored + failed,
            bytes_sent=1000 * (stored + failed),
            started_at=started,
            duration_ms=duration_ms,
            delivered=True,
        )
        session.add(receipt)
        await session.commit()
        return DeliveryFixture(job.id, receipt.id, started + timedelta(milliseconds=duration_ms))
