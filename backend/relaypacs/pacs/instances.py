"""Instances as the forwarder sends them: read from storage as Part 10, verified chunk by
chunk against what was acknowledged (pacs/verify.py), in bounded batches."""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from typing import BinaryIO, cast

from relaypacs.pacs.config import DestinationSettings
from relaypacs.pacs.verify import VerifyingReader, verify_through
from relaypacs.uploads import dicom
from relaypacs.uploads.models import Instance, Upload, UploadFile
from relaypacs.uploads.storage import Storage


@dataclass
class StoredInstance:
    """An instance read from storage as Part 10 (raw datasets get their header here)."""

    storage: Storage
    upload: Upload
    file: UploadFile
    instance: Instance
    md5s: list[str] = field(default_factory=list)  # every chunk's, as acknowledged
    size: int = 0
    sop_instance_uid: str = ""
    _spool: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.size = self.instance.size
        self.sop_instance_uid = self.instance.sop_instance_uid

    def _raw(self) -> BinaryIO:
        return self.storage.open_file(
            self.upload.id.hex,
            self.file.index,
            self.file.size,
            self.upload.chunk_size,
            self.file.total_chunks,
        )

    def _verified(self) -> VerifyingReader:
        return VerifyingReader(
            self._raw(),
            file_index=self.file.index,
            size=self.file.size,
            chunk_size=self.upload.chunk_size,
            md5s=self.md5s,
            sha256=self.instance.sha256 or self.file.sha256,
        )

    def prepare(self) -> None:
        """Blocking: give a raw dataset its File Meta header in a temporary file (after
        reading it once through its verifier: the rewrite reads it out of order)."""
        if self.instance.has_file_meta:
            return
        with self._verified() as reader:
            verify_through(reader)
        with self._raw() as src, tempfile.NamedTemporaryFile(delete=False, suffix=".dcm") as dst:
            self._spool = dst.name  # from here on, discard() removes it whatever happens
            inspection = dicom.inspect_file(src)
            src.seek(0)
            dicom.write_part10(src, cast(BinaryIO, dst), inspection)
            self.size = dst.tell()

    def open(self) -> BinaryIO:
        if self._spool:
            return open(self._spool, "rb")
        return cast(BinaryIO, self._verified())

    def discard(self) -> None:
        if self._spool:
            with contextlib.suppress(OSError):
                os.unlink(self._spool)


def batches(dest: DestinationSettings, items: list[StoredInstance]) -> list[list[StoredInstance]]:
    """Split into STOW requests bounded by the destination's instance count and bytes."""
    result: list[list[StoredInstance]] = [[]]
    size = 0
    for item in items:
        if result[-1] and (
            len(result[-1]) >= dest.batch_max_instances or size + item.size > dest.batch_max_bytes
        ):
            result.append([])
            size = 0
        result[-1].append(item)
        size += item.size
    return [b for b in result if b]
