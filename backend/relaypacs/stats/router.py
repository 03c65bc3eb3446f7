"""GET /api/upload/stats and /api/upload/stats/export (mounted before the uploads'
/api/upload/{upload_id} routes in api.py, so `stats` is never read as an upload id)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from relaypacs.core.database import utcnow
from relaypacs.core.dependencies import (
    CacheDep,
    ClientDep,
    DatabaseDep,
    Identity,
    SessionDep,
    SettingsDep,
    require,
)
from relaypacs.core.errors import error_responses
from relaypacs.core.permissions import Permission
from relaypacs.stats import service
from relaypacs.stats.dependencies import StatsQueryDep
from relaypacs.stats.schemas import UploadStats

R = dict[int | str, dict[str, Any]]
BAD_QUERY: R = error_responses(
    {
        403: "facility_filter_forbidden: only admins filter by facility",
        404: "facility_not_found: no facility has this id",
        422: "validation_error (period), invalid_timezone or invalid_facility",
    }
)

router = APIRouter()


@router.get(
    "/upload/stats",
    response_model=UploadStats,
    status_code=200,
    responses=BAD_QUERY,
    summary="Upload stats of the caller's scope for a period (cached, see STATS_CACHE_SECONDS)",
)
async def upload_stats(
    query: StatsQueryDep, session: SessionDep, cache: CacheDep, settings: SettingsDep
) -> UploadStats:
    return await service.get(
        session, cache=cache, ttl_seconds=settings.stats_cache_seconds, query=query
    )


@router.get(
    "/upload/stats/export",
    status_code=200,
    response_class=StreamingResponse,
    responses={
        **BAD_QUERY,
        200: {
            "description": "CSV (RFC 4180): date,facility,modality,service_level,outcome,"
            "uploads,bytes",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **error_responses(
            {
                403: "forbidden (the analytics_export permission: admins), or "
                "facility_filter_forbidden",
                404: "facility_not_found: no facility has this id",
                422: "validation_error (period), invalid_timezone or invalid_facility",
            }
        ),
    },
    summary="The period's upload counts as CSV, one row per non-empty combination (audited)",
)
async def export_stats(
    # First: a caller without the permission is refused before the query is looked at.
    admin: Annotated[Identity, Depends(require(Permission.analytics_export))],
    query: StatsQueryDep,
    session: SessionDep,
    database: DatabaseDep,
    client: ClientDep,
) -> StreamingResponse:
    await service.record_export(session, query=query, actor_id=admin.id, ip=client.ip)
    filename = service.export_filename(query, utcnow())
    return StreamingResponse(
        service.export(database, query=query),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
