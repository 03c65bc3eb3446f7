"""S3 / MinIO storage: every chunk is its own object; files are streamed from them in order."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, BinaryIO

import anyio.to_thread
import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from relaypacs.uploads.storage.base import (
    Storage,
    StorageError,
    StoredDataMissing,
    check_layout,
    check_tail_name,
    check_upload_id,
    chunk_length,
    is_upload_id,
)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

# Small reads (pydicom reads tags a few bytes at a time) are served from this buffer.
_READ_BUFFER_SIZE = 256 * 1024
_NOT_FOUND = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
# A ranged GET past the end of a short object means the data is not all there.
_MISSING = _NOT_FOUND | {"416", "InvalidRange"}
# A conditional PUT refused: the object exists (412), or a concurrent conditional write of
# it is in progress (409; the caller reads it back and tries again if it is not there).
_EXISTS = {"412", "PreconditionFailed", "409", "ConditionalRequestConflict"}
_DELETE_BATCH = 1000  # the most keys one DeleteObjects request may carry


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def _translated(message: str, *, missing: StoredDataMissing | None = None) -> Iterator[None]:
    """Turn botocore failures into StorageError (or `missing` for an absent object)."""
    try:
        yield
    except ClientError as exc:
        if missing is not None and _error_code(exc) in _MISSING:
            raise missing from exc
        raise StorageError(message) from exc
    except BotoCoreError as exc:
        raise StorageError(message) from exc


class S3Storage(Storage):
    """Chunk objects at `<prefix>uploads/<upload_id>/<file_index>/<chunk_index:08d>`."""

    kind = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        *,
        max_connections: int = 64,
        max_attempts: int = 5,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.region = region
        config = Config(
            # More pooled connections than anyio's 40 worker threads, so none waits.
            max_pool_connections=max_connections,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            # MinIO and most self-hosted S3 servers need path-style addressing.
            s3={"addressing_style": "path"} if endpoint_url else {},
        )
        # One client for the process: boto3 clients are thread-safe, sessions are not.
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=config,
        )

    def chunk_key(self, upload_id: str, file_index: int, chunk_index: int) -> str:
        """The object key of one chunk."""
        return f"{self._file_prefix(upload_id, file_index)}{chunk_index:08d}"

    def _upload_prefix(self, upload_id: str) -> str:
        return f"{self.prefix}uploads/{check_upload_id(upload_id)}/"

    def _file_prefix(self, upload_id: str, file_index: int) -> str:
        return f"{self._upload_prefix(upload_id)}{file_index}/"

    async def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist yet (only when configured to)."""
        await anyio.to_thread.run_sync(self._ensure_bucket)

    def _ensure_bucket(self) -> None:
        with _translated("Could not create the storage bucket."):
            try:
                self.client.head_bucket(Bucket=self.bucket)
                return
            except ClientError as exc:
                if _error_code(exc) not in _NOT_FOUND:
                    raise
            kwargs: dict[str, Any] = {"Bucket": self.bucket}
            if self.region and self.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            try:
                self.client.create_bucket(**kwargs)
            except ClientError as exc:
                # Another replica created it between our HEAD and our PUT.
                if _error_code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise

    def open_file(
        self, upload_id: str, file_index: int, size: int, chunk_size: int, total_chunks: int
    ) -> BinaryIO:
        """Stream a file from its chunk objects; blocking, call from a worker thread."""
        check_layout(size, chunk_size, total_chunks)
        key_prefix = self._file_prefix(upload_id, file_index)
        raw = ChunkObjectsReader(
            self.client, self.bucket, key_prefix, size, chunk_size, total_chunks
        )
        return io.BufferedReader(raw, buffer_size=_READ_BUFFER_SIZE)

    def _write_chunk(
        self,
        upload_id: str,
        file_index: int,
        chunk_index: int,
        offset: int,
        data: bytes,
        file_size: int,
    ) -> None:
        # Content-MD5 makes the server reject the PUT if the bytes were damaged in transit.
        digest = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        with _translated("Could not write the chunk to storage."):
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.chunk_key(upload_id, file_index, chunk_index),
                Body=data,
                ContentMD5=digest,
            )

    def _read_chunk(
        self, upload_id: str, file_index: int, chunk_index: int, offset: int, length: int
    ) -> bytes:
        missing = StoredDataMissing(file=file_index, chunk=chunk_index)
        with _translated("Could not read the chunk from storage.", missing=missing):
            response = self.client.get_object(
                Bucket=self.bucket, Key=self.chunk_key(upload_id, file_index, chunk_index)
            )
            data: bytes = response["Body"].read()
        if len(data) != length:
            raise missing
        return data

    def tail_key(self, upload_id: str, name: str) -> str:
        """The object key of one tail (beside the upload's chunk objects)."""
        return f"{self._upload_prefix(upload_id)}tails/{check_tail_name(name)}"

    def _delete_file(self, upload_id: str, file_index: int) -> None:
        self._delete_prefix(self._file_prefix(upload_id, file_index), "the file's stored data")

    def _write_tail(self, upload_id: str, name: str, data: bytes) -> bool:
        digest = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        with _translated("Could not write the upload's tail to storage."):
            # A conditional PUT (If-None-Match: *): whole, and never over an existing object.
            try:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=self.tail_key(upload_id, name),
                    Body=data,
                    ContentMD5=digest,
                    IfNoneMatch="*",
                )
            except ClientError as exc:
                if _error_code(exc) in _EXISTS:
                    return False
                raise
        return True

    def _read_tail(self, upload_id: str, name: str) -> bytes | None:
        with _translated("Could not read the upload's tail from storage."):
            try:
                response = self.client.get_object(
                    Bucket=self.bucket, Key=self.tail_key(upload_id, name)
                )
            except ClientError as exc:
                if _error_code(exc) in _NOT_FOUND:
                    return None
                raise
            data: bytes = response["Body"].read()
        return data

    def _list_tails(self, upload_id: str, prefix: str) -> dict[str, int]:
        root = f"{self._upload_prefix(upload_id)}tails/"
        found: dict[str, int] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        with _translated("Could not list the upload's tails."):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=root + prefix):
                for item in page.get("Contents", []):
                    found[str(item["Key"])[len(root) :]] = int(item.get("Size", 0))
        return found

    def _delete_tails(self, upload_id: str, names: list[str]) -> None:
        with _translated("Could not remove the upload's tails."):
            for start in range(0, len(names), _DELETE_BATCH):
                batch = names[start : start + _DELETE_BATCH]
                response = self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={
                        "Objects": [{"Key": self.tail_key(upload_id, n)} for n in batch],
                        "Quiet": True,
                    },
                )
                if response.get("Errors"):
                    raise StorageError("Could not remove some of the upload's tails.")

    def _delete_prefix(self, prefix: str, what: str) -> int:
        freed = 0
        paginator = self.client.get_paginator("list_objects_v2")
        with _translated(f"Could not remove {what}."):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                objects = page.get("Contents", [])
                for start in range(0, len(objects), _DELETE_BATCH):
                    batch = objects[start : start + _DELETE_BATCH]
                    response = self.client.delete_objects(
                        Bucket=self.bucket,
                        Delete={"Objects": [{"Key": o["Key"]} for o in batch], "Quiet": True},
                    )
                    if response.get("Errors"):
                        raise StorageError(f"Could not remove some of {what}.")
                    freed += sum(int(o.get("Size", 0)) for o in batch)
        return freed

    def _delete_upload(self, upload_id: str) -> int:
        return self._delete_prefix(self._upload_prefix(upload_id), "the upload's stored data")

    def _list_upload_ids(self) -> list[str]:
        root = f"{self.prefix}uploads/"
        ids: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        with _translated("Could not list stored uploads."):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=root, Delimiter="/"):
                for common in page.get("CommonPrefixes", []):
                    name = str(common["Prefix"])[len(root) :].rstrip("/")
                    if is_upload_id(name):
                        ids.append(name)
        return sorted(ids)

    def _ping(self) -> None:
        with _translated("The storage bucket is not reachable."):
            self.client.head_bucket(Bucket=self.bucket)

    def close(self) -> None:
        """Close the client's pooled connections."""
        self.client.close()


class ChunkObjectsReader(io.RawIOBase):
    """A seekable raw stream over a file's chunk objects, fetched lazily one at a time."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        key_prefix: str,
        size: int,
        chunk_size: int,
        total_chunks: int,
    ) -> None:
        super().__init__()
        self._client = client
        self._bucket = bucket
        self._key_prefix = key_prefix
        self._size = size
        self._chunk_size = chunk_size
        self._total_chunks = total_chunks
        self._position = 0
        self._body: Any = None  # the open GET response body, if any
        self._body_position = -1  # file offset of the next byte `_body` yields

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._position + offset
        elif whence == io.SEEK_END:
            target = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if target < 0:
            raise OSError("negative seek position")
        # Only the position moves; the next read decides whether a new GET is needed.
        self._position = target
        return target

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._position >= self._size or not len(view):
            return 0
        chunk_index = self._position // self._chunk_size
        chunk_end = self._position - self._position % self._chunk_size
        chunk_end += chunk_length(self._size, self._chunk_size, self._total_chunks, chunk_index)
        wanted = min(len(view), chunk_end - self._position)
        if self._body is None or self._body_position != self._position:
            self._open_body(chunk_index)
        filled = 0
        while filled < wanted:
            with _translated("Could not read the file from storage."):
                data = self._body.read(wanted - filled)
            if not data:
                self._close_body()
                raise StoredDataMissing(chunk=chunk_index)
            view[filled : filled + len(data)] = data
            filled += len(data)
        self._position += filled
        self._body_position = self._position
        if self._position == chunk_end:
            self._close_body()
        return filled

    def _open_body(self, chunk_index: int) -> None:
        self._close_body()
        within = self._position - chunk_index * self._chunk_size
        kwargs: dict[str, Any] = {}
        if within:
            kwargs["Range"] = f"bytes={within}-"
        missing = StoredDataMissing(chunk=chunk_index)
        with _translated("Could not read the file from storage.", missing=missing):
            response = self._client.get_object(
                Bucket=self._bucket, Key=f"{self._key_prefix}{chunk_index:08d}", **kwargs
            )
        self._body = response["Body"]
        self._body_position = self._position

    def _close_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None
            self._body_position = -1

    def close(self) -> None:
        self._close_body()
        super().close()
