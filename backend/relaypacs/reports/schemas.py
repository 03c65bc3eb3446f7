from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from relaypacs.core.pagination import Page
from relaypacs.core.service_levels import ServiceLevel
from relaypacs.core.strict import NO_NUL, RequestModel
from relaypacs.reports.models import ReportStatus, SyncWarningCode

# `priority`: the reading queue (STAT, then EMERGENCY, then ROUTINE, each oldest first), the
# default for those who read reports. The others break ties newest first.
ReportSort = Literal[
    "priority",
    "date",
    "-date",
    "status",
    "-status",
    "modality",
    "-modality",
    "service_level",
    "-service_level",
]
# `me`: assigned to the caller; `unassigned`: no named radiologist yet.
ReportAssigned = Literal["me", "unassigned"]
Text = Annotated[str, Field(max_length=20_000, pattern=NO_NUL)]


class ReportNoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    author_id: uuid.UUID
    body: str
    upload_id: uuid.UUID | None
    created_at: datetime


SYNC_WARNING_MESSAGES = {
    SyncWarningCode.patient_id_mismatch: "A report in the PACS for this study belongs to "
    "another PatientID than the uploaded images; it was not attached.",
    SyncWarningCode.patient_name_mismatch: "A report in the PACS for this study names another "
    "patient than the uploaded images; it was not attached.",
    SyncWarningCode.patient_identity_unknown: "A report in the PACS for this study could not be "
    "checked against the uploaded images' patient (recorded before PatientIDs were kept); it "
    "was not attached.",
}


class SyncWarning(BaseModel):
    """A report instance the PACS sync found for the study but did not attach, because it
    is not the upload's patient's (radiologists and admins only)."""

    code: SyncWarningCode
    message: str
    sop_instance_uid: str
    detected_at: datetime


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
    # Set only for those who work reports (`report:update`); None for everyone else.
    sync_warning: SyncWarning | None = None


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
