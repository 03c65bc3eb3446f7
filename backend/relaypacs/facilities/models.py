from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from relaypacs.core.database import Base, utcnow


class Facility(Base):
    """A hospital, clinic or site. Membership of one is what lets a radiographer see its
    reports, so facilities are records an admin manages, not names users type."""

    __tablename__ = "facility"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # A deactivated facility is offered to nobody; its members keep their access.
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
