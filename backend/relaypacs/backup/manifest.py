"""What a backup holds: `manifest.json` (written last: a backup without one is incomplete)
and `objects.jsonl`, one line per stored object with its size and SHA-256."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from pydantic import BaseModel, ConfigDict

FORMAT = 1
MANIFEST = "manifest.json"
OBJECT_LIST = "objects.jsonl"
OBJECTS_DIR = "objects"
BLOCK_SIZE = 1024 * 1024


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class DatabasePart(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str  # "postgresql" or "sqlite"
    file: str
    size: int
    sha256: str
    server_version: str = ""
    revision: str = ""  # the Alembic revision the dump was taken at
    tables: dict[str, int]  # row count of every table, in the dumped snapshot


class StoragePart(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str  # "local" or "s3"
    objects: int
    bytes: int
    list_sha256: str  # of objects.jsonl


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True)

    format: int = FORMAT
    id: str
    app_version: str
    started_at: datetime
    finished_at: datetime
    database: DatabasePart
    storage: StoragePart


class ObjectEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    size: int
    sha256: str


def private_file(path: Path) -> BinaryIO:
    """Open `path` for writing, readable by its owner only (0600): backups and restored
    objects hold patient data, password hashes and TOTP secrets, like the live storage."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(fd, "wb")


def check_key(key: str) -> str:
    """A stored object's key, refused if it could escape its directory (a tampered list)."""
    path = PurePosixPath(key)
    if not key or path.is_absolute() or any(part in {"", ".", ".."} for part in path.parts):
        raise ValueError(f"unsafe object key in the backup's object list: {key!r}")
    if key != path.as_posix():
        raise ValueError(f"unsafe object key in the backup's object list: {key!r}")
    return key


def iter_lines(stream: Readable) -> Iterator[bytes]:
    """The lines of a stream, read a block at a time."""
    pending = b""
    while block := stream.read(BLOCK_SIZE):
        pending += block
        *lines, pending = pending.split(b"\n")
        yield from lines
    if pending:
        yield pending


def parse_entries(stream: Readable) -> Iterator[ObjectEntry]:
    """The entries of an object list (objects.jsonl), streamed."""
    for line in iter_lines(stream):
        if line.strip():
            entry = ObjectEntry.model_validate_json(line)
            check_key(entry.key)
            yield entry


def entry_line(entry: ObjectEntry) -> bytes:
    return json.dumps(entry.model_dump(), separators=(",", ":")).encode() + b"\n"


class HashingReader:
    """Reads a stream through, counting bytes and hashing them (SHA-256)."""

    def __init__(self, stream: Readable) -> None:
        self._stream = stream
        self.hash = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(BLOCK_SIZE if size is None or size < 0 else size)
        self.hash.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        while self.read(BLOCK_SIZE):
            pass

    @property
    def hexdigest(self) -> str:
        return self.hash.hexdigest()
