"""Streaming bytes into a target: the body is cut at piece boundaries as it arrives, each
whole piece stored durably (a file's through `chunks.accept`, exactly like a chunk PUT),
and what is left past the last whole piece kept as a durable tail. At most one piece is
held in memory. A checksummed body is first spooled to a temporary file and verified, so
nothing of it is stored unless it matches."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import IO, Any

import anyio
import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from relaypacs.uploads import chunks
from relaypacs.uploads.errors import ChunkConflict
from relaypacs.uploads.storage import Storage, StorageError
from relaypacs.uploads.tus.errors import OffsetMismatch, TusBodyTooLarge, TusChecksumMismatch
from relaypacs.uploads.tus.protocol import Checksum
from relaypacs.uploads.tus.resources import Position, Target, obsolete_tails

# A spooled body is written (and hashed) a batch at a time, each in one worker-thread call.
SPOOL_BATCH = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Received:
    offset: int  # the target's offset after this request: every byte counted is durable
    disconnected: bool  # the client went away before the end of its body


def check_declared(declared: int | None, remaining: int) -> None:
    """Refuse on Content-Length alone, before a byte is read."""
    if declared is not None and declared > remaining:
        raise TusBodyTooLarge(
            f"This upload takes {remaining} more bytes; the body declares {declared}.",
            limit=remaining,
        )


async def _store_piece(
    session: AsyncSession, storage: Storage, target: Target, piece: int, data: bytes
) -> None:
    if target.partial is None:
        await chunks.accept(
            session,
            storage=storage,
            upload_id=target.upload_id,
            chunk_size=target.chunk_size,
            file_size=target.length,
            file_index=target.file_index,
            chunk_index=piece,
            data=data,
            expected_md5=None,
        )
    else:
        await _store_once(storage, target, target.piece_name(piece), data)


async def _store_once(storage: Storage, target: Target, name: str, data: bytes) -> None:
    """Write a piece or tail that no request has written yet. One a racing request stored
    first stays: the same bytes again are accepted (a retry), other bytes are refused, so
    an offset once acknowledged never comes to hold other bytes."""
    for _ in range(3):
        if await storage.write_tail(target.storage_id, name, data):
            return
        existing = await storage.read_tail(target.storage_id, name)
        if existing == data:
            return
        if existing is not None:
            raise ChunkConflict("Another request stored other bytes at this offset meanwhile.")
        # Gone meanwhile (its request cleaned it up), or its write is still in progress.
        await anyio.sleep(0.05)
    raise ChunkConflict("Another request is storing bytes at this offset; ask for the offset.")


async def receive(
    session: AsyncSession,
    *,
    storage: Storage,
    target: Target,
    start: Position,
    parts: AsyncIterator[bytes],
) -> Received:
    """Apply `parts` at `start.offset`. A dropped connection (ClientDisconnect) keeps what
    arrived: the whole pieces and the tail; bytes past the target's length are refused."""
    piece = start.piece
    # The bytes of piece `piece` already held (in its tail); none once the target is whole.
    within = start.offset - min(piece * target.chunk_size, target.length)
    buffer = bytearray()
    if within:
        tail = await storage.read_tail(target.storage_id, start.tail) if start.tail else None
        if tail is None or len(tail) < within:  # moved on meanwhile: the client asks again
            raise OffsetMismatch()
        buffer += tail[:within]
    limit = target.length - start.offset
    received = 0
    disconnected = False
    try:
        async for part in parts:
            received += len(part)
            if received > limit:
                raise TusBodyTooLarge(
                    f"This upload takes {limit} more bytes from offset {start.offset}.",
                    limit=limit,
                )
            buffer += part
            while piece < target.pieces and len(buffer) >= target.piece_length(piece):
                length = target.piece_length(piece)
                await _store_piece(session, storage, target, piece, bytes(buffer[:length]))
                del buffer[:length]
                piece += 1
    except ClientDisconnect:
        disconnected = True
    # A zero-byte file's one (empty) chunk, when the body brought nothing.
    if piece < target.pieces and target.piece_length(piece) == 0:
        await _store_piece(session, storage, target, piece, b"")
        piece += 1
    if buffer and received:
        name = target.tail_name(piece, len(buffer))
        await _store_once(storage, target, name, bytes(buffer))
    with contextlib.suppress(StorageError):  # leftovers only cost space; the upload owns them
        names = await storage.list_tails(target.storage_id, f"{target.key}.c")
        await storage.delete_tails(
            target.storage_id, obsolete_tails(target, names, piece=piece, kept=len(buffer))
        )
    return Received(offset=start.offset + received, disconnected=disconnected)


async def verified(
    parts: AsyncIterator[bytes], *, checksum: Checksum, limit: int, block: int
) -> AsyncGenerator[bytes]:
    """The body, spooled to a temporary file and checked against its Upload-Checksum before
    a byte is yielded (460 otherwise); then read back `block` bytes at a time."""
    spool: IO[bytes] = await anyio.to_thread.run_sync(tempfile.TemporaryFile)
    try:
        digest: Any = checksum.new()
        batch = bytearray()
        received = 0

        def flush(data: bytes) -> None:
            spool.write(data)
            digest.update(data)

        async for part in parts:
            received += len(part)
            if received > limit:
                raise TusBodyTooLarge(f"This upload takes {limit} more bytes.", limit=limit)
            batch += part
            if len(batch) >= SPOOL_BATCH:
                await anyio.to_thread.run_sync(flush, bytes(batch))
                batch.clear()
        await anyio.to_thread.run_sync(flush, bytes(batch))
        if digest.digest() != checksum.digest:
            raise TusChecksumMismatch(algorithm=checksum.algorithm)
        await anyio.to_thread.run_sync(spool.seek, 0)
        while data := await anyio.to_thread.run_sync(spool.read, block):
            yield data
    finally:
        await anyio.to_thread.run_sync(spool.close)
