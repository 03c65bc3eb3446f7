"""Loading an upload with its access rule: the owner's access token, or the upload token."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import select

from relaypacs.auth import sessions as auth_sessions
from relaypacs.auth.dependencies import CurrentUser, bearer_scheme
from relaypacs.auth.errors import NotAuthenticated
from relaypacs.core import security
from relaypacs.core.dependencies import SessionDep, SettingsDep
from relaypacs.core.permissions import Permission, has_permission
from relaypacs.uploads import service
from relaypacs.uploads.errors import UploadNotFound
from relaypacs.uploads.models import Upload
from relaypacs.uploads.storage import Storage
from relaypacs.users.models import User


def get_storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


StorageDep = Annotated[Storage, Depends(get_storage)]


@dataclass(frozen=True, slots=True)
class Transfer:
    upload: Upload
    owner: User


async def transfer_upload(
    upload_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    x_upload_token: Annotated[
        str | None,
        Header(description="The upload token from init: lets a service worker finish the upload"),
    ] = None,
) -> Transfer:
    """Chunk, status and complete: the upload's own token, or its owner's access token."""
    # One query for the upload and its owner: this runs for every chunk.
    row = (
        await session.execute(
            select(Upload, User).join(User, User.id == Upload.user_id).where(Upload.id == upload_id)
        )
    ).first()
    upload, owner = (row[0], row[1]) if row is not None else (None, None)
    if x_upload_token is not None:
        presented = security.token_hash(x_upload_token)
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


async def visible_upload(upload_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Upload:
    """The upload if the user may see it (owner, or admin); otherwise 404."""
    upload = await service.get(session, upload_id=upload_id)
    if upload is None:
        raise UploadNotFound()
    if upload.user_id != user.id and not has_permission(user.role, Permission.upload_read_all):
        raise UploadNotFound()
    return upload


TransferDep = Annotated[Transfer, Depends(transfer_upload)]
VisibleUpload = Annotated[Upload, Depends(visible_upload)]
