"""Checking stored bytes as the forwarder reads them: nothing corrupt leaves the gateway.

`complete` no longer reads a study's bytes again (uploads/receipt.py), so this is where a
chunk that changed on disk after it was acknowledged is caught: each chunk is read whole,
its MD5 compared with the one acknowledged, the file's SHA-256 with the one recorded, and
only verified bytes are handed on. A mismatch raises `StoredDataCorrupt` before the bad
chunk's bytes are returned; the request carrying the instance is then abandoned, so the
PACS never receives a complete body for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import BinaryIO

from relaypacs.uploads.storage.base import StoredDataMissing


class StoredDataCorrupt(Exception):
    """Stored bytes differ from what was acknowledged at receipt."""

    def __init__(self, file_index: int, chunk_index: int | None) -> None:
        where = f"chunk {chunk_index}" if chunk_index is not None else "its SHA-256"
        super().__init__(f"stored data of file {file_index} failed its integrity check ({where})")
        self.file_index = file_index
        self.chunk_index = chunk_index


class VerifyingReader:
    """A read-only stream over a stored file that only returns verified chunks."""

    def __init__(
        self,
        raw: BinaryIO,
        *,
        file_index: int,
        size: int,
        chunk_size: int,
        md5s: Sequence[str],
        sha256: str | None,
    ) -> None:
        self._raw = raw
        self._file_index = file_index
        self._size = size
        self._chunk_size = chunk_size
        self._md5s = md5s
        self._sha256 = sha256
        self._hash = hashlib.sha256()
        self._chunk = 0
        self._data = b""
        self._position = 0
        self._delivered = 0

    def _next_chunk(self) -> None:
        offset = self._chunk * self._chunk_size
        length = min(self._chunk_size, self._size - offset)
        data = self._raw.read(length)
        if len(data) != length:
            raise StoredDataMissing(file=self._file_index, chunk=self._chunk)
        expected = self._md5s[self._chunk] if self._chunk < len(self._md5s) else None
        if hashlib.md5(data, usedforsecurity=False).hexdigest() != expected:
            raise StoredDataCorrupt(self._file_index, self._chunk)
        self._hash.update(data)
        self._chunk += 1
        last = offset + length >= self._size
        if last and self._sha256 is not None and self._hash.hexdigest() != self._sha256:
            raise StoredDataCorrupt(self._file_index, None)
        self._data, self._position = data, 0

    def read(self, size: int = -1, /) -> bytes:
        if self._position >= len(self._data) and self._delivered < self._size:
            self._next_chunk()
        left = len(self._data) - self._position
        take = left if size is None or size < 0 else min(size, left)
        if self._position == 0 and take == len(self._data):
            part = self._data  # the whole chunk: no copy
        else:
            part = self._data[self._position : self._position + take]
        self._position += take
        self._delivered += take
        return part

    @property
    def sha256(self) -> str:
        """The SHA-256 of what was read (the whole file, once it has been read to the end)."""
        return self._hash.hexdigest()

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> VerifyingReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def verify_through(reader: VerifyingReader, block: int = 1024 * 1024) -> None:
    """Blocking: read a whole file through its verifier, keeping nothing."""
    while reader.read(block):
        pass
