"""Reports: created when a study reaches its PACS, worked by radiologists, read by the
people who sent the study. Every change is audited and notifies who needs to know."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.auth.models import User
from relaypacs.core import export, service_levels
from relaypacs.core.database import utcnow
from relaypacs.core.pagination import Rows, Window, paginate
from relaypacs.core.permissions import Permission, Role, has_permission
from relaypacs.core.service_levels import ServiceLevel
from relaypacs.notifications.service import Dispatch
from relaypacs.reports import notices, workflow
from relaypacs.reports.errors import (
    IllegalTransition,
    InvalidAssignee,
    MessageRequired,
    NotReportOwner,
    ReportClosed,
    ReportIncomplete,
    ReportNotFound,
)
from relaypacs.reports.models import Report, ReportAttachment, ReportNote, ReportStatus
from relaypacs.reports.schemas import ReportAssigned, ReportSort, ReportUpdate
from relaypacs.reports.workflow import READERS
from relaypacs.uploads import service as uploads_service
from relaypacs.uploads.errors import UploadNotFound


def _scoped(query: Select[Any], user: User) -> Select[Any]:
    if has_permission(user.role, Permission.report_read_all):
        return query
    if has_permission(user.role, Permission.report_read_facility) and user.facility_id:
        # Only a membership an admin granted opens a facility's reports.
        return query.where(
            or_(Report.facility_id == user.facility_id, Report.uploader_id == user.id)
        )
    return query.where(Report.uploader_id == user.id)


async def create_for_upload(
    session: AsyncSession, *, upload_id: uuid.UUID, destination: str | None
) -> Dispatch:
    """The study was delivered: open its report (once) and notify. Runs inside the caller's
    transaction, so the report exists exactly when the delivery is recorded."""
    existing = await session.scalar(select(Report.id).where(Report.upload_id == upload_id))
    upload = await uploads_service.get(session, upload_id=upload_id)
    if existing is not None or upload is None:
        return Dispatch()
    report = Report(
        upload_id=upload.id,
        uploader_id=upload.user_id,
        facility_id=upload.facility_id,
        facility=upload.facility,
        study_instance_uid=upload.study_instance_uid or "",
        patient_name=upload.patient_name,
        study_date=upload.study_date,
        modality=upload.modality,
        service_level=upload.service_level,
        priority=service_levels.priority(upload.service_level),
        destination=destination,
        status=ReportStatus.assigned,
        created_at=utcnow(),
    )
    session.add(report)
    await session.flush()
    audit.record(
        session,
        action="report_created",
        target_type="report",
        target_id=report.id,
        details={"upload_id": str(upload.id), "status": report.status.value},
    )
    return await notices.opened(session, report)


_SORT_COLUMNS: dict[str, Any] = {
    "date": Report.created_at,
    "status": Report.status,
    "modality": Report.modality,
    # The reading order (STAT first), not the names' alphabetical one.
    "service_level": Report.priority,
}


async def list(
    session: AsyncSession,
    *,
    user: User,
    window: Window,
    status: builtins.list[ReportStatus] | None = None,
    modality: str | None = None,
    service_level: ServiceLevel | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    assignee_id: uuid.UUID | None = None,
    assigned: ReportAssigned | None = None,
    sort: ReportSort | None = None,
) -> Rows:
    """The reports `user` may see, filtered; radiologists and admins get STAT first by
    default (then the longest waiting), everyone else the newest first. Filters narrow the
    caller's scope, never widen it, and all of them apply together: a range that ends before
    it starts, or `assigned=unassigned` with an `assignee_id`, is an empty page (a request the
    schema allows is answered, not refused)."""
    query = _scoped(select(Report), user)
    if status:
        query = query.where(Report.status.in_(status))
    if modality:
        query = query.where(Report.modality == modality.upper())
    if service_level:
        query = query.where(Report.service_level == service_level)
    if date_from:
        query = query.where(Report.created_at >= datetime.combine(date_from, time(), UTC))
    if date_to:
        end = datetime.combine(date_to + timedelta(days=1), time(), UTC)
        query = query.where(Report.created_at < end)
    if assignee_id:
        query = query.where(Report.assignee_id == assignee_id)
    if assigned == "me":
        query = query.where(Report.assignee_id == user.id)
    elif assigned == "unassigned":
        query = query.where(Report.assignee_id.is_(None))
    if sort is None:
        sort = "priority" if has_permission(user.role, Permission.report_read_all) else "-date"
    order: builtins.list[Any]
    if sort == "priority":
        order = [Report.priority.asc(), Report.created_at.asc()]
    else:
        column = _SORT_COLUMNS[sort.lstrip("-")]
        order = [column.desc() if sort.startswith("-") else column.asc(), Report.created_at.desc()]
    order.append(Report.id)
    return await paginate(session, query, window, *order)


async def get_visible_or_raise(
    session: AsyncSession, *, user: User, report_id: uuid.UUID, lock: bool = False
) -> Report:
    """The report, if `user` may see it; 404 otherwise (never reveal others' reports).

    With `lock`, the row is write-locked first (until the caller's commit) and read after:
    concurrent changes then run one after the other, each checked against the state the
    previous one left (else two requests that both read ASSIGNED could both pass the
    workflow check, and a READY report be changed again). A no-op UPDATE rather than
    SELECT … FOR UPDATE, which SQLite ignores: there it takes the database's write lock."""
    if lock:
        await session.execute(
            sql_update(Report)
            .where(Report.id == report_id)
            .values(updated_at=Report.updated_at)
            .execution_options(synchronize_session=False)
        )
    report: Report | None = await session.scalar(
        _scoped(select(Report).where(Report.id == report_id), user)
    )
    if report is None:
        raise ReportNotFound()
    return report


async def get_for_upload_or_raise(
    session: AsyncSession, *, user: User, upload_id: uuid.UUID
) -> Report:
    report: Report | None = await session.scalar(
        _scoped(select(Report).where(Report.upload_id == upload_id), user)
    )
    if report is None:
        raise ReportNotFound()
    return report


async def notes_of(session: AsyncSession, *, report_id: uuid.UUID) -> Sequence[ReportNote]:
    return (
        await session.scalars(
            select(ReportNote)
            .where(ReportNote.report_id == report_id)
            .order_by(ReportNote.created_at)
        )
    ).all()


async def attachment_of(session: AsyncSession, *, report_id: uuid.UUID) -> ReportAttachment | None:
    return await session.get(ReportAttachment, report_id)


def _ensure_open(report: Report) -> None:
    if report.status is ReportStatus.ready:
        raise ReportClosed()


def _audit_change(
    session: AsyncSession,
    *,
    actor: User | None,
    report: Report,
    action: str,
    ip: str | None = None,
    **details: Any,
) -> None:
    audit.record(
        session,
        action=action,
        actor_id=actor.id if actor else None,
        target_type="report",
        target_id=report.id,
        ip=ip,
        details=details,
    )


async def update(
    session: AsyncSession, *, actor: User, report: Report, changes: ReportUpdate, ip: str | None
) -> tuple[Report, Dispatch]:
    """Findings and impression; READY reports are final."""
    _ensure_open(report)
    fields = changes.model_dump(exclude_unset=True)
    changed = {name for name, value in fields.items() if getattr(report, name) != value}
    for name in changed:
        setattr(report, name, fields[name])
    dispatch = Dispatch()
    if changed:
        report.updated_at = utcnow()
        _audit_change(
            session,
            actor=actor,
            report=report,
            action="report_edited",
            ip=ip,
            fields=sorted(changed),
        )
        dispatch = await notices.announce(session, report)
    await session.commit()
    return report, dispatch


async def change_status(
    session: AsyncSession,
    *,
    actor: User | None,
    report: Report,
    target: ReportStatus,
    message: str | None = None,
    ip: str | None = None,
    commit: bool = True,
) -> tuple[Report, Dispatch]:
    """Move `report` to `target` if the workflow allows it (else 409), audit who/from/to,
    and notify the uploader when it is READY or needs more data."""
    current = report.status
    if not workflow.can_transition(current, target):
        raise IllegalTransition(current=current.value, requested=target.value)
    if target is ReportStatus.additional_data_required and not (message and message.strip()):
        raise MessageRequired()
    if target is ReportStatus.ready and not (
        (report.impression and report.impression.strip()) or report.pacs_report_kind
    ):
        raise ReportIncomplete()
    now = utcnow()
    report.status = target
    report.updated_at = now
    if target is ReportStatus.additional_data_required:
        report.additional_data_message = message.strip() if message else None
    if target is ReportStatus.ready:
        report.ready_at = now
        if actor is not None:
            report.reported_by_id = actor.id
    if (
        target is ReportStatus.pending
        and report.assignee_id is None
        and actor is not None
        and actor.role in READERS
    ):
        report.assignee_id = actor.id
    _audit_change(
        session,
        actor=actor,
        report=report,
        action="report_status_changed",
        ip=ip,
        **{"from": current.value, "to": target.value},
    )
    dispatch = await notices.status_changed(session, report, current)
    if commit:
        await session.commit()
    return report, dispatch


async def assign(
    session: AsyncSession,
    *,
    actor: User,
    report: Report,
    assignee_id: uuid.UUID | None,
    ip: str | None,
) -> tuple[Report, Dispatch]:
    """Assign to the actor (default) or another active radiologist."""
    _ensure_open(report)
    target_id = assignee_id or actor.id
    assignee = actor if target_id == actor.id else await session.get(User, target_id)
    if (
        assignee is None
        or not assignee.is_active
        or assignee.role not in (READERS if assignee is actor else (Role.radiologist,))
    ):
        raise InvalidAssignee()
    previous = report.assignee_id
    report.assignee_id = assignee.id
    report.updated_at = utcnow()
    _audit_change(
        session,
        actor=actor,
        report=report,
        action="report_assigned",
        ip=ip,
        **{"from": str(previous) if previous else None, "to": str(assignee.id)},
    )
    dispatch = await notices.assigned(session, report, assignee, actor)
    await session.commit()
    return report, dispatch


async def add_note(
    session: AsyncSession,
    *,
    actor: User,
    report: Report,
    body: str,
    upload_id: uuid.UUID | None,
    ip: str | None,
) -> tuple[ReportNote, Dispatch]:
    """A note on the report. From the clinician's side it answers a request for more data:
    the report goes back to PENDING for the radiologist. Seeing a report is not enough to
    answer for it: only its uploader, radiologists and admins add notes."""
    if report.uploader_id != actor.id and not has_permission(actor.role, Permission.report_update):
        raise NotReportOwner()
    _ensure_open(report)
    if upload_id is not None:
        linked = await uploads_service.get(session, upload_id=upload_id)
        if linked is None or linked.user_id != actor.id:
            raise UploadNotFound()
    note = ReportNote(
        report_id=report.id,
        author_id=actor.id,
        body=body,
        upload_id=upload_id,
        created_at=utcnow(),
    )
    session.add(note)
    _audit_change(
        session,
        actor=actor,
        report=report,
        action="report_note_added",
        ip=ip,
        upload_id=str(upload_id) if upload_id else None,
    )
    dispatch = Dispatch()
    responder = not has_permission(actor.role, Permission.report_update)
    if responder and report.status is ReportStatus.additional_data_required:
        report, dispatch = await change_status(
            session, actor=actor, report=report, target=ReportStatus.pending, ip=ip, commit=False
        )
    else:
        report.updated_at = utcnow()
        dispatch = await notices.announce(session, report, note=True)
    if responder:
        dispatch.extend(await notices.note_for_assignee(session, report, note))
    await session.commit()
    return note, dispatch


@export.section("reports")
async def _export_reports(
    session: AsyncSession, user_id: uuid.UUID
) -> builtins.list[dict[str, Any]]:
    from relaypacs.reports.schemas import ReportRead

    rows = await session.scalars(
        select(Report).where(Report.uploader_id == user_id).order_by(Report.created_at)
    )
    return [ReportRead.model_validate(row).model_dump(mode="json") for row in rows]
