from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from relaypacs.audit import service
from relaypacs.audit.schemas import AuditEventPage, AuditEventRead
from relaypacs.core import pagination
from relaypacs.core.dependencies import SessionDep, require
from relaypacs.core.pagination import Window
from relaypacs.core.permissions import Permission

router = APIRouter(dependencies=[Depends(require(Permission.audit_read))])


@router.get("", response_model=AuditEventPage, status_code=200, summary="Audit trail (admin)")
async def list_audit_events(
    session: SessionDep,
    window: Annotated[Window, Depends(pagination.window(default_size=50, max_size=200))],
    actor_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    outcome: Annotated[str | None, Query(pattern="^(success|failure|denied)$")] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
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
