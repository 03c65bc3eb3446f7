"""Every read of a report (its PHI) is audited: HIPAA §164.312(b)."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.auth.models import User
from relaypacs.reports.models import Report

Read = Literal["report_viewed", "report_downloaded"]


async def record(
    session: AsyncSession,
    *,
    report: Report,
    viewer: User,
    ip: str | None,
    action: Read,
    source: str | None = None,
) -> None:
    """Audit one read of `report` by `viewer` and commit it."""
    audit.record(
        session,
        action=action,
        actor_id=viewer.id,
        target_type="report",
        target_id=report.id,
        ip=ip,
        details={"source": source} if source else None,
    )
    await session.commit()
