"""Imports every domain's tables so Alembic and the tests see the whole schema."""

from __future__ import annotations

from relaypacs.core.database import Base

__all__ = ["Base"]
