"""Load and authorise what a stats request asks for: a `StatsQuery` the caller may run."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query

from relaypacs.auth.dependencies import CurrentUser
from relaypacs.core.dependencies import SessionDep
from relaypacs.core.permissions import Permission, has_permission
from relaypacs.facilities import service as facilities_service
from relaypacs.stats import periods, scope
from relaypacs.stats.errors import FacilityFilterForbidden, InvalidFacility
from relaypacs.stats.schemas import Period
from relaypacs.stats.service import StatsQuery

PeriodQuery = Annotated[Period, Query(description="1w, 2w, 1m (30 days), 3m, 6m or all")]
# The schema names what is taken (the zone database's names; a facility id is a UUID), so
# a request the schema allows is answered and only what it does not allow is a 422.
TzQuery = Annotated[
    str,
    Query(
        max_length=64,
        description="IANA time zone for day boundaries (default UTC)",
        json_schema_extra={"enum": periods.zone_names()},
    ),
]
FacilityQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="Admins only: one facility's uploads (its id, a UUID; 404 if none)",
        json_schema_extra={"format": "uuid"},
    ),
]


async def stats_query(
    user: CurrentUser,
    session: SessionDep,
    period: PeriodQuery = Period.w1,
    tz: TzQuery = "UTC",
    facility: FacilityQuery = None,
) -> StatsQuery:
    """The caller's scope (see stats.scope), the period and the zone; 403 for a facility
    filter from a non-admin, 422 for an unknown zone or a malformed facility id, 404 for a
    facility that does not exist."""
    zone = periods.zone(tz)
    facility_id = None
    if facility is not None:
        if not has_permission(user.role, Permission.upload_read_all):
            raise FacilityFilterForbidden()
        try:
            facility_id = uuid.UUID(facility)
        except ValueError:
            raise InvalidFacility() from None
        await facilities_service.get_or_raise(session, facility_id=facility_id)
    return StatsQuery(scope=scope.of(user, facility_id=facility_id), period=period, tz=zone)


StatsQueryDep = Annotated[StatsQuery, Depends(stats_query)]
