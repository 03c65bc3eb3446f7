from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from relaypacs.core.strict import HAS_TEXT, TRIM, RequestModel, StrictBool

FacilityName = Annotated[str, StringConstraints(max_length=200, pattern=HAS_TEXT), TRIM]


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


class FacilityCreate(RequestModel):
    name: FacilityName


class FacilityUpdate(RequestModel):
    name: FacilityName | None = None
    is_active: StrictBool | None = None
