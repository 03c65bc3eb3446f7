from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BeforeValidator

from relaypacs.auth.dependencies import CurrentUser
from relaypacs.core import pagination
from relaypacs.core.dependencies import ClientDep, SessionDep
from relaypacs.core.pagination import Window
from relaypacs.core.service_levels import ServiceLevel
from relaypacs.notifications.dependencies import NotifierDep
from relaypacs.reports import access_log, pdf, service, views
from relaypacs.reports.dependencies import LockedReport, Reporter, VisibleReport
from relaypacs.reports.models import ReportStatus
from relaypacs.reports.schemas import (
    Assignment,
    NoteCreate,
    ReportDetail,
    ReportNoteRead,
    ReportPage,
    ReportSort,
    ReportUpdate,
    StatusChange,
)

router = APIRouter()

_404: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such report, or not visible to you"}
}
_409: dict[int | str, dict[str, Any]] = {
    409: {"description": "Not allowed in the report's current status"}
}
_403: dict[int | str, dict[str, Any]] = {403: {"description": "Radiologists and admins only"}}


def _upper(value: object) -> object:
    """Service levels are matched case-insensitively (`?service_level=stat`)."""
    return value.upper() if isinstance(value, str) else value


@router.get("", response_model=ReportPage, status_code=200, summary="Reports visible to me")
async def list_reports(
    session: SessionDep,
    user: CurrentUser,
    window: Annotated[Window, Depends(pagination.window(default_size=50, max_size=50))],
    status: Annotated[list[ReportStatus] | None, Query()] = None,
    modality: Annotated[str | None, Query(max_length=16, pattern=r"^[A-Za-z0-9]+$")] = None,
    service_level: Annotated[ServiceLevel | None, BeforeValidator(_upper), Query()] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    assignee_id: uuid.UUID | None = None,
    sort: ReportSort | None = None,
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
        sort=sort,
    )
    return ReportPage.of(rows, lambda report: views.read(report, viewer=user))


@router.get("/upload/{upload_id}", response_model=ReportDetail, status_code=200, responses=_404)
async def get_report_of_upload(
    upload_id: uuid.UUID, session: SessionDep, user: CurrentUser, client: ClientDep
) -> ReportDetail:
    report = await service.get_for_upload_or_raise(session, user=user, upload_id=upload_id)
    detail = await views.detail(session, report, viewer=user)
    await access_log.record(
        session, report=report, viewer=user, ip=client.ip, action="report_viewed"
    )
    return detail


@router.get("/{report_id}", response_model=ReportDetail, status_code=200, responses=_404)
async def get_report(
    report: VisibleReport, session: SessionDep, user: CurrentUser, client: ClientDep
) -> ReportDetail:
    detail = await views.detail(session, report, viewer=user)
    await access_log.record(
        session, report=report, viewer=user, ip=client.ip, action="report_viewed"
    )
    return detail


@router.get(
    "/{report_id}/download",
    status_code=200,
    response_class=Response,
    responses={
        **_404,
        409: {"description": "The report is not READY"},
        200: {"content": {"application/pdf": {}}},
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
    "/{report_id}",
    response_model=ReportDetail,
    status_code=200,
    responses={**_404, **_409, **_403},
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
    "/{report_id}/status",
    response_model=ReportDetail,
    status_code=200,
    responses={**_404, **_409, **_403},
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
    "/{report_id}/assign",
    response_model=ReportDetail,
    status_code=200,
    responses={**_404, **_409, **_403},
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
    "/{report_id}/notes",
    response_model=ReportNoteRead,
    status_code=201,
    responses={**_404, **_409, 403: {"description": "Not the study's uploader"}},
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
