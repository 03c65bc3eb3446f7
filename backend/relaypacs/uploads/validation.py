"""Checking the files of an upload at completion, from what was computed at receipt
(uploads/receipt.py): each file's DICOM verdict from its first chunk, its SHA-256 from its
last, with no byte read again. A file without them (its header ran past the first chunk,
its chunks went to several processes, the process restarted mid-file) is read as before:
every chunk's MD5 again, its SHA-256 and its header, at most
UPLOAD_VALIDATION_CONCURRENCY files at a time. The stored bytes of every file are checked
again, chunk by chunk, by the forwarder as it reads them to send (pacs/verify.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.core import metrics
from relaypacs.core.config import CoreSettings
from relaypacs.uploads import dicom, duplicates, receipt
from relaypacs.uploads import service as upload_service
from relaypacs.uploads.models import ChunkState, Upload, UploadChunk, UploadFile
from relaypacs.uploads.storage import Storage


@dataclass(frozen=True, slots=True)
class FileCheck:
    file: UploadFile
    sha256: str
    bad_chunks: tuple[int, ...]
    inspection: dicom.DicomInspection


def _inspect_stored(storage: Storage, upload: Upload, file: UploadFile) -> dicom.DicomInspection:
    with storage.open_file(
        upload.id.hex, file.index, file.size, upload.chunk_size, file.total_chunks
    ) as stream:
        return dicom.inspect_file(stream)


def _from_receipt(file: UploadFile, md5s: dict[int, str], known: Receipt) -> FileCheck | None:
    """The file's check from what receipt computed, when that covers the stored chunks."""
    ordered = [md5s.get(i, "") for i in range(file.total_chunks)]
    if known.sha256 is None or known.header is None or not file.size:
        return None
    if known.chain != receipt.md5_chain(ordered):
        return None
    return FileCheck(file, known.sha256, (), receipt.inspection_from_json(known.header))


async def _check_file(
    storage: Storage, upload: Upload, file: UploadFile, md5s: dict[int, str], known: Receipt
) -> FileCheck:
    """Read the file: when receipt's digests are missing, or only its header was."""
    ordered = [md5s.get(i, "") for i in range(file.total_chunks)]
    if known.sha256 is not None and known.chain == receipt.md5_chain(ordered) and file.size:
        metrics.UPLOAD_FILES_CHECKED.labels("at_receipt").inc()
        inspection = await anyio.to_thread.run_sync(_inspect_stored, storage, upload, file)
        return FileCheck(file, known.sha256, (), inspection)
    metrics.UPLOAD_FILES_CHECKED.labels("read_again").inc()
    sha256, actual = await storage.file_sha256_and_chunk_md5s(
        upload.id.hex, file.index, file.size, upload.chunk_size, file.total_chunks
    )
    bad = tuple(i for i, md5 in enumerate(actual) if md5s.get(i) != md5)
    if bad:
        return FileCheck(file, sha256, bad, dicom.DicomInspection(dicom.Outcome.invalid))
    inspection = await anyio.to_thread.run_sync(_inspect_stored, storage, upload, file)
    return FileCheck(file, sha256, (), inspection)


@dataclass(slots=True)
class Receipt:
    """What receipt computed for one file (None where it could not)."""

    header: dict[str, Any] | None = None
    sha256: str | None = None
    chain: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """What checking needs from the database, read in one short transaction."""

    files: Sequence[UploadFile]
    md5s: dict[int, dict[int, str]]  # file index → chunk index → MD5 acknowledged
    receipts: dict[int, Receipt]


async def plan(session: AsyncSession, upload: Upload) -> Plan:
    files = await upload_service.files_of(session, upload_id=upload.id)
    last = {f.index: f.total_chunks - 1 for f in files}
    rows = await session.execute(
        select(
            UploadChunk.file_index,
            UploadChunk.chunk_index,
            UploadChunk.md5,
            UploadChunk.header,
            UploadChunk.file_sha256,
            UploadChunk.sha256_chain,
        ).where(UploadChunk.upload_id == upload.id, UploadChunk.state == ChunkState.stored)
    )
    md5s: dict[int, dict[int, str]] = {}
    receipts: dict[int, Receipt] = {}
    for file_index, chunk_index, md5, header, sha256, chain in rows:
        md5s.setdefault(file_index, {})[chunk_index] = md5
        known = receipts.setdefault(file_index, Receipt())
        if chunk_index == 0:
            known.header = header
        if chunk_index == last.get(file_index):
            known.sha256, known.chain = sha256, chain
    return Plan(files, md5s, receipts)


async def check_all(
    settings: CoreSettings, storage: Storage, upload: Upload, plan: Plan
) -> list[FileCheck]:
    """Every file of the plan, from storage only: no database access."""
    results: list[FileCheck | None] = [None] * len(plan.files)
    to_read: list[tuple[int, UploadFile]] = []
    for position, file in enumerate(plan.files):
        known = plan.receipts.get(file.index, Receipt())
        results[position] = _from_receipt(file, plan.md5s.get(file.index, {}), known)
        if results[position] is None:
            to_read.append((position, file))
    metrics.UPLOAD_FILES_CHECKED.labels("at_receipt").inc(len(plan.files) - len(to_read))
    if to_read:
        limiter = anyio.Semaphore(settings.upload_validation_concurrency)

        async def run(position: int, file: UploadFile) -> None:
            async with limiter:
                md5s = plan.md5s.get(file.index, {})
                known = plan.receipts.get(file.index, Receipt())
                results[position] = await _check_file(storage, upload, file, md5s, known)

        # Tasks only for the files that must be read: spawning one per file costs more than
        # the whole check when nothing needs reading.
        async with anyio.create_task_group() as group:
            for position, file in to_read:
                group.start_soon(run, position, file)
    return [r for r in results if r is not None]


def header_warnings(upload: Upload, instances: list[dicom.DicomInstance]) -> list[str]:
    notes: list[str] = []
    if any(i.modality != upload.modality for i in instances):
        found = sorted({i.modality for i in instances})
        notes.append(
            f"declared modality {upload.modality} differs from the headers ({', '.join(found)})"
        )
    declared = duplicates.normalize_person_name(upload.patient_name)
    if any(duplicates.normalize_person_name(i.patient_name) != declared for i in instances):
        notes.append("declared patient name differs from the DICOM headers")
    if any(i.study_date and i.study_date != upload.study_date.isoformat() for i in instances):
        notes.append("declared study date differs from the DICOM headers")
    if any(not i.has_file_meta for i in instances):
        notes.append("some files had no DICOM File Meta header; one is added when they are sent")
    return notes
