"""Receiving one chunk: verified, durably written, then acknowledged — exactly once per bytes."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import anyio.to_thread
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.core import metrics
from relaypacs.core.database import execute_dml, utcnow
from relaypacs.core.errors import AppError, PayloadTooLarge
from relaypacs.uploads import receipt, states
from relaypacs.uploads.errors import (
    ChecksumMismatch,
    ChunkConflict,
    ChunkOutOfRange,
    MissingContentMd5,
    UploadCancelled,
    UploadCompleted,
    UploadExpired,
    WrongChunkSize,
)
from relaypacs.uploads.models import ChunkState, Upload, UploadChunk, UploadFile, UploadState
from relaypacs.uploads.schemas import ChunkAck
from relaypacs.uploads.storage import Storage
from relaypacs.uploads.storage.base import chunk_length

# A claim older than this, never confirmed, belongs to a request that died mid-write.
STALE_CLAIM = timedelta(minutes=2)


def parse_content_md5(header: str | None) -> str:
    """Base64 (RFC 1864) to hex; 400 when absent or malformed."""
    if not header:
        raise MissingContentMd5()
    try:
        digest = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise MissingContentMd5("Content-MD5 must be the base64 of a 16-byte MD5 digest.")
    return digest.hex()


def ensure_accepts_chunks(upload: Upload) -> None:
    if upload.state is UploadState.expired or (
        upload.state is UploadState.uploading and upload.expires_at <= utcnow()
    ):
        raise UploadExpired()
    if upload.state is UploadState.cancelled:
        raise UploadCancelled()
    if upload.state is not UploadState.uploading:
        raise UploadCompleted(state=upload.state.value)


def check_declared_length(declared: int | None, expected: int, chunk_size: int) -> None:
    """Refuse on Content-Length alone, before a byte is read: over the upload's chunk size
    is 413, any other length but this chunk's is 400."""
    if declared is None:
        return
    if declared > chunk_size:
        raise PayloadTooLarge(chunk_size)
    if declared != expected:
        raise WrongChunkSize(
            f"This chunk must be exactly {expected} bytes; got {declared}.", expected=expected
        )


async def read_body(body: AsyncIterator[bytes], expected: int, chunk_size: int) -> bytes:
    """Read one chunk's worth, never more: past `expected` bytes the rest is only counted,
    and a body over the upload's chunk size is refused (413) as soon as it passes it."""
    buffer = bytearray()
    received = 0
    async for part in body:
        received += len(part)
        if received > chunk_size:
            raise PayloadTooLarge(chunk_size)
        if len(buffer) < expected:
            buffer += part[: expected - len(buffer)]
    if received != expected:
        raise WrongChunkSize(
            f"This chunk must be exactly {expected} bytes; got {received}.", expected=expected
        )
    return bytes(buffer)


def _digest_values(digest: receipt.ChunkDigest) -> dict[str, object]:
    sha256, chain = digest.file_digest or (None, None)
    return {"header": digest.header, "file_sha256": sha256, "sha256_chain": chain}


async def _claim(
    session: AsyncSession,
    *,
    upload_id: uuid.UUID,
    file_index: int,
    chunk_index: int,
    md5: str,
    size: int,
    digest: receipt.ChunkDigest,
) -> ChunkState | None:
    """Reserve the chunk for these bytes. Returns the existing state when already ours."""
    # A Core INSERT: this runs once per chunk, and the ORM's unit of work costs more.
    try:
        await session.execute(
            insert(UploadChunk).values(
                upload_id=upload_id,
                file_index=file_index,
                chunk_index=chunk_index,
                md5=md5,
                size=size,
                state=ChunkState.writing,
                claimed_at=utcnow(),
                **_digest_values(digest),
            )
        )
        await session.commit()
        return None
    except IntegrityError:
        await session.rollback()
    existing = await session.scalar(
        select(UploadChunk).where(
            UploadChunk.upload_id == upload_id,
            UploadChunk.file_index == file_index,
            UploadChunk.chunk_index == chunk_index,
        )
    )
    if existing is None:  # vanished meanwhile (cleanup); treat as conflict, client retries
        raise ChunkConflict("The chunk changed meanwhile; send it again.")
    if existing.md5 == md5:
        return existing.state
    if existing.state is ChunkState.writing and existing.claimed_at < utcnow() - STALE_CLAIM:
        # The earlier writer died before confirming: these bytes may take its place.
        taken = await execute_dml(
            session,
            update(UploadChunk)
            .where(
                UploadChunk.upload_id == upload_id,
                UploadChunk.file_index == file_index,
                UploadChunk.chunk_index == chunk_index,
                UploadChunk.md5 == existing.md5,
                UploadChunk.state == ChunkState.writing,
            )
            .values(md5=md5, claimed_at=utcnow(), **_digest_values(digest))
            .execution_options(synchronize_session=False),
        )
        await session.commit()
        if taken == 1:
            return ChunkState.writing
    raise ChunkConflict(file=file_index, index=chunk_index)


async def _claim_lost(session: AsyncSession, *, storage: Storage, upload_id: uuid.UUID) -> None:
    """The claim was gone when the bytes were written: never a 200. Cancelled or expired
    meanwhile: what this request wrote is deleted too, and the answer says why (410).
    Otherwise another request took the claim over with other bytes: 409."""
    upload = await session.get(Upload, upload_id, populate_existing=True)
    if upload is None or upload.state in states.GONE:
        await storage.delete_upload(upload_id.hex)
    if upload is not None:
        ensure_accepts_chunks(upload)
    raise ChunkConflict("Another request replaced this chunk meanwhile; send it again.")


async def receive(
    session: AsyncSession,
    *,
    storage: Storage,
    upload: Upload,
    file: UploadFile | None,
    file_index: int,
    chunk_index: int,
    content_md5: str | None,
    content_length: int | None,
    body: AsyncIterator[bytes],
) -> ChunkAck:
    """Store one chunk; answer only once it is durable (fsync or S3 PUT acknowledged).
    A refusal is counted by its error code (`relaypacs_upload_chunks_rejected_total`)."""
    try:
        return await _receive(
            session,
            storage=storage,
            upload=upload,
            file=file,
            file_index=file_index,
            chunk_index=chunk_index,
            content_md5=content_md5,
            content_length=content_length,
            body=body,
        )
    except AppError as exc:
        metrics.UPLOAD_CHUNKS_REJECTED.labels(exc.code).inc()
        raise


async def _receive(
    session: AsyncSession,
    *,
    storage: Storage,
    upload: Upload,
    file: UploadFile | None,
    file_index: int,
    chunk_index: int,
    content_md5: str | None,
    content_length: int | None,
    body: AsyncIterator[bytes],
) -> ChunkAck:
    ensure_accepts_chunks(upload)
    md5 = parse_content_md5(content_md5)
    if file is None or not 0 <= chunk_index < file.total_chunks:
        raise ChunkOutOfRange(file=file_index, index=chunk_index)
    # Plain values: a rolled-back claim expires the ORM objects.
    upload_id, chunk_size, file_size = upload.id, upload.chunk_size, file.size
    expected = chunk_length(file_size, chunk_size, file.total_chunks, chunk_index)
    check_declared_length(content_length, expected, chunk_size)
    # No connection is held while a (slow) client sends the bytes: end the read first.
    await session.commit()
    data = await read_body(body, expected, chunk_size)
    return await accept(
        session,
        storage=storage,
        upload_id=upload_id,
        chunk_size=chunk_size,
        file_size=file_size,
        file_index=file_index,
        chunk_index=chunk_index,
        data=data,
        expected_md5=md5,
    )


async def accept(
    session: AsyncSession,
    *,
    storage: Storage,
    upload_id: uuid.UUID,
    chunk_size: int,
    file_size: int,
    file_index: int,
    chunk_index: int,
    data: bytes,
    expected_md5: str | None,
) -> ChunkAck:
    """Store one whole chunk's bytes (already read, of the chunk's exact length) whichever
    transport brought them: digest them, check them against `expected_md5` when the client
    sent one (400 checksum_mismatch otherwise), claim the chunk, write it durably and
    confirm it. Returns once it is durable; idempotent for the same bytes."""
    total = -(-file_size // chunk_size) or 1
    extension = receipt.running_hashes.begin(upload_id, file_index, chunk_index, total)
    digest = await anyio.to_thread.run_sync(
        lambda: receipt.digest(
            data, chunk_index=chunk_index, file_size=file_size, extension=extension
        )
    )
    md5 = digest.md5
    if expected_md5 is not None and md5 != expected_md5:
        raise ChecksumMismatch()
    expected = len(data)
    state = await _claim(
        session,
        upload_id=upload_id,
        file_index=file_index,
        chunk_index=chunk_index,
        md5=md5,
        size=expected,
        digest=digest,
    )
    if state is ChunkState.stored:
        metrics.UPLOAD_CHUNKS.labels("duplicate").inc()
        return ChunkAck(file=file_index, index=chunk_index, md5=md5)
    await storage.write_chunk(
        upload_id.hex,
        file_index,
        chunk_index,
        chunk_index * chunk_size,
        data,
        file_size,
    )
    confirmed = await execute_dml(
        session,
        update(UploadChunk)
        .where(
            UploadChunk.upload_id == upload_id,
            UploadChunk.file_index == file_index,
            UploadChunk.chunk_index == chunk_index,
            UploadChunk.md5 == md5,
        )
        .values(state=ChunkState.stored)
        .execution_options(synchronize_session=False),
    )
    await session.commit()
    if confirmed != 1:
        await _claim_lost(session, storage=storage, upload_id=upload_id)
    metrics.UPLOAD_CHUNKS.labels("stored").inc()
    metrics.UPLOAD_BYTES.inc(expected)
    work = receipt.running_hashes.confirmed(
        upload_id, file_index, chunk_index, extension, data, md5
    )
    if work is not None:
        await _catch_up(session, work, upload_id=upload_id, file_index=file_index, total=total)
    return ChunkAck(file=file_index, index=chunk_index, md5=md5)


async def _catch_up(
    session: AsyncSession,
    work: receipt.CatchUp,
    *,
    upload_id: uuid.UUID,
    file_index: int,
    total: int,
) -> None:
    """Hash the held chunks that this one let through; record the file's SHA-256 on its
    last chunk's row when they reach the end."""
    pending: receipt.CatchUp | None = work
    while pending is not None:
        hashing = pending
        try:
            file_digest = await anyio.to_thread.run_sync(receipt.running_hashes.catch_up, hashing)
        finally:
            pending = receipt.running_hashes.finish(hashing)
        if file_digest is not None:
            await _record_file_digest(session, upload_id, file_index, total - 1, file_digest)


async def _record_file_digest(
    session: AsyncSession,
    upload_id: uuid.UUID,
    file_index: int,
    last_chunk: int,
    file_digest: tuple[str, str],
) -> None:
    await session.execute(
        update(UploadChunk)
        .where(
            UploadChunk.upload_id == upload_id,
            UploadChunk.file_index == file_index,
            UploadChunk.chunk_index == last_chunk,
        )
        .values(file_sha256=file_digest[0], sha256_chain=file_digest[1])
        .execution_options(synchronize_session=False)
    )
    await session.commit()
