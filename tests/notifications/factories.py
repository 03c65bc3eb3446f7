"""Rows for notification tests, written straight to a database (the gateway under test may
be another process): users, and a delivered upload with its ASSIGNED report."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any, cast

from fastapi import FastAPI

from relaypacs.core.database import Database, utcnow
from relaypacs.core.service_levels import priority
from relaypacs.reports.models import Report, ReportStatus
from relaypacs.uploads.models import Upload, UploadState
from tests import phi_scan
from tests.factories import UserFixture, create_user

_counter = itertools.count(1)


def as_app(database: Database) -> FastAPI:
    """`tests.factories` builders take an app only for `app.state.database`."""
    return cast(FastAPI, SimpleNamespace(state=SimpleNamespace(database=database)))


async def create_user_in(database: Database, **kwargs: Any) -> UserFixture:
    return await create_user(as_app(database), **kwargs)


async def create_report(
    database: Database,
    *,
    uploader: UserFixture,
    modality: str = "CT",
    service_level: str = "ROUTINE",
    status: ReportStatus = ReportStatus.assigned,
) -> uuid.UUID:
    """A forwarded upload of `uploader` and its report (no stream events: nothing is
    announced, so a test sees only the events its own changes make). Returns the report id."""
    _, report_id = await create_delivered(
        database, uploader=uploader, modality=modality, service_level=service_level, status=status
    )
    return report_id


async def create_delivered(
    database: Database,
    *,
    uploader: UserFixture,
    modality: str = "CT",
    service_level: str = "ROUTINE",
    status: ReportStatus = ReportStatus.assigned,
) -> tuple[uuid.UUID, uuid.UUID]:
    """Like `create_report`; returns (upload id, report id)."""
    n = next(_counter)
    now = utcnow()
    study_uid = f"1.2.826.0.1.3680043.10.999.{uuid.uuid4().int % 10**12}.{n}"
    upload = Upload(
        id=uuid.uuid4(),
        user_id=uploader.id,
        facility_id=uploader.facility_id,
        facility=uploader.facility,
        patient_name=phi_scan.registered_name(f"Doe^Patient{n}"),
        study_date=date(2026, 11, 1),
        modality=modality,
        service_level=service_level,
        chunk_size=1024 * 1024,
        file_count=1,
        total_bytes=1024,
        state=UploadState.forwarded,
        duplicate_key=hashlib.sha256(study_uid.encode()).hexdigest(),
        upload_token_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        expires_at=now + timedelta(days=1),
        created_at=now,
        completed_at=now,
        study_instance_uid=study_uid,
    )
    report = Report(
        id=uuid.uuid4(),
        upload_id=upload.id,
        uploader_id=uploader.id,
        facility_id=uploader.facility_id,
        facility=uploader.facility,
        study_instance_uid=study_uid,
        patient_name=upload.patient_name,
        study_date=upload.study_date,
        modality=modality,
        service_level=service_level,
        priority=priority(service_level),
        destination="orthanc",
        status=status,
        created_at=now,
        updated_at=now,
    )
    async with database.sessionmaker() as session:
        session.add(upload)
        await session.flush()
        session.add(report)
        await session.commit()
    return upload.id, report.id
