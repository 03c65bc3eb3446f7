from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request

from relaypacs.auth.dependencies import CurrentUser, user_with
from relaypacs.auth.models import User
from relaypacs.core import pagination
from relaypacs.core.dependencies import CacheDep, ClientDep, SessionDep, SettingsDep
from relaypacs.core.pagination import Window
from relaypacs.core.permissions import Permission, has_permission
from relaypacs.uploads import chunks, completion, service
from relaypacs.uploads.dependencies import (
    ChunkTransferDep,
    HandoffDep,
    StorageDep,
    TransferDep,
    VisibleUpload,
)
from relaypacs.uploads.models import UploadState
from relaypacs.uploads.schemas import (
    ChunkAck,
    CompleteAccepted,
    UploadCreated,
    UploadDetail,
    UploadInit,
    UploadPage,
    UploadStatus,
)

R = dict[int | str, dict[str, Any]]
NOT_FOUND: R = {404: {"description": "No such upload (or not yours)"}}
TRANSFER: R = {
    **NOT_FOUND,
    401: {"description": "Neither a valid access token nor the upload token"},
    410: {"description": "The upload expired"},
}

# Authenticated by access token (mounted on the authenticated API router).
router = APIRouter()
# Authenticated by the owner's access token OR the upload's X-Upload-Token (see api.py).
transfer_router = APIRouter(responses=TRANSFER)


@router.post(
    "/upload/init",
    response_model=UploadCreated,
    status_code=201,
    responses={
        409: {"description": "duplicate_study"},
        413: {"description": "Too large"},
        422: {"description": "Invalid metadata or too many files"},
    },
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
    "/upload/{upload_id}/chunk",
    response_model=ChunkAck,
    status_code=200,
    responses={
        400: {"description": "Checksum, size or index problem; nothing stored"},
        409: {"description": "chunk_conflict or upload_completed"},
    },
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
    file: Annotated[int, Query(description="File index, from init")],
    index: Annotated[int, Query(description="Chunk index within the file")],
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
        body=request.stream(),
    )


@transfer_router.get("/upload/{upload_id}/status", response_model=UploadStatus, status_code=200)
async def upload_status(transfer: TransferDep, session: SessionDep) -> UploadStatus:
    return await service.status(session, upload=transfer.upload)


@transfer_router.delete(
    "/upload/{upload_id}",
    status_code=204,
    summary="Cancel an upload in progress (its data is deleted now)",
    responses={
        404: {"description": "No such upload of yours"},
        409: {"description": "upload_completed: only an upload in progress can be cancelled"},
    },
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
    "/upload/{upload_id}/complete",
    response_model=CompleteAccepted,
    status_code=202,
    responses={
        409: {"description": "upload_incomplete (lists missing chunks) or duplicate"},
        422: {"description": "invalid_dicom (a reason per file) or multiple_studies"},
    },
)
async def complete_upload(
    transfer: TransferDep,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    handoff: HandoffDep,
    cache: CacheDep,
    request: Request,
    skip_invalid: bool = False,
) -> CompleteAccepted:
    accepted = await completion.complete(
        session,
        settings=settings,
        storage=storage,
        handoff=handoff,
        cache=cache,
        upload=transfer.upload,
        user=transfer.owner,
        skip_invalid=skip_invalid,
        ip=request.client.host if request.client else None,
    )
    handoff.committed()
    return accepted


@router.get(
    "/upload/{upload_id}", response_model=UploadDetail, status_code=200, responses=NOT_FOUND
)
async def get_upload(
    upload: VisibleUpload,
    user: CurrentUser,
    session: SessionDep,
    client: ClientDep,
    handoff: HandoffDep,
) -> UploadDetail:
    return await service.detail(session, upload=upload, viewer=user, ip=client.ip, handoff=handoff)


@router.get("/uploads", response_model=UploadPage, status_code=200)
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
