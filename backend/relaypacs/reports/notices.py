"""Who is told what when a report changes: the live `report_updated` event for the
uploader's and the radiologists' screens, and the stored notifications.

Every function runs inside the caller's transaction and returns a `Dispatch` for the
caller to deliver after its commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.auth.models import User
from relaypacs.core.database import utcnow
from relaypacs.core.permissions import Role
from relaypacs.core.service_levels import URGENT
from relaypacs.notifications import service as notifications
from relaypacs.notifications.service import Dispatch
from relaypacs.reports.models import Report, ReportNote, ReportStatus
from relaypacs.reports.workflow import READERS
from relaypacs.users import service as users_service

UPDATED_EVENT = "report_updated"
NOTE_EVENT = "report_note"


def summary(report: Report) -> dict[str, Any]:
    return {
        "report_id": str(report.id),
        "upload_id": str(report.upload_id),
        "status": report.status.value,
        "service_level": report.service_level,
        "modality": report.modality,
        "assignee_id": str(report.assignee_id) if report.assignee_id else None,
        "updated_at": (report.updated_at or utcnow()).isoformat(),
    }


async def announce(session: AsyncSession, report: Report, **extra: Any) -> Dispatch:
    """Tell the uploader's and the radiologists' screens that the report changed."""
    return await notifications.broadcast(
        session,
        type=UPDATED_EVENT,
        data=summary(report) | extra,
        user_ids=[report.uploader_id],
        roles=READERS,
    )


async def _tell(
    session: AsyncSession,
    report: Report,
    user_ids: Iterable[uuid.UUID],
    *,
    type: str,
    title: str,
    body: str,
) -> Dispatch:
    return await notifications.notify(
        session,
        user_ids=user_ids,
        type=type,
        title=title,
        body=body,
        upload_id=report.upload_id,
        report_id=report.id,
    )


async def opened(session: AsyncSession, report: Report) -> Dispatch:
    """The study reached the PACS: the uploader, and every radiologist when it is urgent."""
    dispatch = await _tell(
        session,
        report,
        [report.uploader_id],
        type="upload_complete",
        title="Study delivered to PACS",
        body=f"Your {report.modality} study ({report.service_level}) reached the PACS "
        "and is in the reporting queue.",
    )
    if report.service_level in URGENT:
        radiologists = await users_service.active_user_ids(session, role=Role.radiologist)
        dispatch.extend(
            await _tell(
                session,
                report,
                radiologists,
                type="upload_complete",
                title=f"New {report.service_level} study",
                body=f"A {report.service_level} {report.modality} study from "
                f"{report.facility or 'a user with no facility'} is waiting to be reported.",
            )
        )
    return dispatch.extend(await announce(session, report, created=True))


async def status_changed(session: AsyncSession, report: Report, previous: ReportStatus) -> Dispatch:
    """Every screen hears of it; the uploader is notified when it is READY or needs data."""
    dispatch = await announce(session, report, previous_status=previous.value)
    if report.status is ReportStatus.ready:
        dispatch.extend(
            await _tell(
                session,
                report,
                [report.uploader_id],
                type="report_ready",
                title="Report ready",
                body=f"The report for your {report.modality} study of "
                f"{report.study_date.isoformat()} is ready.",
            )
        )
    elif report.status is ReportStatus.additional_data_required:
        dispatch.extend(
            await _tell(
                session,
                report,
                [report.uploader_id],
                type="additional_data_required",
                title="Radiology needs more information",
                body=report.additional_data_message or "",
            )
        )
    return dispatch


async def assigned(session: AsyncSession, report: Report, assignee: User, actor: User) -> Dispatch:
    """The uploader, and the assignee unless they took it themselves."""
    recipients = [report.uploader_id] + ([assignee.id] if assignee.id != actor.id else [])
    dispatch = await announce(session, report)
    return dispatch.extend(
        await _tell(
            session,
            report,
            recipients,
            type="report_assigned",
            title="Report assigned",
            body=f"The {report.modality} study of {report.study_date.isoformat()} was assigned "
            f"to {assignee.full_name} for reporting.",
        )
    )


async def note_for_assignee(session: AsyncSession, report: Report, note: ReportNote) -> Dispatch:
    """The clinician wrote: the radiologist working the report sees it live."""
    if report.assignee_id is None:
        return Dispatch()
    return await notifications.broadcast(
        session,
        type=NOTE_EVENT,
        data=summary(report) | {"note_id": str(note.id)},
        user_ids=[report.assignee_id],
    )
