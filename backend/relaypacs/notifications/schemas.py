from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from relaypacs.core.pagination import Page
from relaypacs.core.strict import JsonInt

NotificationType = Literal[
    "upload_complete",
    "upload_failed",
    "report_assigned",
    "report_ready",
    "additional_data_required",
]


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    type: str
    title: str
    body: str
    upload_id: uuid.UUID | None
    report_id: uuid.UUID | None
    read: bool
    read_at: datetime | None
    created_at: datetime


class NotificationPage(Page[NotificationRead]):
    unread_count: int


class ReadState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    read: bool


class ReadAllResult(BaseModel):
    updated: int
    unread_count: int


class StreamTicket(BaseModel):
    ticket: str
    expires_in: int
    stream_url: str


class StreamEvent(BaseModel):
    """One Server-Sent Event of the notification stream: `event` names its type (`ready`
    first, then notification and report events), `data` is its JSON payload, and `id` is
    the point a reconnecting client resumes from (Last-Event-ID)."""

    event: str
    data: str
    id: str


class PushKeys(BaseModel):
    p256dh: Annotated[str, Field(min_length=16, max_length=200, pattern=r"^[A-Za-z0-9_\-=]+$")]
    auth: Annotated[str, Field(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9_\-=]+$")]


class PushSubscriptionCreate(BaseModel):
    """The browser's `PushSubscription.toJSON()`."""

    model_config = ConfigDict(extra="ignore")

    endpoint: HttpUrl
    keys: PushKeys
    expiration_time: JsonInt | None = Field(default=None, alias="expirationTime")


class PushSubscriptionDelete(BaseModel):
    model_config = ConfigDict(extra="ignore")

    endpoint: HttpUrl


class PushSubscriptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    endpoint: str
    created_at: datetime
    last_success_at: datetime | None


class PushConfig(BaseModel):
    enabled: bool
    public_key: str | None
