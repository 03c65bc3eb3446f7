"""/api/facilities: anyone may list the open facilities (registration offers them: names
only); administrators create, rename and (de)activate them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from relaypacs.core.dependencies import ClientDep, Identity, SessionDep, require
from relaypacs.core.errors import error_responses
from relaypacs.core.permissions import Permission
from relaypacs.facilities import service
from relaypacs.facilities.schemas import (
    FacilityCreate,
    FacilityList,
    FacilityOption,
    FacilityOptions,
    FacilityRead,
    FacilityUpdate,
)

Manager = Annotated[Identity, Depends(require(Permission.facility_manage))]
# Mounted without authentication (api.py lists it as public).
public = APIRouter()
# Administrators only.
router = APIRouter(responses=error_responses(403))


@public.get(
    "",
    response_model=FacilityOptions,
    status_code=200,
    summary="The facilities open to new members (names only)",
)
async def list_open_facilities(session: SessionDep) -> FacilityOptions:
    rows = await service.list(session, active_only=True)
    return FacilityOptions(items=[FacilityOption.model_validate(row) for row in rows])


@router.get("/all", response_model=FacilityList, status_code=200, summary="Every facility (admin)")
async def list_all_facilities(_admin: Manager, session: SessionDep) -> FacilityList:
    rows = await service.list(session, active_only=False)
    return FacilityList(items=[FacilityRead.model_validate(row) for row in rows])


@router.post(
    "",
    response_model=FacilityRead,
    status_code=201,
    responses=error_responses(422, {409: "facility_name_taken"}),
)
async def create_facility(
    data: FacilityCreate, admin: Manager, session: SessionDep, client: ClientDep
) -> FacilityRead:
    facility = await service.create(session, data=data, actor_id=admin.id, ip=client.ip)
    return FacilityRead.model_validate(facility)


@router.patch(
    "/{facility_id:uuid}",
    response_model=FacilityRead,
    status_code=200,
    responses=error_responses(422, {404: "facility_not_found", 409: "facility_name_taken"}),
    summary="Rename or (de)activate a facility (admin)",
)
async def update_facility(
    facility_id: uuid.UUID,
    changes: FacilityUpdate,
    admin: Manager,
    session: SessionDep,
    client: ClientDep,
) -> FacilityRead:
    facility = await service.get_or_raise(session, facility_id=facility_id)
    updated = await service.update(
        session, facility=facility, changes=changes, actor_id=admin.id, ip=client.ip
    )
    return FacilityRead.model_validate(updated)
