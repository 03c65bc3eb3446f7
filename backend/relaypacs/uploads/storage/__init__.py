"""Chunk and file storage, selected by configuration: a local directory or S3/MinIO."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from relaypacs.core.config import CoreSettings, StorageBackend
from relaypacs.uploads.storage.base import Storage, StorageError, StoredDataMissing
from relaypacs.uploads.storage.local import LocalStorage

if TYPE_CHECKING:
    from relaypacs.uploads.storage.s3 import S3Storage


def __getattr__(name: str) -> Any:
    # boto3 costs ~10 MB and a second of start-up: loaded only when S3 is used.
    if name == "S3Storage":
        from relaypacs.uploads.storage.s3 import S3Storage

        return S3Storage
    raise AttributeError(name)


__all__ = [
    "LocalStorage",
    "S3Storage",
    "Storage",
    "StorageError",
    "StoredDataMissing",
    "build_storage",
    "create_storage",
]


def create_storage(kind: str, **kw: Any) -> Storage:
    """Build a storage: "local" takes `root`; "s3" takes S3Storage's keyword arguments."""
    if kind == "local":
        return LocalStorage(Path(kw["root"]))
    if kind == "s3":
        from relaypacs.uploads.storage.s3 import S3Storage

        return S3Storage(**kw)
    raise ValueError(f"unknown storage kind {kind!r}; expected 'local' or 's3'")


def build_storage(settings: CoreSettings) -> Storage:
    """The storage STORAGE_BACKEND selects, configured from the settings."""
    if settings.storage_backend is StorageBackend.s3:
        from relaypacs.uploads.storage.s3 import S3Storage

        return S3Storage(
            bucket=settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region or None,
            access_key=settings.s3_access_key_id or None,
            secret_key=settings.s3_secret_access_key.get_secret_value() or None,
        )
    return LocalStorage(settings.local_storage_dir)
