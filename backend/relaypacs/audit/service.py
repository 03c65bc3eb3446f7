"""The audit trail: every security-relevant event and every access to patient data."""

from __future__ import annotations

import builtins
import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit.models import AuditEvent
from relaypacs.core import export
from relaypacs.core.context import current_request_id
from relaypacs.core.pagination import Rows, Window, paginate

Outcome = Literal["success", "failure", "denied"]


def record(
    session: AsyncSession,
    *,
    action: str,
    outcome: Outcome = "success",
    actor_id: uuid.UUID | None = None,
    target_type: str | None = None,
    target_id: str | uuid.UUID | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session; it is written with the caller's commit."""
    event = AuditEvent(
        action=action,
        outcome=outcome,
        actor_id=actor_id,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        ip=ip,
        request_id=current_request_id(),
        details=details or {},
    )
    session.add(event)
    return event


async def list(
    session: AsyncSession,
    *,
    window: Window,
    actor_id: uuid.UUID | None = None,
    action: str | None = None,
    outcome: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Rows:
    """Newest first, filtered."""
    query = select(AuditEvent)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if outcome:
        query = query.where(AuditEvent.outcome == outcome)
    if target_id:
        query = query.where(AuditEvent.target_id == target_id)
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    if until is not None:
        query = query.where(AuditEvent.occurred_at < until)
    return await paginate(session, query, window, AuditEvent.id.desc())


async def list_for_actor(session: AsyncSession, *, actor_id: uuid.UUID) -> Any:
    """Every event the user performed (for the GDPR export)."""
    rows = await session.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == actor_id).order_by(AuditEvent.id)
    )
    return rows.all()


@export.section("audit_events")
async def _export_audit_events(
    session: AsyncSession, user_id: uuid.UUID
) -> builtins.list[dict[str, Any]]:
    return [
        {
            "occurred_at": e.occurred_at.isoformat(),
            "action": e.action,
            "outcome": e.outcome,
            "target_type": e.target_type,
            "target_id": e.target_id,
            "ip": e.ip,
            "details": e.details,
        }
        for e in await list_for_actor(session, actor_id=user_id)
    ]
