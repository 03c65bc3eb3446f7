from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from relaypacs.audit import service
from relaypacs.audit.schemas import AuditEventPage, AuditEventRead
from relaypacs.core import pagination
from relaypacs.core.dependencies import SessionDep, require
from relaypacs.core.errors import error_responses
from relaypacs.core.pagination import Window
from relaypacs.core.permissions import Permission
from relaypacs.core.strict import NO_NUL, IsoDateTime

router = APIRouter(
    dependencies=[Depends(require(Permission.audit_read))], responses=error_responses(403)
)


@router.get(
    "",
    response_model=AuditEventPage,
    status_code=200,
    summary="Audit trail (admin)",
    responses=error_responses(422),
)
async def list_audit_events(
    session: SessionDep,
    window: Annotated[Window, Depends(pagination.window(default_size=50, max_size=200))],
    actor_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    outcome: Annotated[str | None, Query(pattern="^(success|failure|denied)$")] = None,
    target_id: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    since: IsoDateTime | None = None,
    until: IsoDateTime | None = None,
) -> AuditEventPage:
    rows = await service.list(
        session,
        window=window,
        actor_id=actor_id,
        action=action,
        outcome=outcome,
        target_id=target_id,
        since=since,
        until=until,
    )
    return AuditEventPage.of(rows, AuditEventRead.model_validate)
