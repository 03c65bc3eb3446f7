"""tus creation (POST /api/tus/): a file of an upload opened with POST /api/upload/init,
a partial upload of it, or a final upload joining partials into it (concatenation).
The Upload-Metadata names the upload (`upload_id`) and the file (`file_index`)."""

from __future__ import annotations

import contextlib
import re
import secrets
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.core.config import CoreSettings
from relaypacs.uploads import chunks
from relaypacs.uploads.dependencies import chunk_transfer
from relaypacs.uploads.models import Upload, UploadFile
from relaypacs.uploads.schemas import MAX_FILES
from relaypacs.uploads.storage import Storage, StoredDataMissing
from relaypacs.uploads.tus import transfer
from relaypacs.uploads.tus.errors import (
    ConcatLengthMismatch,
    DeferLengthUnsupported,
    FileOutOfRange,
    InvalidConcat,
    InvalidTusMetadata,
    OffsetMismatch,
    PartialIncomplete,
    PartialNotFound,
    TooManyPartials,
    TusMaxSizeExceeded,
    UploadLengthMismatch,
)
from relaypacs.uploads.tus.protocol import (
    Concat,
    canonical_metadata,
    is_offset_stream,
    metadata_text,
    non_negative,
    parse_concat,
    parse_metadata,
)
from relaypacs.uploads.tus.resources import (
    PARTIAL_ID,
    Descriptor,
    Position,
    Target,
    describe,
    descriptor_of,
    file_target,
    position,
)
from relaypacs.uploads.tus.service import expiry_headers, file_location, partial_location

_PARTIAL_PATH = re.compile(r"/tus/([0-9a-fA-F-]{32,36})/([0-9]{1,6})/partials/([0-9a-f]{16})/?")


@dataclass(frozen=True, slots=True)
class CreationRequest:
    upload_length: str | None
    upload_defer_length: str | None
    upload_metadata: str | None
    upload_concat: str | None
    content_type: str | None
    content_length: int | None
    credentials: HTTPAuthorizationCredentials | None
    upload_token: str | None
    root_path: str


@dataclass(frozen=True, slots=True)
class Created:
    location: str
    headers: dict[str, str]


def parse_upload_id(text: str | None) -> uuid.UUID:
    try:
        return uuid.UUID(text or "")
    except ValueError:
        raise InvalidTusMetadata("upload_id must be the upload's id from init.") from None


def parse_file_index(text: str | None) -> int:
    if text is None or not (text.isascii() and text.isdigit()) or int(text) >= MAX_FILES:
        raise InvalidTusMetadata("file_index must be the file's index from init.")
    return int(text)


def parse_partial_url(url: str) -> tuple[uuid.UUID, int, str]:
    try:
        match = _PARTIAL_PATH.search(urlsplit(url).path)
        if match is not None:
            return uuid.UUID(match.group(1)), int(match.group(2)), match.group(3)
    except ValueError:  # an unparsable URL, or an id that is no UUID
        pass
    raise InvalidConcat("Upload-Concat names a URL that is not a partial upload of this server.")


async def _load(
    session: AsyncSession,
    settings: CoreSettings,
    request: CreationRequest,
    upload_id: uuid.UUID,
    file_index: int,
) -> tuple[Upload, UploadFile]:
    """The owner's access token or the upload's token, as for our own chunks; then the file."""
    loaded = await chunk_transfer(
        upload_id=upload_id,
        file=file_index,
        session=session,
        settings=settings,
        credentials=request.credentials,
        x_upload_token=request.upload_token,
    )
    chunks.ensure_accepts_chunks(loaded.upload)
    if loaded.file is None:
        raise FileOutOfRange(file=file_index)
    return loaded.upload, loaded.file


# Partial uploads a file may have at once (and a final may join): each holds up to the
# file's size in storage, so their number is what bounds the storage one upload can take.
MAX_PARTIALS = 32


async def create(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    storage: Storage,
    request: CreationRequest,
    body: AsyncIterator[bytes],
) -> Created:
    """Validate every header before anything is written; then create the resource."""
    if request.upload_defer_length is not None:
        raise DeferLengthUnsupported()
    concat = parse_concat(request.upload_concat)
    pairs = parse_metadata(request.upload_metadata)
    metadata = canonical_metadata(pairs) or None
    if concat is not None and concat.final:
        if request.upload_length is not None:
            raise InvalidConcat("A final upload takes no Upload-Length (it is its partials').")
        return await _create_final(session, settings, storage, request, pairs, metadata, concat)
    length = non_negative(request.upload_length, "Upload-Length")
    assert length is not None
    if length > settings.upload_max_total_bytes:
        raise TusMaxSizeExceeded(limit=settings.upload_max_total_bytes)
    if "upload_id" not in pairs or "file_index" not in pairs:
        raise InvalidTusMetadata()
    upload_id = parse_upload_id(metadata_text(pairs, "upload_id"))
    file_index = parse_file_index(metadata_text(pairs, "file_index"))
    upload, file = await _load(session, settings, request, upload_id, file_index)
    expiry = expiry_headers(upload)
    if concat is not None:  # partial
        if length > file.size:
            raise UploadLengthMismatch(
                f"A partial upload of this file has at most {file.size} bytes.", limit=file.size
            )
        existing = await storage.list_tails(upload.id.hex, f"p{file_index}-")
        if sum(1 for name in existing if name.endswith(".res")) >= MAX_PARTIALS:
            raise TooManyPartials(limit=MAX_PARTIALS)
        partial = secrets.token_hex(8)
        target = Target(upload.id, file_index, upload.chunk_size, length, partial=partial)
        location = partial_location(request.root_path, upload.id, file_index, partial)
    else:
        if length != file.size:
            raise UploadLengthMismatch(
                f"File {file_index} was declared with {file.size} bytes at init, not {length}.",
                expected=file.size,
            )
        target = file_target(upload.id, file_index, upload.chunk_size, file.size)
        location = file_location(request.root_path, upload.id, file_index)
    with_data = is_offset_stream(request.content_type)
    if with_data:
        transfer.check_declared(request.content_length, length)
    # Repeated for the same file, creation keeps what is stored: the resource is the file.
    where = await position(session, storage=storage, target=target)
    await session.commit()
    await describe(storage, target, Descriptor(length=length, metadata=metadata))
    offset = where.offset
    if (with_data and offset == 0) or target.length == 0:
        parts = body if with_data else _none()
        received = await transfer.receive(
            session, storage=storage, target=target, start=where, parts=parts
        )
        offset = received.offset
    return Created(location=location, headers={"Upload-Offset": str(offset), **expiry})


async def _create_final(
    session: AsyncSession,
    settings: CoreSettings,
    storage: Storage,
    request: CreationRequest,
    pairs: dict[str, bytes],
    metadata: str | None,
    concat: Concat,
) -> Created:
    """Join the partial uploads, in order, into the file: streamed piece by piece through
    the same path as a PATCH (so every chunk goes through `chunks.accept`)."""
    if len(concat.urls) > MAX_PARTIALS or len(set(concat.urls)) != len(concat.urls):
        raise InvalidConcat(
            f"A final upload joins at most {MAX_PARTIALS} partial uploads, each once.",
            limit=MAX_PARTIALS,
        )
    named = [parse_partial_url(url) for url in concat.urls]
    if "upload_id" in pairs:
        upload_id = parse_upload_id(metadata_text(pairs, "upload_id"))
        file_index = parse_file_index(metadata_text(pairs, "file_index"))
    else:
        upload_id, file_index = named[0][0], named[0][1]
    if any((u, f) != (upload_id, file_index) for u, f, _ in named):
        raise InvalidConcat("Every partial upload must belong to the file being assembled.")
    upload, file = await _load(session, settings, request, upload_id, file_index)
    expiry = expiry_headers(upload)
    partials: list[Target] = []
    for _, _, partial in named:
        if PARTIAL_ID.fullmatch(partial) is None:
            raise PartialNotFound()
        probe = Target(upload.id, file_index, upload.chunk_size, 0, partial=partial)
        descriptor = await descriptor_of(storage, probe)
        if descriptor is None:
            raise PartialNotFound(partial=partial)
        target = Target(upload.id, file_index, upload.chunk_size, descriptor.length, partial)
        where = await position(session, storage=storage, target=target)
        if where.offset != target.length:
            raise PartialIncomplete(partial=partial, offset=where.offset, length=target.length)
        partials.append(target)
    total = sum(p.length for p in partials)
    if total != file.size:
        raise ConcatLengthMismatch(
            f"The partial uploads hold {total} bytes; file {file_index} has {file.size}.",
            expected=file.size,
        )
    target = file_target(upload.id, file_index, upload.chunk_size, file.size)
    await session.commit()
    joined = _pieces(storage, partials)
    # From the file's first byte: chunks already stored take the same bytes again (accept
    # is idempotent) and other bytes are a 409 chunk_conflict.
    start = Position(offset=0, piece=0, tail=None, names={}, created=True)
    async with contextlib.aclosing(joined):
        await transfer.receive(session, storage=storage, target=target, start=start, parts=joined)
    # The partials go only once the file holds every byte of them, durably.
    where = await position(session, storage=storage, target=target)
    await session.commit()
    if where.offset != file.size:
        raise OffsetMismatch(  # e.g. a termination raced the join: the partials stay
            f"After the join the file holds {where.offset} of {file.size} bytes; join again.",
            offset=where.offset,
        )
    value = "final;" + " ".join(concat.urls)
    final = Descriptor(length=file.size, metadata=metadata, concat=value)
    if not await describe(storage, target, final):
        # The file was created plainly before: it is this final upload now (read-only).
        existing = await descriptor_of(storage, target)
        if existing is None or existing.concat != value:
            await storage.delete_tails(target.storage_id, [target.descriptor])
            await describe(storage, target, final)
    for joined_part in partials:  # joined: their bytes are the file's now
        names = await storage.list_tails(joined_part.storage_id, f"{joined_part.key}.")
        await storage.delete_tails(joined_part.storage_id, list(names))
    location = file_location(request.root_path, upload.id, file_index)
    return Created(location=location, headers={"Upload-Offset": str(file.size), **expiry})


async def _pieces(storage: Storage, partials: list[Target]) -> AsyncGenerator[bytes]:
    for partial in partials:
        for piece in range(partial.pieces):
            data = await storage.read_tail(partial.storage_id, partial.piece_name(piece))
            if data is None or len(data) != partial.piece_length(piece):
                raise StoredDataMissing(partial=partial.partial, piece=piece)
            yield data


async def _none() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an (empty) async generator
