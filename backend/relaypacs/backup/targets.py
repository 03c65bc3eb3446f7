"""Where backups are kept: a directory or an S3 bucket (under a prefix). Each backup is a
folder `<id>/` holding the database file, `objects.jsonl`, `objects/<key>` and, written
last, `manifest.json`. Every method blocks: call them from a worker thread."""

from __future__ import annotations

import contextlib
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from relaypacs.backup.config import BackupSettings
from relaypacs.backup.errors import BackupNotFound, TargetUnavailable, s3_errors
from relaypacs.backup.manifest import BLOCK_SIZE, Readable, check_key, private_file

_DELETE_BATCH = 1000


class Target(ABC):
    location: str  # for messages: never carries credentials

    @abstractmethod
    def list_ids(self) -> list[str]:
        """Every backup folder, complete or not, sorted oldest first."""

    @abstractmethod
    def exists(self, backup_id: str, name: str) -> bool: ...

    @abstractmethod
    def open(self, backup_id: str, name: str) -> contextlib.AbstractContextManager[Readable]:
        """A stream of `<id>/<name>` (BackupNotFound when it is absent)."""

    @abstractmethod
    def put_stream(self, backup_id: str, name: str, stream: Readable) -> None:
        """Store a stream's bytes durably under `<id>/<name>`."""

    @abstractmethod
    def delete(self, backup_id: str) -> None: ...

    def read_bytes(self, backup_id: str, name: str) -> bytes:
        with self.open(backup_id, name) as stream:
            return stream.read()

    def put_file(self, backup_id: str, name: str, path: Path) -> None:
        with path.open("rb") as stream:
            self.put_stream(backup_id, name, stream)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release pooled connections, if any."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DirectoryTarget(Target):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    def _path(self, backup_id: str, name: str) -> Path:
        return self.root / check_key(backup_id) / check_key(name)

    def list_ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir())

    def exists(self, backup_id: str, name: str) -> bool:
        return self._path(backup_id, name).is_file()

    @contextlib.contextmanager
    def open(self, backup_id: str, name: str) -> Iterator[Readable]:
        try:
            stream: BinaryIO = self._path(backup_id, name).open("rb")
        except FileNotFoundError:
            raise BackupNotFound(f"{backup_id}/{name} is missing from {self.location}") from None
        with stream:
            yield stream

    def put_stream(self, backup_id: str, name: str, stream: Readable) -> None:
        path = self._path(backup_id, name)
        temporary = path.with_name(path.name + ".tmp")
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with private_file(temporary) as out:
                while block := stream.read(BLOCK_SIZE):
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            temporary.replace(path)
            _fsync_dir(path.parent)
        except OSError as exc:
            raise TargetUnavailable(
                f"cannot write to the backup directory {self.location}: {exc.strerror}"
            ) from exc

    def delete(self, backup_id: str) -> None:
        shutil.rmtree(self.root / check_key(backup_id), ignore_errors=True)


class S3Target(Target):
    def __init__(self, bucket: str, prefix: str, **client: Any) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.location = f"s3://{bucket}/{self.prefix}"
        config = Config(
            retries={"max_attempts": 5, "mode": "standard"},
            s3={"addressing_style": "path"} if client.get("endpoint_url") else {},
        )
        self.client: Any = boto3.session.Session().client("s3", config=config, **client)
        # Parts in flight are buffered: two of 8 MiB keep memory flat whatever the size.
        self.transfer = TransferConfig(max_concurrency=2, multipart_chunksize=8 * 1024 * 1024)

    def _key(self, backup_id: str, name: str) -> str:
        return f"{self.prefix}{check_key(backup_id)}/{check_key(name)}"

    def _translated(self) -> contextlib.AbstractContextManager[None]:
        return s3_errors(f"the backup bucket {self.location}")

    def list_ids(self) -> list[str]:
        ids: list[str] = []
        with self._translated():
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix, Delimiter="/"):
                for common in page.get("CommonPrefixes", []):
                    ids.append(str(common["Prefix"])[len(self.prefix) :].rstrip("/"))
        return sorted(ids)

    def exists(self, backup_id: str, name: str) -> bool:
        from botocore.exceptions import ClientError

        with self._translated():
            try:
                self.client.head_object(Bucket=self.bucket, Key=self._key(backup_id, name))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                    return False
                raise
        return True

    @contextlib.contextmanager
    def open(self, backup_id: str, name: str) -> Iterator[Readable]:
        from botocore.exceptions import ClientError

        with self._translated():
            try:
                response = self.client.get_object(
                    Bucket=self.bucket, Key=self._key(backup_id, name)
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey"}:
                    raise BackupNotFound(
                        f"{backup_id}/{name} is missing from {self.location}"
                    ) from None
                raise
            body = response["Body"]
            try:
                yield body
            finally:
                body.close()

    def put_stream(self, backup_id: str, name: str, stream: Readable) -> None:
        with self._translated():
            self.client.upload_fileobj(
                stream, self.bucket, self._key(backup_id, name), Config=self.transfer
            )

    def delete(self, backup_id: str) -> None:
        with self._translated():
            paginator = self.client.get_paginator("list_objects_v2")
            prefix = f"{self.prefix}{check_key(backup_id)}/"
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                for start in range(0, len(objects), _DELETE_BATCH):
                    self.client.delete_objects(
                        Bucket=self.bucket,
                        Delete={"Objects": objects[start : start + _DELETE_BATCH], "Quiet": True},
                    )

    def close(self) -> None:
        self.client.close()


def build_target(settings: BackupSettings, location: str | None = None) -> Target:
    """The target BACKUP_TARGET (or `location`) names: a directory or s3://bucket/prefix."""
    where = location or settings.backup_target_location
    if not where.startswith("s3://"):
        return DirectoryTarget(Path(where))
    bucket, _, prefix = where.removeprefix("s3://").partition("/")
    if not bucket:
        raise TargetUnavailable(f"{where}: expected s3://bucket/prefix")
    secret = settings.backup_s3_secret_access_key.get_secret_value()
    return S3Target(
        bucket,
        prefix,
        endpoint_url=settings.backup_s3_endpoint_url or settings.s3_endpoint_url or None,
        region_name=settings.backup_s3_region or settings.s3_region or None,
        aws_access_key_id=settings.backup_s3_access_key_id or settings.s3_access_key_id or None,
        aws_secret_access_key=secret or settings.s3_secret_access_key.get_secret_value() or None,
    )
