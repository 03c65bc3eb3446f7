"""A report as its viewer may see it: the sync warning only for those who work reports."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.auth.models import User
from relaypacs.core.permissions import Permission, has_permission
from relaypacs.reports import service
from relaypacs.reports.models import Report, SyncWarningCode
from relaypacs.reports.schemas import (
    SYNC_WARNING_MESSAGES,
    ReportDetail,
    ReportNoteRead,
    ReportRead,
    SyncWarning,
)


def read(report: Report, *, viewer: User) -> ReportRead:
    body = ReportRead.model_validate(report)
    if (
        report.sync_warning_code
        and report.sync_warning_sop_instance_uid
        and report.sync_warning_at
        and has_permission(viewer.role, Permission.report_update)
    ):
        code = SyncWarningCode(report.sync_warning_code)
        body.sync_warning = SyncWarning(
            code=code,
            message=SYNC_WARNING_MESSAGES[code],
            sop_instance_uid=report.sync_warning_sop_instance_uid,
            detected_at=report.sync_warning_at,
        )
    return body


async def detail(session: AsyncSession, report: Report, *, viewer: User) -> ReportDetail:
    notes = await service.notes_of(session, report_id=report.id)
    attachment = await service.attachment_of(session, report_id=report.id)
    return ReportDetail(
        **read(report, viewer=viewer).model_dump(),
        notes=[ReportNoteRead.model_validate(note) for note in notes],
        has_pdf_attachment=attachment is not None,
    )
