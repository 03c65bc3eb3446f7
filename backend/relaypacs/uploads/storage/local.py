"""Local-directory storage: each chunk is written in place at its offset in a `.part` file."""

from __future__ import annotations

import io
import os
import secrets
import shutil
import tempfile
import threading
from pathlib import Path
from typing import BinaryIO

from relaypacs.uploads.storage.base import (
    Storage,
    StorageError,
    StoredDataMissing,
    check_layout,
    check_tail_name,
    check_upload_id,
    is_upload_id,
)

# Forgetting which part files are ready only costs a repeated (idempotent) preparation.
_READY_CACHE_LIMIT = 100_000
# fdatasync skips the inode timestamps we do not need; macOS only has fsync.
_datasync = getattr(os, "fdatasync", os.fsync)


def _fsync_dir(path: Path) -> None:
    """Make a directory's entries (new files, new subdirectories) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def _pread_exactly(fd: int, length: int, offset: int) -> bytes:
    parts: list[bytes] = []
    remaining = length
    while remaining:
        part = os.pread(fd, remaining, offset)
        if not part:
            break
        parts.append(part)
        offset += len(part)
        remaining -= len(part)
    return b"".join(parts)


class LocalStorage(Storage):
    """Files under `<root>/uploads/<upload_id>/<file_index>.part`, one per declared file."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.uploads_dir = self.root / "uploads"
        # Part files this process has created (or checked) and made durable, so the
        # directory fsyncs and preallocation happen once per file, not once per chunk.
        self._ready: set[Path] = set()
        self._durable_dirs: set[Path] = set()
        self._create_lock = threading.Lock()  # guards the sets and the lock table
        self._path_locks: dict[Path, threading.Lock] = {}

    def part_path(self, upload_id: str, file_index: int) -> Path:
        """Where the assembled bytes of one file live."""
        return self.uploads_dir / check_upload_id(upload_id) / f"{file_index}.part"

    def open_file(
        self, upload_id: str, file_index: int, size: int, chunk_size: int, total_chunks: int
    ) -> BinaryIO:
        """Open the `.part` file for reading; blocking, call from a worker thread."""
        check_layout(size, chunk_size, total_chunks)
        path = self.part_path(upload_id, file_index)
        try:
            stream = open(path, "rb")  # noqa: SIM115 - the caller owns and closes it
        except FileNotFoundError:
            if size == 0:
                return io.BytesIO(b"")
            raise StoredDataMissing(file=file_index) from None
        if os.fstat(stream.fileno()).st_size < size:
            stream.close()
            raise StoredDataMissing(file=file_index)
        return stream

    def _lock_for(self, path: Path) -> threading.Lock:
        with self._create_lock:
            return self._path_locks.setdefault(path, threading.Lock())

    def _durable_dir(self, directory: Path) -> None:
        """Create the upload's directory and make its entry in uploads/ survive a power cut."""
        if directory in self._durable_dirs:
            return
        with self._lock_for(directory):
            if directory in self._durable_dirs:
                return
            directory.mkdir(parents=True, exist_ok=True)
            _fsync_dir(self.uploads_dir)
            with self._create_lock:
                self._durable_dirs.add(directory)
                self._path_locks.pop(directory, None)

    def _prepare_part(self, path: Path, file_size: int) -> None:
        """Create the part file at its full size, with a durable directory entry.

        Files of one upload are prepared in parallel (a lock per file, not one for all);
        the file's size change is made durable by the first chunk's fdatasync.
        """
        if path in self._ready:
            return
        self._durable_dir(path.parent)
        with self._lock_for(path):
            if path in self._ready:
                return
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                current = os.fstat(fd).st_size
                if current > file_size:
                    raise ValueError("stored file is larger than the declared size")
                if current < file_size:
                    # Sparse preallocation: growing never touches bytes already written.
                    os.ftruncate(fd, file_size)
            finally:
                os.close(fd)
            # Without this a power cut could lose the new file's directory entry, and
            # with it chunks already acknowledged.
            _fsync_dir(path.parent)
            with self._create_lock:
                if len(self._ready) >= _READY_CACHE_LIMIT:
                    self._ready.clear()
                    self._durable_dirs.clear()
                self._ready.add(path)
                self._path_locks.pop(path, None)

    def _write_chunk(
        self,
        upload_id: str,
        file_index: int,
        chunk_index: int,
        offset: int,
        data: bytes,
        file_size: int,
    ) -> None:
        path = self.part_path(upload_id, file_index)
        try:
            if path not in self._ready:
                self._prepare_part(path, file_size)
            try:
                fd = os.open(path, os.O_WRONLY)
            except FileNotFoundError:
                # Removed behind our back (e.g. by another process); recreate it.
                with self._create_lock:
                    self._ready.discard(path)
                    self._durable_dirs.discard(path.parent)
                self._prepare_part(path, file_size)
                fd = os.open(path, os.O_WRONLY)
            try:
                _pwrite_all(fd, data, offset)
                _datasync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise StorageError("Could not write the chunk to storage.") from exc

    def _read_chunk(
        self, upload_id: str, file_index: int, chunk_index: int, offset: int, length: int
    ) -> bytes:
        path = self.part_path(upload_id, file_index)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise StoredDataMissing(file=file_index, chunk=chunk_index) from None
        try:
            data = _pread_exactly(fd, length, offset)
        finally:
            os.close(fd)
        if len(data) != length:
            raise StoredDataMissing(file=file_index, chunk=chunk_index)
        return data

    def tails_dir(self, upload_id: str) -> Path:
        """Where an upload's tails live (beside its part files, so they go with it)."""
        return self.uploads_dir / check_upload_id(upload_id) / "tails"

    def _delete_file(self, upload_id: str, file_index: int) -> None:
        path = self.part_path(upload_id, file_index)
        with self._create_lock:
            self._ready.discard(path)
        try:
            path.unlink(missing_ok=True)
            if path.parent.is_dir():
                _fsync_dir(path.parent)
        except OSError as exc:
            raise StorageError("Could not remove the file's stored data.") from exc

    def _write_tail(self, upload_id: str, name: str, data: bytes) -> bool:
        directory = self.tails_dir(upload_id)
        # Written aside, made durable, then linked to its name, which fails if the name
        # exists: a crash leaves no tail or the whole one, never a torn one.
        temporary = directory / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            if not directory.is_dir():
                with self._create_lock:  # the upload may have been deleted meanwhile
                    self._durable_dirs.discard(directory.parent)
                self._durable_dir(directory.parent)
                directory.mkdir(exist_ok=True)
                _fsync_dir(directory.parent)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                _pwrite_all(fd, data, 0)
                _datasync(fd)
            finally:
                os.close(fd)
            try:
                os.link(temporary, directory / name)
            except FileExistsError:
                # Another request's (or an earlier try's): made durable before anyone
                # is told it is there — its writer may not have synced the entry yet.
                _fsync_dir(directory)
                return False
            finally:
                temporary.unlink()
            _fsync_dir(directory)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise StorageError("Could not write the upload's tail to storage.") from exc
        return True

    def _read_tail(self, upload_id: str, name: str) -> bytes | None:
        try:
            return (self.tails_dir(upload_id) / name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError("Could not read the upload's tail from storage.") from exc

    def _list_tails(self, upload_id: str, prefix: str) -> dict[str, int]:
        directory = self.tails_dir(upload_id)
        found: dict[str, int] = {}
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.name.startswith(prefix) and not entry.name.startswith("."):
                        try:
                            found[entry.name] = entry.stat().st_size
                        except FileNotFoundError:
                            continue  # removed meanwhile
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StorageError("Could not list the upload's tails.") from exc
        return found

    def _delete_tails(self, upload_id: str, names: list[str]) -> None:
        directory = self.tails_dir(upload_id)
        try:
            for name in names:
                (directory / check_tail_name(name)).unlink(missing_ok=True)
            if directory.is_dir():
                _fsync_dir(directory)
        except OSError as exc:
            raise StorageError("Could not remove the upload's tails.") from exc

    def _delete_upload(self, upload_id: str) -> int:
        directory = self.uploads_dir / check_upload_id(upload_id)
        if not directory.is_dir():
            return 0
        try:
            freed = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
            with self._create_lock:
                self._ready = {p for p in self._ready if p.parent != directory}
                self._durable_dirs.discard(directory)
                shutil.rmtree(directory)
        except FileNotFoundError:
            return 0  # removed concurrently: nothing left for us to free
        except OSError as exc:
            raise StorageError("Could not remove the upload's stored data.") from exc
        return freed

    def _list_upload_ids(self) -> list[str]:
        if not self.uploads_dir.is_dir():
            return []
        return sorted(
            p.name for p in self.uploads_dir.iterdir() if p.is_dir() and is_upload_id(p.name)
        )

    def _ping(self) -> None:
        try:
            self.uploads_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.uploads_dir) as probe:
                probe.write(b"ok")
        except OSError as exc:
            raise StorageError("The upload directory is not writable.") from exc
