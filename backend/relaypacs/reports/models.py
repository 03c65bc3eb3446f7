from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from relaypacs.core.database import Base, utcnow


class ReportStatus(StrEnum):
    assigned = "ASSIGNED"  # in the reading queue (with or without a named radiologist)
    pending = "PENDING"  # a radiologist is reporting it
    ready = "READY"
    additional_data_required = "ADDITIONAL_DATA_REQUIRED"


class SyncWarningCode(StrEnum):
    """Why the sync did not attach a report instance it found for the study."""

    patient_id_mismatch = "patient_id_mismatch"
    patient_name_mismatch = "patient_name_mismatch"
    # The upload was recorded before its PatientID was kept: nothing to compare with.
    patient_identity_unknown = "patient_identity_unknown"


class Report(Base):
    """One per delivered upload; the study fields are copied so the queue filters and sorts
    without joining the upload tables."""

    __tablename__ = "report"
    __table_args__ = (
        Index("ix_report_status_created_at", "status", "created_at"),
        # The readers' default order (priority, then the longest waiting).
        Index("ix_report_priority_created_at", "priority", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    upload_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("upload.id", ondelete="CASCADE"), unique=True
    )
    uploader_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id"), index=True)
    # The uploader's facility when the study was sent (None: no facility membership then);
    # the name is kept as it was, for display.
    facility_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("facility.id"), index=True)
    facility: Mapped[str | None] = mapped_column(String(200), index=True)
    study_instance_uid: Mapped[str] = mapped_column(String(64), index=True)
    patient_name: Mapped[str] = mapped_column(String(200))
    study_date: Mapped[date]
    modality: Mapped[str] = mapped_column(String(16), index=True)
    service_level: Mapped[str] = mapped_column(String(16), index=True)
    # STAT 0, EMERGENCY 1, ROUTINE 2: the radiologist's default view sorts on it first.
    priority: Mapped[int] = mapped_column(Integer)
    destination: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[ReportStatus] = mapped_column(
        Enum(ReportStatus, name="report_status", native_enum=False, length=32)
    )
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user.id"), index=True)
    findings: Mapped[str | None] = mapped_column(Text)
    impression: Mapped[str | None] = mapped_column(Text)
    additional_data_message: Mapped[str | None] = mapped_column(Text)
    # What the PACS sync found: an SR's text or an encapsulated PDF.
    pacs_report_kind: Mapped[str | None] = mapped_column(String(8))
    pacs_report_sop_instance_uid: Mapped[str | None] = mapped_column(String(64))
    pacs_report_text: Mapped[str | None] = mapped_column(Text)
    # The latest report instance the sync found but did not attach, because its patient
    # identity differs from the upload's (a `reports.schemas.SyncWarningCode`).
    sync_warning_code: Mapped[str | None] = mapped_column(String(32))
    sync_warning_sop_instance_uid: Mapped[str | None] = mapped_column(String(64))
    sync_warning_at: Mapped[datetime | None]
    last_synced_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    ready_at: Mapped[datetime | None]
    reported_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user.id"))


class ReportAttachment(Base):
    """A PDF report found on the PACS (encapsulated PDF), kept apart from the queue rows."""

    __tablename__ = "report_attachment"

    report_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("report.id", ondelete="CASCADE"), primary_key=True
    )
    media_type: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportNote(Base):
    """A message on a report: the radiologist's request, the clinician's answer (optionally
    naming a new upload with the additional images)."""

    __tablename__ = "report_note"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    report_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("report.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id"))
    body: Mapped[str] = mapped_column(Text)
    upload_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("upload.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
