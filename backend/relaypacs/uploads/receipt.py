"""What completion needs, computed while a chunk's bytes are in memory anyway.

- Every chunk: its MD5 (checked against Content-MD5; the forwarder checks it again as it
  reads the stored bytes, see `pacs.verify`).
- The first chunk of a file: the DICOM header, judged as `dicom.inspect_file` would judge
  the whole file (kept on the chunk's row as JSON), when the header fits in that chunk.
- The file's SHA-256, by a running hash per file in this process (`RunningHashes`): chunks
  that arrive in order are hashed as they come; a few that arrive early are held (bounded)
  until the gap before them fills. The digest goes on the last chunk's row with the MD5
  chain it was computed over, so `complete` can tell it covers exactly the stored chunks.

When any of this is missing (the header runs past the first chunk, the chunks of a file
went to several processes, or the process restarted mid-file), `complete` reads that file
as it always did: slower, never wrong. Blocking functions here run in a worker thread.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from relaypacs.uploads import dicom

MAX_FILES = 4096  # files being hashed at once per process (least recently used go)
MAX_HELD_BYTES = 64 * 1024 * 1024  # early chunks held per process, waiting for their turn
MAX_HELD_PER_FILE = 16


def md5_chain(md5s: Sequence[str]) -> str:
    """What a file's SHA-256 was computed over: the MD5 of its chunks' MD5s, in order."""
    chain = hashlib.md5(usedforsecurity=False)
    for md5 in md5s:
        chain.update(md5.encode("ascii"))
    return chain.hexdigest()


# --- the header, from the first chunk ---------------------------------------------------


class _Head(io.RawIOBase):
    """The first bytes of a file that is `size` bytes long: reads past them are noted."""

    def __init__(self, data: bytes, size: int) -> None:
        self._data = data
        self._size = size
        self._position = 0
        self.overran = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        end = self._size if size is None or size < 0 else self._position + size
        end = min(end, self._size)
        if end > len(self._data):
            self.overran = True
        part = self._data[self._position : end]
        self._position += len(part)
        return part

    def seek(self, offset: int, whence: int = 0, /) -> int:
        base = {0: 0, 1: self._position, 2: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position


def inspect_head(data: bytes, size: int) -> dicom.DicomInspection | None:
    """Judge a file from its first chunk; None when the header does not fit in it."""
    head = _Head(data, size)
    inspection = dicom.inspect_file(head)  # type: ignore[arg-type]
    return None if head.overran else inspection


def inspection_to_json(inspection: dicom.DicomInspection) -> dict[str, Any]:
    return {
        "outcome": inspection.outcome.value,
        "reason": inspection.reason,
        "warnings": list(inspection.warnings),
        "instance": asdict(inspection.instance) if inspection.instance else None,
    }


def inspection_from_json(value: dict[str, Any]) -> dicom.DicomInspection:
    instance = value.get("instance")
    return dicom.DicomInspection(
        dicom.Outcome(value["outcome"]),
        instance=dicom.DicomInstance(**instance) if instance else None,
        reason=value.get("reason"),
        warnings=tuple(value.get("warnings") or ()),
    )


# --- the running SHA-256 ----------------------------------------------------------------


@dataclass(slots=True)
class Extension:
    """A copy of a file's running hash, to extend with the next chunk off the event loop."""

    sha256: Any
    chain: Any
    last: bool

    def digest(self) -> tuple[str, str] | None:
        """(file SHA-256, MD5 chain) once the last chunk is in, else None."""
        return (self.sha256.hexdigest(), self.chain.hexdigest()) if self.last else None


@dataclass(slots=True)
class _File:
    total: int
    next: int = 0
    sha256: Any = field(default_factory=hashlib.sha256)
    chain: Any = field(default_factory=lambda: hashlib.md5(usedforsecurity=False))
    held: dict[int, tuple[bytes, str]] = field(default_factory=dict)
    busy: bool = False


@dataclass(frozen=True, slots=True)
class CatchUp:
    """Held chunks that are next in line now, to hash (blocking) and then `finish`."""

    key: tuple[uuid.UUID, int]
    chunks: list[tuple[bytes, str]]
    last: bool


class RunningHashes:
    """In-order SHA-256 per file, for this process. Only the event loop calls these
    methods; the hashing itself (`extend`, `catch_up`) runs on copies or on a file marked
    busy, in worker threads."""

    def __init__(
        self,
        *,
        max_files: int = MAX_FILES,
        max_held_bytes: int = MAX_HELD_BYTES,
        max_held_per_file: int = MAX_HELD_PER_FILE,
    ) -> None:
        self._files: OrderedDict[tuple[uuid.UUID, int], _File] = OrderedDict()
        # Files given up on (too far out of order): never started again from a later chunk.
        self._gave_up: OrderedDict[tuple[uuid.UUID, int], None] = OrderedDict()
        self._held_bytes = 0
        self.max_files = max_files
        self.max_held_bytes = max_held_bytes
        self.max_held_per_file = max_held_per_file

    def _entry(self, key: tuple[uuid.UUID, int], total: int, index: int) -> _File | None:
        entry = self._files.get(key)
        if entry is None:
            if index >= self.max_held_per_file or key in self._gave_up:
                return None  # joined mid-file (another process had the start): give up
            entry = self._files[key] = _File(total=total)
            while len(self._files) > self.max_files:
                self._drop(next(iter(self._files)))
        self._files.move_to_end(key)
        return entry

    def _drop(self, key: tuple[uuid.UUID, int]) -> None:
        entry = self._files.pop(key, None)
        if entry is not None:
            self._held_bytes -= sum(len(data) for data, _ in entry.held.values())

    def _give_up(self, key: tuple[uuid.UUID, int]) -> None:
        self._drop(key)
        self._gave_up[key] = None
        while len(self._gave_up) > self.max_files:
            self._gave_up.popitem(last=False)

    def begin(
        self, upload_id: uuid.UUID, file_index: int, index: int, total: int
    ) -> Extension | None:
        """Before digesting chunk `index`: a copy to extend, when it is the next in line."""
        entry = self._entry((upload_id, file_index), total, index)
        if entry is None or entry.busy or entry.next != index or entry.total != total:
            return None
        return Extension(entry.sha256.copy(), entry.chain.copy(), index == total - 1)

    def confirmed(
        self,
        upload_id: uuid.UUID,
        file_index: int,
        index: int,
        extension: Extension | None,
        data: bytes,
        md5: str,
    ) -> CatchUp | None:
        """Chunk `index` is durable: advance past it (or hold it until its turn). Returns
        held chunks that have become next in line, for the caller to hash and `finish`."""
        key = (upload_id, file_index)
        entry = self._files.get(key)
        if entry is None:
            return None
        if extension is not None and entry.next == index and not entry.busy:
            entry.sha256, entry.chain, entry.next = extension.sha256, extension.chain, index + 1
        elif index >= entry.next and index not in entry.held:
            # Early, or next in line but digested before its turn came: held, then hashed.
            fits = self._held_bytes + len(data) <= self.max_held_bytes
            if not fits or len(entry.held) >= self.max_held_per_file:
                self._give_up(key)  # too far ahead: this file's SHA-256 is read at completion
                return None
            entry.held[index] = (data, md5)
            self._held_bytes += len(data)
        return self._next_in_line(key, entry)

    def _next_in_line(self, key: tuple[uuid.UUID, int], entry: _File) -> CatchUp | None:
        if entry.busy:
            return None  # the running catch-up takes these on when it finishes
        if entry.next >= entry.total:
            self._drop(key)
            return None
        chunks: list[tuple[bytes, str]] = []
        position = entry.next
        while position in entry.held:
            chunks.append(entry.held.pop(position))
            position += 1
        if not chunks:
            return None
        self._held_bytes -= sum(len(data) for data, _ in chunks)
        entry.busy = True
        return CatchUp(key, chunks, last=position == entry.total)

    def catch_up(self, work: CatchUp) -> tuple[str, str] | None:
        """Blocking: hash the chunks of `work` into their file's (busy) running hash."""
        entry = self._files.get(work.key)
        if entry is None:
            return None
        for data, md5 in work.chunks:
            entry.sha256.update(data)
            entry.chain.update(md5.encode("ascii"))
        entry.next += len(work.chunks)
        return (entry.sha256.hexdigest(), entry.chain.hexdigest()) if work.last else None

    def finish(self, work: CatchUp) -> CatchUp | None:
        """After `catch_up`: the file is free again; more held chunks may be next now."""
        entry = self._files.get(work.key)
        if entry is None:
            return None
        entry.busy = False
        return self._next_in_line(work.key, entry)

    def forget(self, upload_id: uuid.UUID) -> None:
        """An upload's chunks were discarded (cancelled, terminated): drop its hashes."""
        for key in [k for k in self._files if k[0] == upload_id]:
            self._drop(key)


# One per process: the chunk route's requests all share it.
running_hashes = RunningHashes()


@dataclass(frozen=True, slots=True)
class ChunkDigest:
    md5: str
    file_digest: tuple[str, str] | None  # (SHA-256, MD5 chain) when this chunk ends the file
    header: dict[str, Any] | None  # the first chunk's DICOM verdict, when it fits


def digest(
    data: bytes, *, chunk_index: int, file_size: int, extension: Extension | None
) -> ChunkDigest:
    """Blocking: everything completion will need from these bytes, in one pass each."""
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    file_digest = None
    if extension is not None:
        extension.sha256.update(data)
        extension.chain.update(md5.encode("ascii"))
        file_digest = extension.digest()
    header = None
    if chunk_index == 0:
        inspection = inspect_head(data, file_size)
        header = inspection_to_json(inspection) if inspection is not None else None
    return ChunkDigest(md5, file_digest, header)
