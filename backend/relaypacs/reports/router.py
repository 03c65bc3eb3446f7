from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BeforeValidator

from relaypacs.auth.dependencies import CurrentUser
from relaypacs.core import pagination
from relaypacs.core.dependencies import ClientDep, SessionDep
from relaypacs.core.errors import error_responses
from relaypacs.core.pagination import Window
from relaypacs.core.service_levels import ServiceLevel
from relaypacs.core.strict import IsoDate
from relaypacs.notifications.dependencies import NotifierDep
from relaypacs.reports import access_log, pdf, service, views
from relaypacs.reports.dependencies import LockedReport, Reporter, VisibleReport
from relaypacs.reports.models import ReportStatus
from relaypacs.reports.schemas import (
    Assignment,
    NoteCreate,
    ReportAssigned,
    ReportDetail,
    ReportNoteRead,
    ReportPage,
    ReportSort,
    ReportUpdate,
    StatusChange,
)

router = APIRouter()

_404 = {404: "report_not_found: no such report, or not visible to you"}
_409 = {409: "illegal_transition or report_closed: not allowed in the report's current status"}
_403 = {403: "Radiologists and admins only"}


def _upper(value: object) -> object:
    """Service levels are matched case-insensitively (`?service_level=stat`)."""
    return value.upper() if isinstance(value, str) else value


@router.get(
    "",
    response_model=ReportPage,
    status_code=200,
    summary="Reports visible to me",
    responses=error_responses(422),
)
async def list_reports(
    session: SessionDep,
    user: CurrentUser,
    window: Annotated[Window, Depends(pagination.window(default_size=50, max_size=50))],
    status: Annotated[list[ReportStatus] | None, Query()] = None,
    modality: Annotated[str | None, Query(max_length=16, pattern=r"^[A-Za-z0-9]+$")] = None,
    service_level: Annotated[ServiceLevel | None, BeforeValidator(_upper), Query()] = None,
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
    assignee_id: uuid.UUID | None = None,
    assigned: Annotated[
        ReportAssigned | None,
        Query(description="`me`: assigned to me; `unassigned`: no radiologist named yet"),
    ] = None,
    sort: Annotated[
        ReportSort | None,
        Query(
            description="Default: `priority` (STAT first, oldest first) for those who read "
            "reports, `-date` (newest first) for everyone else"
        ),
    ] = None,
) -> ReportPage:
    rows = await service.list(
        session,
        user=user,
        window=window,
        status=status,
        modality=modality,
        service_level=service_level,
        date_from=date_from,
        date_to=date_to,
        assignee_id=assignee_id,
        assigned=assigned,
        sort=sort,
    )
    return ReportPage.of(rows, lambda report: views.read(report, viewer=user))


@router.get(
    "/upload/{upload_id:uuid}",
    response_model=ReportDetail,
    status_code=200,
    responses=error_responses(_404),
)
async def get_report_of_upload(
    upload_id: uuid.UUID, session: SessionDep, user: CurrentUser, client: ClientDep
) -> ReportDetail:
    report = await service.get_for_upload_or_raise(session, user=user, upload_id=upload_id)
    detail = await views.detail(session, report, viewer=user)
    await access_log.record(
        session, report=report, viewer=user, ip=client.ip, action="report_viewed"
    )
    return detail


@router.get(
    "/{report_id:uuid}",
    response_model=ReportDetail,
    status_code=200,
    responses=error_responses(_404),
)
async def get_report(
    report: VisibleReport, session: SessionDep, user: CurrentUser, client: ClientDep
) -> ReportDetail:
    detail = await views.detail(session, report, viewer=user)
    await access_log.record(
        session, report=report, viewer=user, ip=client.ip, action="report_viewed"
    )
    return detail


@router.get(
    "/{report_id:uuid}/download",
    status_code=200,
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}},
        **error_responses(
            422,
            {
                404: "report_not_found, or pacs_pdf_not_found (`source=pacs`: the PACS "
                "supplied no PDF)",
                409: "report_not_ready: the report is not READY",
            },
        ),
    },
    summary="The report as PDF (READY only)",
)
async def download_report(
    report: VisibleReport,
    session: SessionDep,
    user: CurrentUser,
    client: ClientDep,
    source: Annotated[
        Literal["report", "pacs"],
        Query(description="`pacs`: the PDF the PACS supplied (404 when there is none)"),
    ] = "report",
) -> Response:
    if source == "pacs":
        content, filename = await pdf.pacs_pdf_for_download(session, report=report)
    else:
        content, filename = await pdf.render_for_download(session, report=report)
    await access_log.record(
        session,
        report=report,
        viewer=user,
        ip=client.ip,
        action="report_downloaded",
        source=source,
    )
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.patch(
    "/{report_id:uuid}",
    response_model=ReportDetail,
    status_code=200,
    responses=error_responses(422, _404, _409, _403),
)
async def update_report(
    report: LockedReport,
    changes: ReportUpdate,
    actor: Reporter,
    session: SessionDep,
    client: ClientDep,
    notifier: NotifierDep,
) -> ReportDetail:
    report, dispatch = await service.update(
        session, actor=actor, report=report, changes=changes, ip=client.ip
    )
    await notifier.deliver(dispatch)
    return await views.detail(session, report, viewer=actor)


@router.post(
    "/{report_id:uuid}/status",
    response_model=ReportDetail,
    status_code=200,
    responses=error_responses(
        _404,
        _409,
        _403,
        {
            422: "Invalid request (`validation_error`), message_required (ADDITIONAL_DATA_"
            "REQUIRED needs a message), or report_incomplete (READY needs findings)"
        },
    ),
)
async def change_report_status(
    report: LockedReport,
    change: StatusChange,
    actor: Reporter,
    session: SessionDep,
    client: ClientDep,
    notifier: NotifierDep,
) -> ReportDetail:
    report, dispatch = await service.change_status(
        session,
        actor=actor,
        report=report,
        target=change.status,
        message=change.message,
        ip=client.ip,
    )
    await notifier.deliver(dispatch)
    return await views.detail(session, report, viewer=actor)


@router.post(
    "/{report_id:uuid}/assign",
    response_model=ReportDetail,
    status_code=200,
    responses=error_responses(
        _404,
        _409,
        _403,
        {422: "Invalid request (`validation_error`), or invalid_assignee (not a radiologist)"},
    ),
)
async def assign_report(
    report: LockedReport,
    assignment: Assignment,
    actor: Reporter,
    session: SessionDep,
    client: ClientDep,
    notifier: NotifierDep,
) -> ReportDetail:
    report, dispatch = await service.assign(
        session, actor=actor, report=report, assignee_id=assignment.assignee_id, ip=client.ip
    )
    await notifier.deliver(dispatch)
    return await views.detail(session, report, viewer=actor)


@router.post(
    "/{report_id:uuid}/notes",
    response_model=ReportNoteRead,
    status_code=201,
    responses=error_responses(
        422, _404, _409, {403: "not_report_owner: not the study's uploader (nor a radiologist)"}
    ),
)
async def add_report_note(
    report: LockedReport,
    note: NoteCreate,
    actor: CurrentUser,
    session: SessionDep,
    client: ClientDep,
    notifier: NotifierDep,
) -> ReportNoteRead:
    created, dispatch = await service.add_note(
        session,
        actor=actor,
        report=report,
        body=note.body,
        upload_id=note.upload_id,
        ip=client.ip,
    )
    await notifier.deliver(dispatch)
    return ReportNoteRead.model_validate(created)
