from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from relaypacs.core.database import Base, utcnow


class JobState(StrEnum):
    pending = "pending"  # waiting for its next attempt (or its first)
    sending = "sending"  # claimed by a worker (its lease says until when)
    delivered = "delivered"  # every instance stored and verified
    dead = "dead"  # gave up: non-retryable failure, attempts or age exhausted
    superseded = "superseded"  # the primary gave way to the fallback destination


class ItemState(StrEnum):
    pending = "pending"
    stored = "stored"
    failed = "failed"


class JobRole(StrEnum):
    primary = "primary"
    fallback = "fallback"


def _enum(cls: type[StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=20)


class ForwardJob(Base):
    """The outbox: one row per (upload, destination), created with the upload's `queued`."""

    __tablename__ = "forward_job"
    __table_args__ = (Index("ix_forward_job_state_next_attempt_at", "state", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    upload_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("upload.id", ondelete="CASCADE"), index=True
    )
    destination: Mapped[str] = mapped_column(String(40))
    role: Mapped[JobRole] = mapped_column(_enum(JobRole, "forward_job_role"))
    state: Mapped[JobState] = mapped_column(_enum(JobState, "forward_job_state"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None]
    first_failure_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    delivered_at: Mapped[datetime | None]


class ForwardItem(Base):
    """Per instance of a job: resend only what the PACS has not stored yet."""

    __tablename__ = "forward_item"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("forward_job.id", ondelete="CASCADE"), primary_key=True
    )
    instance_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("instance.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[ItemState] = mapped_column(_enum(ItemState, "forward_item_state"))
    reason: Mapped[str | None] = mapped_column(String(200))


class ForwardReceipt(Base):
    """One per delivery attempt: what the PACS said, instance by instance."""

    __tablename__ = "forward_receipt"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("forward_job.id", ondelete="CASCADE"), index=True
    )
    upload_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("upload.id", ondelete="CASCADE"), index=True
    )
    destination: Mapped[str] = mapped_column(String(40))
    attempt: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))
    http_status: Mapped[int | None]
    referenced: Mapped[list[str]] = mapped_column(JSON, default=list)
    failed: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    retrieve_url: Mapped[str | None] = mapped_column(String(1000))
    instances_sent: Mapped[int] = mapped_column(Integer, default=0)
    bytes_sent: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(Integer)
    delivered: Mapped[bool] = mapped_column(default=False)
