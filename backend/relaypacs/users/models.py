"""Per-user settings (the account itself, `User`, is in `relaypacs.auth.models`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from relaypacs.core.config import DEFAULT_CHUNK_SIZE
from relaypacs.core.database import Base, utcnow


class UserPreference(Base):
    __tablename__ = "user_preference"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    default_service_level: Mapped[str] = mapped_column(String(16), default="ROUTINE")
    chunk_size: Mapped[int] = mapped_column(Integer, default=DEFAULT_CHUNK_SIZE)
    duplicate_check: Mapped[bool] = mapped_column(default=True)
    notifications: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
