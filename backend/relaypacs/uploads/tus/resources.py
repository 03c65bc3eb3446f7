"""What a tus URL names and where its bytes are: the file itself (chunks through
`uploads.chunks.accept`, as our own protocol stores them) or a partial upload of it (pieces
kept apart until a final upload joins them). Both are laid out in pieces of the upload's
chunk size; the bytes past the last whole piece are a durable *tail* in the storage.

Storage names, under the upload (tails of `Storage`):
  f<i>.res / p<i>-<id>.res       the resource's descriptor (JSON: metadata, concat, length)
  p<i>-<id>.k<n>                 piece n of a partial upload (whole, durable)
  f<i>.c<n>.t<len> / p….c<n>.t<len>   a tail: the first <len> bytes of piece n

Nothing is ever rewritten (`Storage.write_tail` writes a name once): a longer tail is
written beside the shorter, which is removed afterwards, so two requests racing on one file
can never shrink an acknowledged offset nor put other bytes under it; a descriptor stays
as its resource was first created (a repeated creation keeps it, and what it joined).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.uploads.models import ChunkState, UploadChunk
from relaypacs.uploads.storage import Storage

_TAIL = re.compile(r"\.c(\d+)\.t(\d+)")
_PIECE = re.compile(r"\.k(\d+)")
PARTIAL_ID = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True, slots=True)
class Target:
    """A byte stream laid out in pieces of `chunk_size`: a file, or a partial upload of one."""

    upload_id: uuid.UUID
    file_index: int
    chunk_size: int
    length: int
    partial: str | None = None  # the partial upload's id; None for the file itself

    @property
    def key(self) -> str:
        if self.partial is None:
            return f"f{self.file_index}"
        return f"p{self.file_index}-{self.partial}"

    @property
    def storage_id(self) -> str:
        return self.upload_id.hex

    @property
    def pieces(self) -> int:
        whole = -(-self.length // self.chunk_size)
        # A zero-byte file is one empty chunk (uploads.service.total_chunks); a partial
        # upload of no bytes has no piece at all.
        return max(1, whole) if self.partial is None else whole

    def piece_length(self, index: int) -> int:
        return max(0, min(self.chunk_size, self.length - index * self.chunk_size))

    @property
    def descriptor(self) -> str:
        return f"{self.key}.res"

    def tail_name(self, piece: int, length: int) -> str:
        return f"{self.key}.c{piece}.t{length}"

    def piece_name(self, piece: int) -> str:
        return f"{self.key}.k{piece}"


@dataclass(frozen=True, slots=True)
class Position:
    """Where a target stands: its offset, and the tail (if any) that the offset includes."""

    offset: int
    piece: int  # the first piece not wholly stored (the one a tail belongs to)
    tail: str | None  # the name of the tail counted in `offset`
    names: dict[str, int]  # everything stored under the target's key, name → size
    created: bool  # its descriptor exists


def file_target(upload_id: uuid.UUID, file_index: int, chunk_size: int, size: int) -> Target:
    return Target(upload_id=upload_id, file_index=file_index, chunk_size=chunk_size, length=size)


async def stored_chunks(session: AsyncSession, *, target: Target) -> set[int]:
    rows = await session.scalars(
        select(UploadChunk.chunk_index).where(
            UploadChunk.upload_id == target.upload_id,
            UploadChunk.file_index == target.file_index,
            UploadChunk.state == ChunkState.stored,
        )
    )
    return set(rows)


async def position(session: AsyncSession, *, storage: Storage, target: Target) -> Position:
    """The contiguous prefix of whole pieces (the file's from its chunk rows, a partial's
    from its piece objects) plus the tail of the next piece, if one is stored."""
    names = await storage.list_tails(target.storage_id, f"{target.key}.")
    if target.partial is None:
        whole = await stored_chunks(session, target=target)
    else:
        whole = set()
        for name, size in names.items():
            match = _PIECE.fullmatch(name[len(target.key) :])
            if match and size == target.piece_length(int(match.group(1))):
                whole.add(int(match.group(1)))
    piece = 0
    while piece < target.pieces and piece in whole:
        piece += 1
    offset = min(piece * target.chunk_size, target.length)
    tail, tail_length = None, 0
    if piece < target.pieces:
        for name, size in names.items():
            match = _TAIL.fullmatch(name[len(target.key) :])
            if match is None or int(match.group(1)) != piece:
                continue
            length = int(match.group(2))
            if length == size and tail_length < length < target.piece_length(piece):
                tail, tail_length = name, length
    return Position(
        offset=offset + tail_length,
        piece=piece,
        tail=tail,
        names=names,
        created=target.descriptor in names,
    )


def obsolete_tails(target: Target, names: dict[str, int], *, piece: int, kept: int) -> list[str]:
    """Tails no offset counts any more: of pieces before `piece`, or of `piece` itself and
    shorter than the `kept` bytes now stored (a longer one, a racing request's, stays)."""
    obsolete = []
    for name in names:
        match = _TAIL.fullmatch(name[len(target.key) :])
        if match is None:
            continue
        index, length = int(match.group(1)), int(match.group(2))
        if index < piece or (index == piece and length < kept):
            obsolete.append(name)
    return obsolete


@dataclass(frozen=True, slots=True)
class Descriptor:
    length: int
    metadata: str | None = None
    concat: str | None = None

    def encode(self) -> bytes:
        return json.dumps(
            {"length": self.length, "metadata": self.metadata, "concat": self.concat}
        ).encode()

    @staticmethod
    def decode(raw: bytes) -> Descriptor:
        data: dict[str, Any] = json.loads(raw)
        return Descriptor(
            length=int(data["length"]), metadata=data.get("metadata"), concat=data.get("concat")
        )


async def describe(storage: Storage, target: Target, descriptor: Descriptor) -> bool:
    """Write the resource's descriptor unless it has one: False when it had (kept as is)."""
    return await storage.write_tail(target.storage_id, target.descriptor, descriptor.encode())


async def descriptor_of(storage: Storage, target: Target) -> Descriptor | None:
    raw = await storage.read_tail(target.storage_id, target.descriptor)
    return Descriptor.decode(raw) if raw is not None else None
