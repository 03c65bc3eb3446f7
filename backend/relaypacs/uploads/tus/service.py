"""tus use cases on one file of an upload: head, patch, terminate (creation and
concatenation are in `creation.py`). Each takes a resource already loaded and authorised
(`dependencies.py`) and answers the tus headers of its response."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.auth.models import User
from relaypacs.core.database import utcnow
from relaypacs.uploads import chunks
from relaypacs.uploads.errors import UploadCancelled, UploadExpired
from relaypacs.uploads.models import Upload, UploadChunk, UploadFile, UploadState
from relaypacs.uploads.storage import Storage
from relaypacs.uploads.tus import transfer
from relaypacs.uploads.tus.errors import FinalUploadIsReadOnly, OffsetMismatch, TusResourceNotFound
from relaypacs.uploads.tus.protocol import (
    check_offset_stream,
    http_date,
    non_negative,
    parse_checksum,
)
from relaypacs.uploads.tus.resources import Descriptor, Target, position

TUS_PATH = "/api/tus"


@dataclass(frozen=True, slots=True)
class Resource:
    """A tus resource the caller may use: a file of an upload, or a partial upload of it."""

    upload: Upload
    owner: User
    file: UploadFile
    target: Target
    descriptor: Descriptor | None  # None: not created with tus (or terminated since)


def file_location(root_path: str, upload_id: uuid.UUID, file_index: int) -> str:
    return f"{root_path}{TUS_PATH}/{upload_id}/{file_index}"


def partial_location(root_path: str, upload_id: uuid.UUID, file_index: int, partial: str) -> str:
    return f"{file_location(root_path, upload_id, file_index)}/partials/{partial}"


def expiry_headers(upload: Upload) -> dict[str, str]:
    """Upload-Expires while the upload can still take bytes (the expiration extension)."""
    if upload.state is UploadState.uploading:
        return {"Upload-Expires": http_date(upload.expires_at)}
    return {}


def ensure_resumable(upload: Upload) -> None:
    """A HEAD on an expired or cancelled upload is 410 Gone (we keep track of them)."""
    if upload.state is UploadState.expired or (
        upload.state is UploadState.uploading and upload.expires_at <= utcnow()
    ):
        raise UploadExpired()
    if upload.state is UploadState.cancelled:
        raise UploadCancelled()


async def head(session: AsyncSession, *, storage: Storage, resource: Resource) -> dict[str, str]:
    """Upload-Offset (always), Upload-Length, and the metadata and concat it was created with."""
    ensure_resumable(resource.upload)
    descriptor = resource.descriptor
    if descriptor is None:
        raise TusResourceNotFound()
    where = await position(session, storage=storage, target=resource.target)
    headers = {
        "Upload-Offset": str(where.offset),
        "Upload-Length": str(resource.target.length),
        "Cache-Control": "no-store",
        **expiry_headers(resource.upload),
    }
    if descriptor.metadata:
        headers["Upload-Metadata"] = descriptor.metadata
    if resource.target.partial is not None:
        headers["Upload-Concat"] = "partial"
    elif descriptor.concat:
        headers["Upload-Concat"] = descriptor.concat
    return headers


async def patch(
    session: AsyncSession,
    *,
    storage: Storage,
    resource: Resource,
    upload_offset: str | None,
    content_type: str | None,
    upload_checksum: str | None,
    content_length: int | None,
    body: AsyncIterator[bytes],
) -> dict[str, str]:
    """Apply the body at Upload-Offset; answer the new offset once every byte it counts is
    durable. A checksummed body is stored only once it is verified (460 otherwise)."""
    upload, target = resource.upload, resource.target
    chunks.ensure_accepts_chunks(upload)
    if resource.descriptor is None:
        raise TusResourceNotFound()
    if resource.descriptor.concat:
        raise FinalUploadIsReadOnly()
    check_offset_stream(content_type)
    offset = non_negative(upload_offset, "Upload-Offset")
    checksum = parse_checksum(upload_checksum)
    where = await position(session, storage=storage, target=target)
    if offset != where.offset:
        raise OffsetMismatch(
            f"Upload-Offset is {offset}; the upload is at {where.offset}.", offset=where.offset
        )
    transfer.check_declared(content_length, target.length - where.offset)
    expiry = expiry_headers(upload)
    # No connection is held while a (slow) client sends the bytes.
    await session.commit()
    if checksum is None:
        received = await transfer.receive(
            session, storage=storage, target=target, start=where, parts=body
        )
    else:
        spooled = transfer.verified(
            body, checksum=checksum, limit=target.length - where.offset, block=target.chunk_size
        )
        async with contextlib.aclosing(spooled):
            received = await transfer.receive(
                session, storage=storage, target=target, start=where, parts=spooled
            )
    return {"Upload-Offset": str(received.offset), **expiry}


async def terminate(session: AsyncSession, *, storage: Storage, resource: Resource) -> None:
    """Discard what the resource holds: a file's stored chunks (it can be sent again), or a
    partial upload's pieces. The upload itself stays open."""
    chunks.ensure_accepts_chunks(resource.upload)
    if resource.descriptor is None:
        raise TusResourceNotFound()
    target = resource.target
    if target.partial is None:
        await session.execute(
            delete(UploadChunk).where(
                UploadChunk.upload_id == target.upload_id,
                UploadChunk.file_index == target.file_index,
            )
        )
        await session.commit()
        await storage.delete_file(target.storage_id, target.file_index)
        names = await storage.list_tails(target.storage_id, f"p{target.file_index}-")
        await storage.delete_tails(target.storage_id, list(names))
    else:
        await session.commit()
    names = await storage.list_tails(target.storage_id, f"{target.key}.")
    # The descriptor goes last: until then the resource still answers (and can be retried).
    await storage.delete_tails(target.storage_id, [n for n in names if n != target.descriptor])
    await storage.delete_tails(target.storage_id, [target.descriptor])
