"""What the PACS sync writes on a report: the report it found (READY), or a warning about
a report instance it would not attach. The caller (reports.sync) commits."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.core.database import utcnow
from relaypacs.notifications.service import Dispatch
from relaypacs.reports import service as reports_service
from relaypacs.reports.models import Report, ReportAttachment, ReportStatus, SyncWarningCode


async def attach(
    session: AsyncSession,
    *,
    report: Report,
    kind: str,
    sop_instance_uid: str,
    text: str | None,
    pdf: bytes | None,
) -> Dispatch:
    """The PACS has a report for the study (SR text or encapsulated PDF): keep it and make
    the report READY."""
    report.pacs_report_kind = kind
    report.pacs_report_sop_instance_uid = sop_instance_uid
    report.pacs_report_text = text
    if pdf is not None:
        attachment = await session.get(ReportAttachment, report.id)
        if attachment is None:
            session.add(
                ReportAttachment(report_id=report.id, media_type="application/pdf", content=pdf)
            )
        else:
            attachment.content = pdf
    if report.impression is None and text:
        report.impression = text
    _, dispatch = await reports_service.change_status(
        session, actor=None, report=report, target=ReportStatus.ready, commit=False
    )
    return dispatch


def warn(
    session: AsyncSession, *, report: Report, sop_instance_uid: str, code: SyncWarningCode
) -> bool:
    """A report instance in the study is not this upload's patient's: it stays unattached,
    and radiologists and admins see why on the report. Audited once per instance and
    reason (the sync meets it again every pass); False when already recorded."""
    if (
        report.sync_warning_sop_instance_uid == sop_instance_uid
        and report.sync_warning_code == code.value
    ):
        return False
    report.sync_warning_code = code.value
    report.sync_warning_sop_instance_uid = sop_instance_uid
    report.sync_warning_at = utcnow()
    # Which check failed and the instance's UID: never the other patient's name or ID.
    audit.record(
        session,
        action="report_sync_patient_mismatch",
        outcome="denied",
        target_type="report",
        target_id=report.id,
        details={
            "upload_id": str(report.upload_id),
            "sop_instance_uid": sop_instance_uid,
            "reason": code.value,
        },
    )
    return True
