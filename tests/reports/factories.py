"""Reports for API tests: a real Upload row, then `reports.service.create_for_upload` (what
the forwarder calls when a study reaches its PACS), then optional direct edits of the row
(status, dates) to set up a scenario without going through the workflow."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from relaypacs.core.database import utcnow
from relaypacs.notifications.service import Dispatch
from relaypacs.reports import service as reports_service
from relaypacs.reports.models import Report, ReportStatus
from relaypacs.uploads.models import Upload, UploadState
from tests import phi_scan
from tests.factories import UserFixture

_counter = itertools.count(1)


@dataclass
class ReportFixture:
    id: uuid.UUID
    upload_id: uuid.UUID
    dispatch: Dispatch


async def make_upload(
    app: FastAPI,
    *,
    user: UserFixture,
    service_level: str = "ROUTINE",
    modality: str = "CT",
    study_date: date = date(2026, 1, 15),
    patient_name: str | None = None,
    state: UploadState = UploadState.forwarded,
) -> uuid.UUID:
    n = next(_counter)
    patient_name = patient_name or f"Patient^{n}"
    phi_scan.register_person_name(patient_name)
    upload = Upload(
        id=uuid.uuid4(),
        user_id=user.id,
        facility_id=user.facility_id,
        facility=user.facility,
        patient_name=patient_name,
        study_date=study_date,
        modality=modality,
        service_level=service_level,
        chunk_size=1024 * 1024,
        file_count=1,
        total_bytes=1000,
        state=state,
        duplicate_key=f"{n:064d}",
        force_upload=True,
        upload_token_hash=f"{n:064x}",
        expires_at=utcnow() + timedelta(days=1),
        study_instance_uid=f"1.2.826.0.1.3680043.8.498.{n}",
        created_at=utcnow(),
    )
    async with app.state.database.sessionmaker() as session:
        session.add(upload)
        await session.commit()
    return upload.id


async def make_report(
    app: FastAPI,
    *,
    user: UserFixture,
    service_level: str = "ROUTINE",
    modality: str = "CT",
    study_date: date = date(2026, 1, 15),
    patient_name: str | None = None,
    created_at: datetime | None = None,
    status: ReportStatus | None = None,
    **fields: Any,
) -> ReportFixture:
    """A report opened for a new upload by `user`, as on delivery to the PACS."""
    upload_id = await make_upload(
        app,
        user=user,
        service_level=service_level,
        modality=modality,
        study_date=study_date,
        patient_name=patient_name,
    )
    async with app.state.database.sessionmaker() as session:
        dispatch = await reports_service.create_for_upload(
            session, upload_id=upload_id, destination="orthanc"
        )
        await session.commit()
        report = await session.scalar(select(Report).where(Report.upload_id == upload_id))
        assert report is not None
        if created_at is not None:
            report.created_at = created_at
        if status is not None:
            report.status = status
        for name, value in fields.items():
            setattr(report, name, value)
        await session.commit()
        return ReportFixture(report.id, upload_id, dispatch)
