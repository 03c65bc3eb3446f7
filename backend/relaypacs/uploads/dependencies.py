"""Loading an upload with its access rule: the owner's access token, or the upload token."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.auth import sessions as auth_sessions
from relaypacs.auth.dependencies import CurrentUser, bearer_scheme
from relaypacs.auth.models import User
from relaypacs.core import security
from relaypacs.core.config import CoreSettings
from relaypacs.core.dependencies import SessionDep, SettingsDep
from relaypacs.core.errors import NotAuthenticated
from relaypacs.core.permissions import Permission, has_permission
from relaypacs.core.strict import QUERY_INT
from relaypacs.uploads import service
from relaypacs.uploads.errors import UploadNotFound
from relaypacs.uploads.handoff import Handoff
from relaypacs.uploads.models import Upload, UploadFile
from relaypacs.uploads.schemas import MAX_FILES
from relaypacs.uploads.storage import Storage
from relaypacs.uploads.study_conflict import PacsStudies


def get_storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


StorageDep = Annotated[Storage, Depends(get_storage)]


def get_handoff(request: Request) -> Handoff:
    handoff: Handoff = request.app.state.handoff
    return handoff


HandoffDep = Annotated[Handoff, Depends(get_handoff)]


def get_pacs_studies(request: Request) -> PacsStudies:
    studies: PacsStudies = request.app.state.pacs_studies
    return studies


PacsStudiesDep = Annotated[PacsStudies, Depends(get_pacs_studies)]


@dataclass(frozen=True, slots=True)
class Transfer:
    upload: Upload
    owner: User


@dataclass(frozen=True, slots=True)
class ChunkTransfer(Transfer):
    file: UploadFile | None


UploadTokenHeader = Annotated[
    str | None,
    Header(description="The upload token from init: lets a service worker finish the upload"),
]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
# Within the database's integer columns (and UploadInit's file count).
FileIndex = Annotated[
    int, Query(ge=0, lt=MAX_FILES, description="File index, from init"), QUERY_INT
]
ChunkIndex = Annotated[
    int, Query(ge=0, lt=2**31, description="Chunk index within the file"), QUERY_INT
]


async def _authorize(
    session: AsyncSession,
    settings: CoreSettings,
    upload: Upload | None,
    owner: User | None,
    credentials: HTTPAuthorizationCredentials | None,
    upload_token: str | None,
) -> Transfer:
    if upload_token is not None:
        presented = security.token_hash(upload_token)
        if upload is None or not hmac.compare_digest(presented, upload.upload_token_hash):
            raise UploadNotFound()
    else:
        if credentials is None:
            raise NotAuthenticated("Send an access token or the upload's X-Upload-Token.")
        principal = await auth_sessions.authenticate(
            session, settings=settings, token=credentials.credentials
        )
        if upload is None or upload.user_id != principal.user.id:
            raise UploadNotFound()
    if upload is None or owner is None or not owner.is_active:
        raise UploadNotFound()
    return Transfer(upload=upload, owner=owner)


async def transfer_upload(
    upload_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    credentials: BearerDep,
    x_upload_token: UploadTokenHeader = None,
) -> Transfer:
    """Status and complete: the upload's own token, or its owner's access token."""
    row = (
        await session.execute(
            select(Upload, User).join(User, User.id == Upload.user_id).where(Upload.id == upload_id)
        )
    ).first()
    upload, owner = (row[0], row[1]) if row is not None else (None, None)
    return await _authorize(session, settings, upload, owner, credentials, x_upload_token)


async def chunk_transfer(
    upload_id: uuid.UUID,
    file: FileIndex,
    session: SessionDep,
    settings: SettingsDep,
    credentials: BearerDep,
    x_upload_token: UploadTokenHeader = None,
) -> ChunkTransfer:
    """Like transfer_upload, plus the file row, in the one query a chunk costs."""
    row = (
        await session.execute(
            select(Upload, User, UploadFile)
            .join(User, User.id == Upload.user_id)
            .outerjoin(UploadFile, (UploadFile.upload_id == Upload.id) & (UploadFile.index == file))
            .where(Upload.id == upload_id)
        )
    ).first()
    upload, owner, file_row = (row[0], row[1], row[2]) if row is not None else (None, None, None)
    transfer = await _authorize(session, settings, upload, owner, credentials, x_upload_token)
    return ChunkTransfer(upload=transfer.upload, owner=transfer.owner, file=file_row)


async def visible_upload(upload_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Upload:
    """The upload if the user may see it (owner, or admin); otherwise 404."""
    upload = await service.get(session, upload_id=upload_id)
    if upload is None:
        raise UploadNotFound()
    if upload.user_id != user.id and not has_permission(user.role, Permission.upload_read_all):
        raise UploadNotFound()
    return upload


TransferDep = Annotated[Transfer, Depends(transfer_upload)]
ChunkTransferDep = Annotated[ChunkTransfer, Depends(chunk_transfer)]
VisibleUpload = Annotated[Upload, Depends(visible_upload)]
