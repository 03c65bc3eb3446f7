from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from relaypacs.auth.models import User
from relaypacs.auth.schemas import MembershipRequest, membership_of
from relaypacs.core.config import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE
from relaypacs.core.pagination import Page
from relaypacs.core.permissions import Role
from relaypacs.core.service_levels import ServiceLevel
from relaypacs.core.strict import JSON_INT, RequestModel, StrictBool

NOTIFICATION_TYPES = (
    "upload_complete",
    "upload_failed",
    "report_assigned",
    "report_ready",
    "additional_data_required",
)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @model_validator(mode="before")
    @classmethod
    def _membership(cls, value: Any) -> Any:
        if isinstance(value, User):
            return {
                **{name: getattr(value, name) for name in cls.model_fields if name != "membership"},
                "membership": membership_of(value),
            }
        return value

    id: uuid.UUID
    email: str
    username: str
    full_name: str
    facility_id: uuid.UUID | None
    facility: str | None
    role: Role
    membership: MembershipRequest | None
    is_active: bool
    email_verified: bool
    mfa_enabled: bool
    locked_until: datetime | None
    created_at: datetime


class UserPage(Page[UserRead]):
    """One page of UserRead items."""


class ProfileRead(BaseModel):
    email: str
    pending_email: str | None
    username: str
    full_name: str
    facility: str | None
    role: Role
    membership: MembershipRequest | None


class NotificationPreference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    in_app: StrictBool = True
    push: StrictBool = True
    email: StrictBool = False


def _default_notifications() -> dict[str, NotificationPreference]:
    return {name: NotificationPreference() for name in NOTIFICATION_TYPES}


class ChunkSizeLimits(BaseModel):
    """The chunk sizes the server accepts (core/config.py), so a client can offer only those."""

    min: int = MIN_CHUNK_SIZE
    max: int = MAX_CHUNK_SIZE
    default: int = DEFAULT_CHUNK_SIZE


class Preferences(BaseModel):
    default_service_level: ServiceLevel = ServiceLevel.ROUTINE
    chunk_size: Annotated[int, Field(ge=MIN_CHUNK_SIZE, le=MAX_CHUNK_SIZE)] = DEFAULT_CHUNK_SIZE
    duplicate_check: bool = True
    notifications: dict[str, NotificationPreference] = Field(default_factory=_default_notifications)
    # Read-only: not part of PreferencesUpdate, the same for every user.
    chunk_size_limits: ChunkSizeLimits = Field(default_factory=ChunkSizeLimits)


class PreferencesUpdate(RequestModel):
    default_service_level: ServiceLevel | None = None
    chunk_size: Annotated[int, Field(ge=MIN_CHUNK_SIZE, le=MAX_CHUNK_SIZE), JSON_INT] | None = None
    duplicate_check: StrictBool | None = None
    notifications: (
        dict[
            Literal[
                "upload_complete",
                "upload_failed",
                "report_assigned",
                "report_ready",
                "additional_data_required",
            ],
            NotificationPreference,
        ]
        | None
    ) = None


class UserExport(BaseModel):
    generated_at: datetime
    user: dict[str, Any]
    sections: dict[str, Any]
