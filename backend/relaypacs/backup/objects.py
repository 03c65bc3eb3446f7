"""The stored studies as plain objects (keys under `uploads/`, relative to the storage's
root directory or bucket prefix), read for a backup and written back by a restore. Every
method blocks: call them from a worker thread."""

from __future__ import annotations

import contextlib
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from relaypacs.backup.errors import TargetUnavailable, s3_errors
from relaypacs.backup.manifest import BLOCK_SIZE, Readable, check_key, private_file
from relaypacs.uploads.storage import LocalStorage, Storage

ROOT = "uploads/"


class StoredObjects(ABC):
    kind: str
    location: str

    @abstractmethod
    def keys(self) -> Iterator[str]:
        """Every stored object's key, sorted."""

    @abstractmethod
    def open(self, key: str) -> contextlib.AbstractContextManager[Readable]: ...

    @abstractmethod
    def put(self, key: str, stream: Readable) -> None:
        """Write an object durably (restore)."""

    @abstractmethod
    def clear(self) -> None:
        """Remove every stored object (restore --force)."""

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """Create the bucket or directory if it is missing (restore)."""

    def is_empty(self) -> bool:
        return next(iter(self.keys()), None) is None


class LocalObjects(StoredObjects):
    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    def keys(self) -> Iterator[str]:
        base = self.root / ROOT
        if not base.is_dir():
            return
        for directory, dirs, files in os.walk(base):
            dirs.sort()
            for name in sorted(files):
                yield (Path(directory) / name).relative_to(self.root).as_posix()

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[Readable]:
        """FileNotFoundError when the object was removed since it was listed."""
        with (self.root / check_key(key)).open("rb") as stream:
            yield stream

    def put(self, key: str, stream: Readable) -> None:
        path = self.root / check_key(key)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with private_file(path) as out:
                while block := stream.read(BLOCK_SIZE):
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise TargetUnavailable(f"cannot write to {self.location}: {exc.strerror}") from exc

    def clear(self) -> None:
        shutil.rmtree(self.root / ROOT, ignore_errors=True)


class S3Objects(StoredObjects):
    kind = "s3"

    def __init__(self, client: Any, bucket: str, prefix: str, region: str | None) -> None:
        from boto3.s3.transfer import TransferConfig

        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.location = f"s3://{bucket}/{prefix}"
        self.transfer = TransferConfig(max_concurrency=2, multipart_chunksize=8 * 1024 * 1024)

    def _translated(self) -> contextlib.AbstractContextManager[None]:
        return s3_errors(f"the storage bucket {self.location}")

    def _bucket_exists(self) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchBucket", "NotFound"}:
                return False
            raise
        return True

    def keys(self) -> Iterator[str]:
        with self._translated():
            if not self._bucket_exists():
                return
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + ROOT):
                for item in page.get("Contents", []):
                    yield str(item["Key"])[len(self.prefix) :]

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[Readable]:
        from botocore.exceptions import ClientError

        with self._translated():
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey"}:
                    raise FileNotFoundError(key) from None
                raise
            body = response["Body"]
            try:
                yield body
            finally:
                body.close()

    def put(self, key: str, stream: Readable) -> None:
        with self._translated():
            self.client.upload_fileobj(
                stream, self.bucket, self.prefix + check_key(key), Config=self.transfer
            )

    def clear(self) -> None:
        keys = list(self.keys())
        with self._translated():
            for start in range(0, len(keys), 1000):
                batch = [{"Key": self.prefix + key} for key in keys[start : start + 1000]]
                self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )

    def prepare(self) -> None:
        with self._translated():
            if self._bucket_exists():
                return
            kwargs: dict[str, Any] = {"Bucket": self.bucket}
            if self.region and self.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            self.client.create_bucket(**kwargs)


def stored_objects(storage: Storage) -> StoredObjects:
    """The objects of the configured storage, through its own client."""
    if isinstance(storage, LocalStorage):
        return LocalObjects(storage.root)
    s3: Any = storage  # S3Storage: imported lazily (boto3)
    return S3Objects(s3.client, s3.bucket, s3.prefix, s3.region)
