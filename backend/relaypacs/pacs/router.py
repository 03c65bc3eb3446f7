from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from relaypacs.auth.dependencies import CurrentUser
from relaypacs.core import pagination
from relaypacs.core.dependencies import ClientDep, SessionDep, require
from relaypacs.core.errors import error_responses
from relaypacs.core.pagination import Window
from relaypacs.core.permissions import Permission
from relaypacs.pacs import service
from relaypacs.pacs.dependencies import ForwarderDep, PacsSettingsDep
from relaypacs.pacs.schemas import DeadLetterPage, DestinationList
from relaypacs.uploads.schemas import ForwardJobRead

router = APIRouter(
    dependencies=[Depends(require(Permission.pacs_manage))], responses=error_responses(403)
)


@router.get(
    "/destinations",
    response_model=DestinationList,
    status_code=200,
    summary="Destinations with health, queue depth, last success and failure",
)
async def list_destinations(
    session: SessionDep, settings: PacsSettingsDep, forwarder: ForwarderDep
) -> DestinationList:
    items = await service.list_destinations(session, settings=settings, forwarder=forwarder)
    return DestinationList(items=items)


@router.get(
    "/dead-letters",
    response_model=DeadLetterPage,
    status_code=200,
    summary="Dead-lettered forwarding jobs with their reason, newest first",
    responses=error_responses(422),
)
async def list_dead_letters(
    session: SessionDep,
    window: Annotated[Window, Depends(pagination.window(default_size=25, max_size=100))],
    destination: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")] = None,
) -> DeadLetterPage:
    return await service.list_dead_letters(session, window=window, destination=destination)


@router.post(
    "/jobs/{job_id:uuid}/retry",
    response_model=ForwardJobRead,
    status_code=200,
    responses=error_responses(
        {404: "job_not_found", 409: "job_not_retryable: the job is not dead-lettered"}
    ),
)
async def retry_job(
    job_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    client: ClientDep,
    forwarder: ForwarderDep,
) -> ForwardJobRead:
    return await service.retry(
        session, forwarder=forwarder, job_id=job_id, actor_id=user.id, ip=client.ip
    )
