"""Chunk and file storage, selected by configuration: a local directory or S3/MinIO."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from relaypacs.uploads.storage.base import Storage, StorageError, StoredDataMissing
from relaypacs.uploads.storage.local import LocalStorage
from relaypacs.uploads.storage.s3 import S3Storage

__all__ = [
    "LocalStorage",
    "S3Storage",
    "Storage",
    "StorageError",
    "StoredDataMissing",
    "create_storage",
]


def create_storage(kind: str, **kw: Any) -> Storage:
    """Build a storage: "local" takes `root`; "s3" takes S3Storage's keyword arguments."""
    if kind == "local":
        return LocalStorage(Path(kw["root"]))
    if kind == "s3":
        return S3Storage(**kw)
    raise ValueError(f"unknown storage kind {kind!r}; expected 'local' or 's3'")
