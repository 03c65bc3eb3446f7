"""Upload rows written straight to the database, with the times and states a stats test
needs (the protocol itself is exercised in tests/uploads and the cache tests)."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI

from relaypacs.core.database import utcnow
from relaypacs.uploads.models import Upload, UploadState
from tests.factories import UserFixture

_counter = itertools.count(1)


def upload_row(
    user: UserFixture,
    *,
    created_at: datetime,
    state: UploadState = UploadState.uploading,
    modality: str = "CT",
    service_level: str = "ROUTINE",
    total_bytes: int = 1000,
    upload_seconds: float | None = None,
    delivery_seconds: float | None = None,
    facility_id: uuid.UUID | str | None = "user",
    facility: str | Any | None = "user",
    patient_name: str | None = None,
    expires_at: datetime | None = None,
) -> Upload:
    n = next(_counter)
    completed_at = created_at + timedelta(seconds=upload_seconds) if upload_seconds else None
    forwarded_at = (
        completed_at + timedelta(seconds=delivery_seconds)
        if completed_at and delivery_seconds
        else None
    )
    return Upload(
        id=uuid.uuid4(),
        user_id=user.id,
        facility_id=user.facility_id if facility_id == "user" else facility_id,
        facility=user.facility if facility == "user" else facility,
        patient_name=patient_name or f"Stats^Patient{n}",
        study_date=created_at.date(),
        modality=modality,
        service_level=service_level,
        chunk_size=1024 * 1024,
        file_count=1,
        total_bytes=total_bytes,
        state=state,
        duplicate_key=f"{n:064d}",
        force_upload=True,
        upload_token_hash=f"{n:064x}",
        expires_at=expires_at or max(created_at, utcnow()) + timedelta(days=1),
        created_at=created_at,
        completed_at=completed_at,
        forwarded_at=forwarded_at,
        failed_at=completed_at + timedelta(seconds=5)
        if completed_at and state is UploadState.failed
        else None,
    )


async def seed(app: FastAPI, rows: list[Upload]) -> None:
    async with app.state.database.sessionmaker() as session:
        session.add_all(rows)
        await session.commit()
