"""Duplicate-study detection: the same patient, study date and modality sent again within
DUPLICATE_WINDOW_DAYS is refused (409 duplicate_study) unless forced."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import timedelta
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.auth.models import User
from relaypacs.core.config import CoreSettings
from relaypacs.core.database import utcnow
from relaypacs.core.permissions import Permission, has_permission
from relaypacs.uploads.errors import DuplicateStudy
from relaypacs.uploads.models import Upload, UploadState

# States of an upload that still counts for duplicate detection.
LIVE_STATES = (
    UploadState.uploading,
    UploadState.processing,
    UploadState.queued,
    UploadState.forwarding,
    UploadState.forwarded,
)


def normalize_person_name(name: str) -> str:
    """DICOM PN and free text compare equal: case, '^' separators and spacing ignored."""
    return re.sub(r"[\s^=]+", " ", name).strip().casefold()


def duplicate_key(patient_name: str, study_date: str, modality: str) -> str:
    material = f"{normalize_person_name(patient_name)}|{study_date}|{modality.upper()}"
    return hashlib.sha256(material.encode()).hexdigest()


async def find_duplicate(
    session: AsyncSession, *, settings: CoreSettings, key: str, exclude: uuid.UUID | None = None
) -> Upload | None:
    since = utcnow() - timedelta(days=settings.duplicate_window_days)
    query = (
        select(Upload)
        .where(
            Upload.duplicate_key == key,
            Upload.created_at >= since,
            Upload.state.in_(LIVE_STATES),
        )
        .order_by(Upload.created_at.desc())
        .limit(1)
    )
    if exclude is not None:
        query = query.where(Upload.id != exclude)
    return await session.scalar(query)


async def refuse_duplicate(
    session: AsyncSession, *, earlier: Upload, user: User, ip: str | None
) -> NoReturn:
    """409 duplicate_study, audited. The earlier upload is named only to whoever may see
    it (its sender, or an admin): to anyone else a match says only that the study was
    sent from elsewhere, so guessing name, date and modality reveals no upload."""
    visible = earlier.user_id == user.id or has_permission(user.role, Permission.upload_read_all)
    audit.record(
        session,
        action="duplicate_detected",
        outcome="denied",
        actor_id=user.id,
        target_type="upload",
        target_id=earlier.id if visible else None,
        ip=ip,
        details={"visible": visible},
    )
    await session.commit()
    if not visible:
        raise DuplicateStudy(
            "A matching study (same patient, date and modality) was sent recently from "
            "elsewhere; send it anyway with force_upload if this is a different study.",
            duplicate_of={"yours": False},
        )
    raise DuplicateStudy(
        duplicate_of={
            "upload_id": str(earlier.id),
            "created_at": earlier.created_at.isoformat(),
            "state": earlier.state.value,
            "yours": earlier.user_id == user.id,
        }
    )
