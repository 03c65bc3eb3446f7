from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from relaypacs.core.pagination import Page
from relaypacs.core.service_levels import ServiceLevel
from relaypacs.core.strict import NO_NUL, RequestModel
from relaypacs.reports.models import ReportStatus

ReportSort = Literal["date", "-date", "status", "-status", "modality", "-modality", "priority"]
Text = Annotated[str, Field(max_length=20_000, pattern=NO_NUL)]


class ReportNoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    author_id: uuid.UUID
    body: str
    upload_id: uuid.UUID | None
    created_at: datetime


class ReportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    upload_id: uuid.UUID
    uploader_id: uuid.UUID
    facility_id: uuid.UUID | None
    facility: str | None
    study_instance_uid: str
    patient_name: str
    study_date: date
    modality: str
    service_level: ServiceLevel
    destination: str | None
    status: ReportStatus
    assignee_id: uuid.UUID | None
    findings: str | None
    impression: str | None
    additional_data_message: str | None
    pacs_report_kind: str | None
    pacs_report_text: str | None
    reported_by_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    ready_at: datetime | None
    last_synced_at: datetime | None


class ReportDetail(ReportRead):
    notes: list[ReportNoteRead]
    has_pdf_attachment: bool


class ReportPage(Page[ReportRead]):
    """One page of ReportRead items."""


class ReportUpdate(RequestModel):
    """Findings and impression (radiologists and admins)."""

    findings: Text | None = None
    impression: Text | None = None


class StatusChange(RequestModel):
    status: ReportStatus
    # Required with ADDITIONAL_DATA_REQUIRED: what the clinician should send.
    message: Annotated[str | None, Field(max_length=5_000, pattern=NO_NUL)] = None


class Assignment(RequestModel):
    # Omit to assign to yourself.
    assignee_id: uuid.UUID | None = None


class NoteCreate(RequestModel):
    body: Annotated[str, Field(min_length=1, max_length=5_000, pattern=NO_NUL)]
    # A new upload with the additional images, made by the same user.
    upload_id: uuid.UUID | None = None
