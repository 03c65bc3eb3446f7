"""Loading a tus resource with its access rule (the owner's access token or the upload's
X-Upload-Token, as for our own chunks): a route receives a resource it may use."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from relaypacs.core.dependencies import SessionDep, SettingsDep
from relaypacs.uploads.dependencies import (
    BearerDep,
    StorageDep,
    UploadTokenHeader,
    chunk_transfer,
)
from relaypacs.uploads.schemas import MAX_FILES
from relaypacs.uploads.tus.errors import TusResourceNotFound
from relaypacs.uploads.tus.protocol import check_version
from relaypacs.uploads.tus.resources import PARTIAL_ID, Target, descriptor_of, file_target
from relaypacs.uploads.tus.service import Resource


async def tus_resumable(request: Request) -> None:
    """Every tus request but OPTIONS names the protocol version: 412 otherwise, before
    anything else is looked at."""
    if request.method != "OPTIONS":
        check_version(request.headers.get("tus-resumable"))


def _path_ids(upload_id: str, file_index: str) -> tuple[uuid.UUID, int]:
    try:
        parsed = uuid.UUID(upload_id)
    except ValueError:
        raise TusResourceNotFound() from None
    if not (file_index.isascii() and file_index.isdigit()) or int(file_index) >= MAX_FILES:
        raise TusResourceNotFound()
    return parsed, int(file_index)


async def tus_file(
    upload_id: str,
    file_index: str,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    credentials: BearerDep,
    x_upload_token: UploadTokenHeader = None,
) -> Resource:
    """The file named by the URL, if the caller may send it; 404 otherwise."""
    parsed, index = _path_ids(upload_id, file_index)
    loaded = await chunk_transfer(
        upload_id=parsed,
        file=index,
        session=session,
        settings=settings,
        credentials=credentials,
        x_upload_token=x_upload_token,
    )
    if loaded.file is None:
        raise TusResourceNotFound()
    upload = loaded.upload
    target = file_target(upload.id, index, upload.chunk_size, loaded.file.size)
    return Resource(
        upload=upload,
        owner=loaded.owner,
        file=loaded.file,
        target=target,
        descriptor=await descriptor_of(storage, target),
    )


async def tus_partial(
    partial_id: str,
    file: Annotated[Resource, Depends(tus_file)],
    storage: StorageDep,
) -> Resource:
    """A partial upload of that file (concatenation), if it was created and not terminated."""
    if PARTIAL_ID.fullmatch(partial_id) is None:
        raise TusResourceNotFound()
    upload = file.upload
    probe = Target(upload.id, file.target.file_index, upload.chunk_size, 0, partial=partial_id)
    descriptor = await descriptor_of(storage, probe)
    if descriptor is None:
        raise TusResourceNotFound()
    target = Target(
        upload.id, file.target.file_index, upload.chunk_size, descriptor.length, partial_id
    )
    return Resource(
        upload=upload, owner=file.owner, file=file.file, target=target, descriptor=descriptor
    )


TusFile = Annotated[Resource, Depends(tus_file)]
TusPartial = Annotated[Resource, Depends(tus_partial)]
