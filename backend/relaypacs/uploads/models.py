from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from relaypacs.core.database import Base, utcnow


class UploadState(StrEnum):
    uploading = "uploading"
    processing = "processing"
    queued = "queued"
    forwarding = "forwarding"
    forwarded = "forwarded"
    failed = "failed"
    expired = "expired"
    cancelled = "cancelled"  # by its sender before completion; its data is deleted


class ChunkState(StrEnum):
    writing = "writing"  # claimed by a request that is writing it now (or crashed doing so)
    stored = "stored"  # durably written and acknowledged


class FileStatus(StrEnum):
    pending = "pending"
    instance = "instance"
    duplicate = "duplicate"  # same SOPInstanceUID as an earlier file of the upload
    dicomdir = "dicomdir"
    skipped = "skipped"  # invalid, left out by `complete?skip_invalid=true`


def _enum(cls: type[StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=20)


class Upload(Base):
    __tablename__ = "upload"
    __table_args__ = (
        Index("ix_upload_duplicate_key_created_at", "duplicate_key", "created_at"),
        # The stats queries: a period of one uploader's, one facility's, or everyone's.
        Index("ix_upload_user_id_created_at", "user_id", "created_at"),
        Index("ix_upload_facility_id_created_at", "facility_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id"), index=True)
    # The uploader's facility when the study was sent (None: no facility membership then);
    # the name is kept as it was, for display.
    facility_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("facility.id"), index=True)
    facility: Mapped[str | None] = mapped_column(String(200), index=True)
    patient_name: Mapped[str] = mapped_column(String(200))
    study_date: Mapped[date]
    modality: Mapped[str] = mapped_column(String(16))
    service_level: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str | None] = mapped_column(Text)
    chunk_size: Mapped[int] = mapped_column(Integer)
    file_count: Mapped[int] = mapped_column(Integer)
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[UploadState] = mapped_column(_enum(UploadState, "upload_state"), index=True)
    duplicate_key: Mapped[str] = mapped_column(String(64))
    force_upload: Mapped[bool] = mapped_column(default=False)
    upload_token_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    processing_started_at: Mapped[datetime | None]
    # `complete` accepted (state `queued`): the stats' volume and average upload time.
    completed_at: Mapped[datetime | None] = mapped_column(index=True)
    # First delivered everywhere (state `forwarded`), and last dead-lettered (`failed`).
    forwarded_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    study_instance_uid: Mapped[str | None] = mapped_column(String(64), index=True)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    skipped_files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # An admin decided (audited, with a reason) that this upload may go to a PACS that
    # holds its StudyInstanceUID for another patient (see uploads.study_conflict).
    study_conflict_overridden: Mapped[bool] = mapped_column(default=False, server_default=false())


class UploadFile(Base):
    __tablename__ = "upload_file"

    upload_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("upload.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    total_chunks: Mapped[int] = mapped_column(Integer)
    status: Mapped[FileStatus] = mapped_column(_enum(FileStatus, "upload_file_status"))
    sha256: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(300))


class UploadChunk(Base):
    __tablename__ = "upload_chunk"

    upload_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("upload.id", ondelete="CASCADE"), primary_key=True
    )
    file_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    chunk_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    md5: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    state: Mapped[ChunkState] = mapped_column(_enum(ChunkState, "upload_chunk_state"))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Computed at receipt (uploads.receipt) so that `complete` need not read the bytes:
    # chunk 0 holds its file's DICOM verdict; the last chunk its file's SHA-256 and the MD5
    # chain of the chunks it covers.
    header: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    sha256_chain: Mapped[str | None] = mapped_column(String(32))


class Study(Base):
    __tablename__ = "study"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    upload_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("upload.id", ondelete="CASCADE"), unique=True
    )
    study_instance_uid: Mapped[str] = mapped_column(String(64), index=True)
    patient_name: Mapped[str | None] = mapped_column(String(200))
    # From the instances' headers (one patient per upload); None for uploads recorded
    # before it was kept: their identity cannot be checked against a PACS report.
    patient_id: Mapped[str | None] = mapped_column(String(64))
    study_date: Mapped[date | None]
    modality: Mapped[str | None] = mapped_column(String(16))
    instance_count: Mapped[int] = mapped_column(Integer)
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Series(Base):
    __tablename__ = "series"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    study_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("study.id", ondelete="CASCADE"), index=True
    )
    series_instance_uid: Mapped[str] = mapped_column(String(64))
    modality: Mapped[str] = mapped_column(String(16))
    series_number: Mapped[int | None]
    instance_count: Mapped[int] = mapped_column(Integer)


class Instance(Base):
    __tablename__ = "instance"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    series_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), index=True
    )
    upload_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("upload.id", ondelete="CASCADE"), index=True
    )
    file_index: Mapped[int] = mapped_column(Integer)
    # Indexed: the report sync asks whether a PACS instance is one the gateway sent.
    sop_instance_uid: Mapped[str] = mapped_column(String(64), index=True)
    sop_class_uid: Mapped[str] = mapped_column(String(64))
    instance_number: Mapped[int | None]
    transfer_syntax: Mapped[str] = mapped_column(String(64))
    # Raw datasets get a File Meta header when they are sent on (see uploads.dicom).
    has_file_meta: Mapped[bool]
    dataset_offset: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
