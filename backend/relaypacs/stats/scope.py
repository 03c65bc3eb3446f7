"""Whose uploads the caller's stats count: the one rule, by role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_

from relaypacs.auth.models import User
from relaypacs.core.permissions import Role
from relaypacs.uploads.models import Upload


@dataclass(frozen=True, slots=True)
class Scope:
    """`key` names the scope in cache keys; `condition` selects its uploads."""

    key: str
    user_id: uuid.UUID | None = None
    facility_id: uuid.UUID | None = None

    def condition(self) -> ColumnElement[bool] | None:
        if self.user_id is not None and self.facility_id is not None:
            return or_(Upload.facility_id == self.facility_id, Upload.user_id == self.user_id)
        if self.user_id is not None:
            return Upload.user_id == self.user_id
        if self.facility_id is not None:
            return Upload.facility_id == self.facility_id
        return None


def of(user: User, *, facility_id: uuid.UUID | None = None) -> Scope:
    """Clinician: own uploads. Radiographer: their facility's and their own (own only
    without facility access). Radiologist, admin: everyone's (an admin may pick one
    facility: `facility_id`, already checked by the caller)."""
    if user.role in (Role.radiologist, Role.admin):
        if facility_id is not None:
            return Scope(key=f"facility:{facility_id}", facility_id=facility_id)
        return Scope(key="all")
    if user.role is Role.radiographer and user.facility_id is not None:
        return Scope(
            key=f"facility:{user.facility_id}+user:{user.id}",
            user_id=user.id,
            facility_id=user.facility_id,
        )
    return Scope(key=f"user:{user.id}", user_id=user.id)
