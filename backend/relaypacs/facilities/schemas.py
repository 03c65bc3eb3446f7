from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

FacilityName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]


class FacilityOption(BaseModel):
    """What anyone may see of a facility (registration offers these): no PHI."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str


class FacilityOptions(BaseModel):
    items: list[FacilityOption]


class FacilityRead(FacilityOption):
    is_active: bool
    created_at: datetime
    updated_at: datetime


class FacilityList(BaseModel):
    items: list[FacilityRead]


class FacilityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: FacilityName


class FacilityUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: FacilityName | None = None
    is_active: bool | None = None
