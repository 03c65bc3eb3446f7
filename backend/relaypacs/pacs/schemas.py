from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


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


class DeliveryReceipt(BaseModel):
    """The proof that a study reached its PACS, as printed on the report."""

    receipt_id: uuid.UUID
    destination: str
    status: str
    http_status: int | None
    instances_referenced: int
    instances_failed: int
    received_at: datetime
