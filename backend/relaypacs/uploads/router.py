from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request

from relaypacs.auth.dependencies import CurrentUser, user_with
from relaypacs.auth.models import User
from relaypacs.core import pagination
from relaypacs.core.dependencies import CacheDep, ClientDep, SessionDep, SettingsDep
from relaypacs.core.errors import error_responses
from relaypacs.core.limits import declared_length
from relaypacs.core.pagination import Window
from relaypacs.core.permissions import Permission, has_permission
from relaypacs.core.strict import QueryBool
from relaypacs.uploads import chunks, completion, service, study_conflict
from relaypacs.uploads.dependencies import (
    ChunkIndex,
    ChunkTransferDep,
    FileIndex,
    HandoffDep,
    PacsStudiesDep,
    StorageDep,
    TransferDep,
    VisibleUpload,
)
from relaypacs.uploads.models import UploadState
from relaypacs.uploads.schemas import (
    ChunkAck,
    CompleteAccepted,
    StudyConflictOverride,
    UploadCreated,
    UploadDetail,
    UploadInit,
    UploadPage,
    UploadRead,
    UploadStatus,
)

NOT_FOUND = {404: "upload_not_found: no such upload (or not yours)"}

# Authenticated by access token (mounted on the authenticated API router).
router = APIRouter()
# Authenticated by the owner's access token OR the upload's X-Upload-Token (see api.py).
transfer_router = APIRouter(
    responses=error_responses(
        422,
        NOT_FOUND,
        {
            401: "Neither a valid access token nor the upload token",
            410: "upload_expired or upload_cancelled",
        },
    )
)


@router.post(
    "/upload/init",
    response_model=UploadCreated,
    status_code=201,
    responses=error_responses(
        422,
        {
            403: "forbidden (your role does not upload), or upload_too_large (the files add up "
            "to more than this server takes, UPLOAD_MAX_TOTAL_BYTES)",
            409: "duplicate_study (the same study was uploaded recently; `duplicate_of`)",
            422: "Invalid metadata (`validation_error`), or too_many_files",
        },
    ),
)
async def init_upload(
    data: UploadInit,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    cache: CacheDep,
    user: Annotated[User, Depends(user_with(Permission.upload_create))],
) -> UploadCreated:
    return await service.create(
        session, settings=settings, cache=cache, user=user, data=data, ip=client.ip
    )


@transfer_router.put(
    "/upload/{upload_id:uuid}/chunk",
    response_model=ChunkAck,
    status_code=200,
    responses=error_responses(
        {
            400: "checksum_mismatch, missing_content_md5, wrong_chunk_size or "
            "chunk_out_of_range; nothing stored",
            409: "chunk_conflict (other bytes for a stored chunk) or upload_completed",
            413: "payload_too_large: more bytes than the upload's chunk size",
        }
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def put_chunk(
    request: Request,
    transfer: ChunkTransferDep,
    session: SessionDep,
    storage: StorageDep,
    file: FileIndex,
    index: ChunkIndex,
    content_md5: Annotated[str | None, Header(alias="Content-MD5")] = None,
) -> ChunkAck:
    return await chunks.receive(
        session,
        storage=storage,
        upload=transfer.upload,
        file=transfer.file,
        file_index=file,
        chunk_index=index,
        content_md5=content_md5,
        content_length=declared_length(request.scope),
        body=request.stream(),
    )


@transfer_router.get(
    "/upload/{upload_id:uuid}/status", response_model=UploadStatus, status_code=200
)
async def upload_status(transfer: TransferDep, session: SessionDep) -> UploadStatus:
    return await service.status(session, upload=transfer.upload)


@transfer_router.delete(
    "/upload/{upload_id:uuid}",
    status_code=204,
    summary="Cancel an upload in progress (its data is deleted now)",
    responses=error_responses(
        {409: "upload_completed: only an upload in progress can be cancelled"}
    ),
)
async def cancel_upload(
    transfer: TransferDep,
    session: SessionDep,
    storage: StorageDep,
    cache: CacheDep,
    request: Request,
) -> None:
    await service.cancel(
        session,
        storage=storage,
        cache=cache,
        upload=transfer.upload,
        ip=request.client.host if request.client else None,
    )


@transfer_router.post(
    "/upload/{upload_id:uuid}/complete",
    response_model=CompleteAccepted,
    status_code=202,
    responses=error_responses(
        {
            409: "upload_incomplete (lists the missing chunks), already completed, "
            "duplicate_study, or study_uid_conflict (the PACS holds this StudyInstanceUID "
            "for another patient)",
            422: "invalid_dicom (a reason per file), multiple_studies, multiple_patients or "
            "no_instances",
        }
    ),
)
async def complete_upload(
    transfer: TransferDep,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    handoff: HandoffDep,
    studies: PacsStudiesDep,
    cache: CacheDep,
    request: Request,
    skip_invalid: QueryBool = False,
) -> CompleteAccepted:
    accepted = await completion.complete(
        session,
        settings=settings,
        storage=storage,
        handoff=handoff,
        studies=studies,
        cache=cache,
        upload=transfer.upload,
        user=transfer.owner,
        skip_invalid=skip_invalid,
        ip=request.client.host if request.client else None,
    )
    handoff.committed()
    return accepted


@router.post(
    "/upload/{upload_id}/study-conflict/override",
    response_model=UploadRead,
    status_code=200,
    summary="Let an upload go on despite a study UID conflict (admins; audited)",
    responses=error_responses(
        422,
        NOT_FOUND,
        {403: "Admins only", 409: "override_not_applicable: not uploading or failed"},
    ),
)
async def override_study_conflict(
    # First: anyone else gets 403 whether or not the upload exists.
    admin: Annotated[User, Depends(user_with(Permission.upload_override))],
    upload: VisibleUpload,
    decision: StudyConflictOverride,
    session: SessionDep,
    client: ClientDep,
) -> UploadRead:
    return await study_conflict.override(
        session, upload=upload, actor=admin, reason=decision.reason, ip=client.ip
    )


@router.get(
    "/upload/{upload_id:uuid}",
    response_model=UploadDetail,
    status_code=200,
    responses=error_responses(NOT_FOUND),
)
async def get_upload(
    upload: VisibleUpload,
    user: CurrentUser,
    session: SessionDep,
    client: ClientDep,
    handoff: HandoffDep,
) -> UploadDetail:
    return await service.detail(session, upload=upload, viewer=user, ip=client.ip, handoff=handoff)


@router.get(
    "/uploads", response_model=UploadPage, status_code=200, responses=error_responses(403, 422)
)
async def list_uploads(
    session: SessionDep,
    user: Annotated[User, Depends(user_with(Permission.upload_read_own))],
    window: Annotated[Window, Depends(pagination.window(default_size=50, max_size=200))],
    state: UploadState | None = None,
) -> UploadPage:
    everyone = has_permission(user.role, Permission.upload_read_all)
    rows = await service.list(
        session, owner_id=None if everyone else user.id, state=state, window=window
    )
    return UploadPage.of(rows, service.read)
