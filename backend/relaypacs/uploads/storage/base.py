"""The storage interface: chunks go in durably, assembled files come out as streams."""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from typing import BinaryIO

import anyio.to_thread

from relaypacs.core.errors import AppError

# Hashing reads at most this much at a time, so memory stays flat even with 16 MiB chunks.
HASH_BLOCK_SIZE = 1024 * 1024

# Upload ids become path components and object keys: no separators, no dot-dot.
_UPLOAD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
# Tail names too (a dot may separate their parts, never lead them).
_TAIL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# The most a tail may hold: less than one chunk (core.config.MAX_CHUNK_SIZE).
MAX_TAIL_BYTES = 16 * 1024 * 1024


class StorageError(AppError):
    """The storage backend failed or is unreachable."""

    status_code = 503
    code = "storage_unavailable"
    message = "File storage is temporarily unavailable."


class StoredDataMissing(StorageError):
    """Data the caller believes stored is absent or shorter than expected."""

    # A server-side integrity problem, not a client error; the upload service is
    # expected to catch it and report the affected chunks as missing.
    status_code = 500
    code = "stored_data_missing"
    message = "Stored upload data is missing or incomplete."


def is_upload_id(value: str) -> bool:
    """Whether `value` is safe as a path component and an object key."""
    return _UPLOAD_ID.fullmatch(value) is not None


def check_upload_id(upload_id: str) -> str:
    """Return `upload_id`, or raise ValueError if it is not a safe upload id."""
    if not is_upload_id(upload_id):
        raise ValueError("upload id must be 1-128 characters of [A-Za-z0-9_-]")
    return upload_id


def check_tail_name(name: str) -> str:
    """Return `name`, or raise ValueError if it is not a safe tail name."""
    if _TAIL_NAME.fullmatch(name) is None or ".." in name:
        raise ValueError("tail name must be 1-128 characters of [A-Za-z0-9._-], no '..'")
    return name


def check_layout(size: int, chunk_size: int, total_chunks: int) -> None:
    """Reject a (size, chunk_size, total_chunks) triple that does not describe a file."""
    if size < 0 or chunk_size <= 0:
        raise ValueError("size must be >= 0 and chunk_size > 0")
    expected = -(-size // chunk_size)
    # A zero-byte file may be sent as no chunk or as one empty chunk.
    allowed = {0, 1} if size == 0 else {expected}
    if total_chunks not in allowed:
        raise ValueError(
            f"{size} bytes in chunks of {chunk_size} is {expected} chunks, not {total_chunks}"
        )


def chunk_length(size: int, chunk_size: int, total_chunks: int, chunk_index: int) -> int:
    """Length in bytes of chunk `chunk_index` of a file laid out as given."""
    if not 0 <= chunk_index < total_chunks:
        raise ValueError(f"chunk index {chunk_index} out of range 0..{total_chunks - 1}")
    return min(chunk_size, size - chunk_index * chunk_size)


def _check_indexes(*values: int) -> None:
    if any(value < 0 for value in values):
        raise ValueError("file index, chunk index and offset must be >= 0")


class Storage(ABC):
    """Chunk and file storage; async methods do their blocking work in one worker-thread call.

    Worker-thread calls are not abandoned on cancellation: a write that has started
    finishes (and is durable) even if the client disconnects meanwhile.
    """

    kind: str

    async def write_chunk(
        self,
        upload_id: str,
        file_index: int,
        chunk_index: int,
        offset: int,
        data: bytes,
        file_size: int,
    ) -> None:
        """Store one chunk durably; returns only once it would survive a crash."""
        check_upload_id(upload_id)
        _check_indexes(file_index, chunk_index, offset)
        if offset + len(data) > file_size:
            raise ValueError("chunk extends past the declared file size")
        await anyio.to_thread.run_sync(
            self._write_chunk, upload_id, file_index, chunk_index, offset, data, file_size
        )

    async def read_chunk(
        self, upload_id: str, file_index: int, chunk_index: int, offset: int, length: int
    ) -> bytes:
        """Return the stored bytes of one chunk (`length` bytes at `offset`)."""
        check_upload_id(upload_id)
        _check_indexes(file_index, chunk_index, offset, length)
        return await anyio.to_thread.run_sync(
            self._read_chunk, upload_id, file_index, chunk_index, offset, length
        )

    @abstractmethod
    def open_file(
        self, upload_id: str, file_index: int, size: int, chunk_size: int, total_chunks: int
    ) -> BinaryIO:
        """Open an assembled file as a seekable stream; blocking, so use a worker thread."""

    async def file_sha256_and_chunk_md5s(
        self, upload_id: str, file_index: int, size: int, chunk_size: int, total_chunks: int
    ) -> tuple[str, list[str]]:
        """Read a file once: its SHA-256 and the MD5 of every chunk, all as hex."""
        check_upload_id(upload_id)
        check_layout(size, chunk_size, total_chunks)
        return await anyio.to_thread.run_sync(
            self._hash_file, upload_id, file_index, size, chunk_size, total_chunks
        )

    async def delete_file(self, upload_id: str, file_index: int) -> None:
        """Discard one file's stored bytes (its chunks); the file can be written again."""
        check_upload_id(upload_id)
        _check_indexes(file_index)
        await anyio.to_thread.run_sync(self._delete_file, upload_id, file_index)

    # --- tails: small named blobs beside the chunks, each written whole and durably ---
    # A transport that receives a file as a stream (tus) keeps the bytes past the last
    # whole chunk here until the rest of that chunk arrives. They live under the upload
    # and go with it (`delete_upload`).

    async def write_tail(self, upload_id: str, name: str, data: bytes) -> bool:
        """Store one tail durably, once: True when written (only once it would survive a
        crash), False when a tail of that name exists already (it is left as it is, so two
        requests racing on one name can never replace each other's acknowledged bytes)."""
        check_upload_id(upload_id)
        check_tail_name(name)
        if len(data) > MAX_TAIL_BYTES:
            raise ValueError("a tail holds less than one chunk")
        written: bool = await anyio.to_thread.run_sync(self._write_tail, upload_id, name, data)
        return written

    async def read_tail(self, upload_id: str, name: str) -> bytes | None:
        """The bytes of one tail, or None when there is no such tail."""
        check_upload_id(upload_id)
        check_tail_name(name)
        return await anyio.to_thread.run_sync(self._read_tail, upload_id, name)

    async def list_tails(self, upload_id: str, prefix: str) -> dict[str, int]:
        """Name → size of the upload's tails whose names start with `prefix`."""
        check_upload_id(upload_id)
        if prefix:
            check_tail_name(prefix)
        return await anyio.to_thread.run_sync(self._list_tails, upload_id, prefix)

    async def delete_tails(self, upload_id: str, names: list[str]) -> None:
        """Remove these tails (absent ones are no error)."""
        check_upload_id(upload_id)
        for name in names:
            check_tail_name(name)
        if names:
            await anyio.to_thread.run_sync(self._delete_tails, upload_id, list(names))

    async def delete_upload(self, upload_id: str) -> int:
        """Remove everything stored for an upload; returns the bytes freed."""
        check_upload_id(upload_id)
        return await anyio.to_thread.run_sync(self._delete_upload, upload_id)

    async def list_upload_ids(self) -> list[str]:
        """Return the ids of every upload with something stored, sorted."""
        return await anyio.to_thread.run_sync(self._list_upload_ids)

    async def ping(self) -> None:
        """Raise StorageError unless the storage is reachable and writable."""
        await anyio.to_thread.run_sync(self._ping)

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release pooled connections, if any (call at shutdown)."""

    # --- blocking implementations, always run in a worker thread -----------------

    @abstractmethod
    def _write_chunk(
        self,
        upload_id: str,
        file_index: int,
        chunk_index: int,
        offset: int,
        data: bytes,
        file_size: int,
    ) -> None: ...

    @abstractmethod
    def _read_chunk(
        self, upload_id: str, file_index: int, chunk_index: int, offset: int, length: int
    ) -> bytes: ...

    @abstractmethod
    def _delete_upload(self, upload_id: str) -> int: ...

    @abstractmethod
    def _delete_file(self, upload_id: str, file_index: int) -> None: ...

    @abstractmethod
    def _write_tail(self, upload_id: str, name: str, data: bytes) -> bool: ...

    @abstractmethod
    def _read_tail(self, upload_id: str, name: str) -> bytes | None: ...

    @abstractmethod
    def _list_tails(self, upload_id: str, prefix: str) -> dict[str, int]: ...

    @abstractmethod
    def _delete_tails(self, upload_id: str, names: list[str]) -> None: ...

    @abstractmethod
    def _list_upload_ids(self) -> list[str]: ...

    @abstractmethod
    def _ping(self) -> None: ...

    def _hash_file(
        self, upload_id: str, file_index: int, size: int, chunk_size: int, total_chunks: int
    ) -> tuple[str, list[str]]:
        file_hash = hashlib.sha256()
        chunk_md5s: list[str] = []
        block_size = min(chunk_size, HASH_BLOCK_SIZE)
        with self.open_file(upload_id, file_index, size, chunk_size, total_chunks) as stream:
            for chunk_index in range(total_chunks):
                chunk_hash = hashlib.md5(usedforsecurity=False)
                remaining = chunk_length(size, chunk_size, total_chunks, chunk_index)
                while remaining:
                    block = stream.read(min(remaining, block_size))
                    if not block:
                        raise StoredDataMissing(
                            f"File {file_index} ends before chunk {chunk_index} is complete."
                        )
                    file_hash.update(block)
                    chunk_hash.update(block)
                    remaining -= len(block)
                chunk_md5s.append(chunk_hash.hexdigest())
        return file_hash.hexdigest(), chunk_md5s
