"""Load and authorise what a stats request asks for: a `StatsQuery` the caller may run."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query

from relaypacs.auth.dependencies import CurrentUser
from relaypacs.core.dependencies import SessionDep
from relaypacs.core.permissions import Permission, has_permission
from relaypacs.facilities import service as facilities_service
from relaypacs.facilities.errors import FacilityNotFound
from relaypacs.stats import periods, scope
from relaypacs.stats.errors import FacilityFilterForbidden, InvalidFacility
from relaypacs.stats.schemas import Period
from relaypacs.stats.service import StatsQuery

PeriodQuery = Annotated[Period, Query(description="1w, 2w, 1m (30 days), 3m, 6m or all")]
TzQuery = Annotated[
    str, Query(max_length=64, description="IANA time zone for day boundaries (default UTC)")
]
FacilityQuery = Annotated[
    str | None,
    Query(max_length=64, description="Admins only: one facility's uploads (its id, a UUID)"),
]


async def stats_query(
    user: CurrentUser,
    session: SessionDep,
    period: PeriodQuery = Period.w1,
    tz: TzQuery = "UTC",
    facility: FacilityQuery = None,
) -> StatsQuery:
    """The caller's scope (see stats.scope), the period and the zone; 403 for a facility
    filter from a non-admin, 422 for an unknown zone or facility."""
    zone = periods.zone(tz)
    facility_id = None
    if facility:
        if not has_permission(user.role, Permission.upload_read_all):
            raise FacilityFilterForbidden()
        try:
            facility_id = uuid.UUID(facility)
            await facilities_service.get_or_raise(session, facility_id=facility_id)
        except (ValueError, FacilityNotFound):
            raise InvalidFacility() from None
    return StatsQuery(scope=scope.of(user, facility_id=facility_id), period=period, tz=zone)


StatsQueryDep = Annotated[StatsQuery, Depends(stats_query)]
