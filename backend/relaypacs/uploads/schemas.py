from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from relaypacs.core.config import MAX_CHUNK_SIZE, MAX_UPLOAD_FILES, MIN_CHUNK_SIZE
from relaypacs.core.context import current_settings
from relaypacs.core.pagination import Page
from relaypacs.core.service_levels import ServiceLevel
from relaypacs.core.strict import (
    HAS_TEXT,
    JSON_INT,
    MAX_JSON_INT,
    NO_NUL,
    TRIM,
    IsoDate,
    RequestModel,
    StrictBool,
)
from relaypacs.uploads.models import UploadState

# DICOM modality codes (PS3.3 C.7.3.1.1.1, the defined terms still in use).
MODALITIES = frozenset(
    [
        "AR",
        "ASMT",
        "AU",
        "BDUS",
        "BI",
        "BMD",
        "CR",
        "CT",
        "CTPROTOCOL",
        "DG",
        "DOC",
        "DX",
        "ECG",
        "EPS",
        "ES",
        "FID",
        "GM",
        "HC",
        "HD",
        "IO",
        "IOL",
        "IVOCT",
        "IVUS",
        "KER",
        "KO",
        "LEN",
        "LS",
        "MG",
        "MR",
        "M3D",
        "NM",
        "OAM",
        "OCT",
        "OP",
        "OPM",
        "OPT",
        "OPTBSV",
        "OPTENF",
        "OPV",
        "OSS",
        "OT",
        "PLAN",
        "PR",
        "PT",
        "PX",
        "REG",
        "RESP",
        "RF",
        "RG",
        "RTDOSE",
        "RTIMAGE",
        "RTPLAN",
        "RTRECORD",
        "RTSTRUCT",
        "RWV",
        "SEG",
        "SM",
        "SMR",
        "SR",
        "SRF",
        "STAIN",
        "TEXTUREMAP",
        "TG",
        "US",
        "VA",
        "XA",
        "XC",
    ]
)


# At most this many files in one upload (UPLOAD_MAX_FILES may set fewer).
MAX_FILES = 100_000
# A file's size: any a JSON number holds exactly (8 PiB; the database's BIGINT holds more).
MAX_FILE_BYTES = MAX_JSON_INT


class FileDeclaration(RequestModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=NO_NUL)]
    size: Annotated[int, Field(ge=0, le=MAX_FILE_BYTES), JSON_INT]


class UploadInit(RequestModel):
    patient_name: Annotated[str, StringConstraints(max_length=200, pattern=HAS_TEXT), TRIM]
    study_date: IsoDate
    # Exactly as DICOM spells it (upper case), one of MODALITIES.
    modality: Annotated[str, Field(json_schema_extra={"enum": sorted(MODALITIES)})]
    service_level: ServiceLevel
    notes: Annotated[str | None, StringConstraints(max_length=2000, pattern=NO_NUL)] = None
    # At most UPLOAD_MAX_FILES, counted before any entry is validated (_bounded_files).
    files: Annotated[list[FileDeclaration], Field(min_length=1, max_length=MAX_UPLOAD_FILES)]
    chunk_size: Annotated[int, Field(ge=MIN_CHUNK_SIZE, le=MAX_CHUNK_SIZE), JSON_INT] | None = None
    force_upload: StrictBool = False

    @field_validator("files", mode="before")
    @classmethod
    def _bounded_files(cls, value: object) -> object:
        settings = current_settings()
        limit = settings.upload_max_files if settings is not None else MAX_UPLOAD_FILES
        if isinstance(value, list) and len(value) > limit:
            raise PydanticCustomError(
                "too_many_files",
                "An upload may have at most {limit} files; this one has {count}.",
                {"error_code": "too_many_files", "limit": limit, "count": len(value)},
            )
        return value

    @field_validator("modality")
    @classmethod
    def _known_modality(cls, value: str) -> str:
        if value not in MODALITIES:
            raise ValueError("not a DICOM modality code (e.g. CT, MR, CR, DX, US)")
        return value


class FilePlan(BaseModel):
    index: int
    name: str
    size: int
    total_chunks: int


class UploadCreated(BaseModel):
    upload_id: uuid.UUID
    upload_token: str
    chunk_size: int
    files: list[FilePlan]
    expires_at: datetime


class ChunkAck(BaseModel):
    file: int
    index: int
    md5: str


class FileProgress(BaseModel):
    index: int
    total_chunks: int
    received: int
    missing: list[int]


class UploadStatus(BaseModel):
    upload_id: uuid.UUID
    state: UploadState
    expires_at: datetime
    files: list[FileProgress]


class CompleteAccepted(BaseModel):
    upload_id: uuid.UUID
    state: UploadState
    study_instance_uid: str | None
    instances: int
    warnings: list[str]
    skipped_files: list[dict[str, Any]]


class UploadFileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    index: int
    name: str
    size: int
    status: str
    sha256: str | None
    note: str | None


class UploadRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    facility_id: uuid.UUID | None
    facility: str | None
    patient_name: str
    study_date: date
    modality: str
    service_level: ServiceLevel
    notes: str | None
    state: UploadState
    chunk_size: int
    file_count: int
    total_bytes: int
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None
    study_instance_uid: str | None
    warnings: list[str]
    skipped_files: list[dict[str, Any]]
    # An admin let it go to a PACS holding its StudyInstanceUID for another patient.
    study_conflict_overridden: bool


class StudyConflictOverride(BaseModel):
    """An admin's decision that the upload may go on despite a study UID conflict."""

    model_config = ConfigDict(extra="forbid")

    # Why (audited): e.g. the PACS's PatientID was corrected after the images were made.
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=500)]


# How the upload is being forwarded, one job per destination (filled by relaypacs.pacs).
class ReceiptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    destination: str
    attempt: int
    outcome: str
    http_status: int | None
    referenced: list[str]
    failed: list[dict[str, Any]]
    retrieve_url: str | None
    instances_sent: int
    bytes_sent: int
    error: str | None
    started_at: datetime
    duration_ms: int
    delivered: bool


class ForwardJobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    destination: str
    role: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None
    receipt_id: uuid.UUID | None = None
    instances_stored: int = 0
    instances_total: int = 0
    receipts: list[ReceiptRead] = []


class UploadDetail(UploadRead):
    files: list[UploadFileRead]
    instance_count: int
    forwarding: list[ForwardJobRead]


class UploadPage(Page[UploadRead]):
    """One page of UploadRead items."""


class CleanupReport(BaseModel):
    expired_uploads: int
    orphaned_uploads: int
    bytes_freed: int
    released_uploads: int = 0  # completions that died in `processing`, back to `uploading`
