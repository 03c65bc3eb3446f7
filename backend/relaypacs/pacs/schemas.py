from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from relaypacs.core.pagination import Page


class DestinationRead(BaseModel):
    name: str
    type: str
    url: str | None
    role: str  # active | fallback | standby
    configured: bool
    up: bool | None
    up_since: datetime | None
    queue_depth: int
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None


class DestinationList(BaseModel):
    items: list[DestinationRead]


class DeliveryReceipt(BaseModel):
    """The proof that a study reached its PACS, as printed on the report."""

    receipt_id: uuid.UUID
    destination: str
    status: str
    http_status: int | None
    instances_referenced: int
    instances_failed: int
    received_at: datetime


class DeadLetterRead(BaseModel):
    """A forwarding job that gave up, with why (no patient data: the upload is linked by id)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    upload_id: uuid.UUID
    destination: str
    role: str
    attempts: int
    last_error: str | None
    first_failure_at: datetime | None
    created_at: datetime
    updated_at: datetime
    instances_failed: int = 0


class DeadLetterPage(Page[DeadLetterRead]):
    """One page of DeadLetterRead items."""
