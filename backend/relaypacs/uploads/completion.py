"""Completing an upload: verify every chunk, validate every file as DICOM, record the
study in one transaction and queue it. Never a partially recorded study."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.auth.models import User
from relaypacs.core import metrics
from relaypacs.core.cache import Cache
from relaypacs.core.config import CoreSettings
from relaypacs.core.database import execute_dml, utcnow
from relaypacs.uploads import changes, dicom, states, validation
from relaypacs.uploads import service as upload_service
from relaypacs.uploads.chunks import ensure_accepts_chunks
from relaypacs.uploads.errors import (
    InvalidDicom,
    MultipleStudies,
    NoInstances,
    UploadIncomplete,
)
from relaypacs.uploads.handoff import Handoff
from relaypacs.uploads.models import (
    FileStatus,
    Instance,
    Series,
    Study,
    Upload,
    UploadChunk,
    UploadState,
)
from relaypacs.uploads.schemas import CompleteAccepted
from relaypacs.uploads.storage import Storage
from relaypacs.users import service as users_service

# The completing request refreshes processing_started_at every HEARTBEAT; a run silent
# for STALE_PROCESSING died with its process, and the next `complete` takes it over.
HEARTBEAT = 10.0
STALE_PROCESSING = timedelta(seconds=60)
# How long a concurrent `complete` waits for the one already running.
WAIT_FOR_OTHER = 120.0


async def _begin(session: AsyncSession, upload: Upload) -> bool:
    """Move uploading → processing (or take over a stale run); False if another run owns it."""
    now = utcnow()
    owned = await execute_dml(
        session,
        update(Upload)
        .where(
            Upload.id == upload.id,
            Upload.state.in_(states.sources(UploadState.processing)),
            (Upload.state == UploadState.uploading)
            | (
                (Upload.state == UploadState.processing)
                & (Upload.processing_started_at < now - STALE_PROCESSING)
            ),
        )
        .values(state=UploadState.processing, processing_started_at=now)
        .execution_options(synchronize_session=False),
    )
    await session.commit()
    await session.refresh(upload)
    return owned == 1


async def _release(session: AsyncSession, upload_id: uuid.UUID) -> None:
    """Back to uploading, with everything the client sent still there."""
    await session.rollback()
    await execute_dml(
        session,
        update(Upload)
        .where(Upload.id == upload_id, Upload.state.in_(states.sources(UploadState.uploading)))
        .values(state=UploadState.uploading, processing_started_at=None)
        .execution_options(synchronize_session=False),
    )
    await session.commit()


def _accepted(upload: Upload, instances: int) -> CompleteAccepted:
    return CompleteAccepted(
        upload_id=upload.id,
        state=upload.state,
        study_instance_uid=upload.study_instance_uid,
        instances=instances,
        warnings=list(upload.warnings or []),
        skipped_files=list(upload.skipped_files or []),
    )


async def _instance_count(session: AsyncSession, upload: Upload) -> int:
    rows = await session.scalars(select(Instance.id).where(Instance.upload_id == upload.id))
    return len(rows.all())


def _stale(upload: Upload) -> bool:
    started = upload.processing_started_at
    return started is None or started < utcnow() - STALE_PROCESSING


async def _wait_for_other_run(session: AsyncSession, upload: Upload) -> None:
    """Until the running completion finishes, dies (goes stale) or WAIT_FOR_OTHER passes."""
    deadline = asyncio.get_running_loop().time() + WAIT_FOR_OTHER
    while upload.state is UploadState.processing and not _stale(upload):
        if asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(0.25)
        await session.refresh(upload)


async def _heartbeat(session: AsyncSession, upload_id: uuid.UUID) -> None:
    """Show the run is alive, on its own connection (the request's session is busy)."""
    while True:
        await asyncio.sleep(HEARTBEAT)
        async with AsyncSession(session.bind) as beat:
            await execute_dml(
                beat,
                update(Upload)
                .where(Upload.id == upload_id, Upload.state == UploadState.processing)
                .values(processing_started_at=utcnow())
                .execution_options(synchronize_session=False),
            )
            await beat.commit()


async def complete(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    storage: Storage,
    handoff: Handoff,
    cache: Cache | None,
    upload: Upload,
    user: User,
    skip_invalid: bool,
    ip: str | None,
) -> CompleteAccepted:
    """Idempotent: a second (or concurrent) call gets the first call's outcome."""
    for _ in range(3):
        if upload.state is UploadState.processing:
            await _wait_for_other_run(session, upload)
        if upload.state in states.COMPLETED:
            return _accepted(upload, await _instance_count(session, upload))
        if upload.state is UploadState.processing and not _stale(upload):
            return _accepted(upload, 0)  # still running elsewhere: ask again later
        if upload.state is not UploadState.processing:
            ensure_accepts_chunks(upload)
        missing = {
            p.index: p.missing
            for p in await upload_service.progress(session, upload=upload)
            if p.missing
        }
        if missing:
            metrics.UPLOADS_COMPLETED.labels("incomplete", upload.service_level).inc()
            raise UploadIncomplete(missing=_missing_body(missing))
        if await _begin(session, upload):
            return await _run(
                session,
                settings=settings,
                handoff=handoff,
                storage=storage,
                cache=cache,
                upload=upload,
                user=user,
                skip_invalid=skip_invalid,
                ip=ip,
            )
    return _accepted(upload, 0)


async def _run(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    storage: Storage,
    handoff: Handoff,
    cache: Cache | None,
    upload: Upload,
    user: User,
    skip_invalid: bool,
    ip: str | None,
) -> CompleteAccepted:
    upload_id, service_level = upload.id, upload.service_level
    beat = asyncio.create_task(_heartbeat(session, upload_id))
    try:
        checks = await validation.check_all(session, settings, storage, upload)
        result = await _record(
            session,
            settings=settings,
            handoff=handoff,
            upload=upload,
            user=user,
            checks=checks,
            skip_invalid=skip_invalid,
            ip=ip,
        )
    except BaseException:
        beat.cancel()
        await _release(session, upload_id)
        raise
    finally:
        beat.cancel()
    metrics.UPLOADS_COMPLETED.labels("queued", service_level).inc()
    await changes.changed(cache)  # committed: `queued`
    return result


def _missing_body(missing: dict[int, list[int]]) -> list[dict[str, object]]:
    return [{"file": f, "chunks": chunks} for f, chunks in sorted(missing.items())]


async def _record(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    handoff: Handoff,
    upload: Upload,
    user: User,
    checks: list[validation.FileCheck],
    skip_invalid: bool,
    ip: str | None,
) -> CompleteAccepted:
    corrupt = {c.file.index: list(c.bad_chunks) for c in checks if c.bad_chunks}
    if corrupt:
        # Stored bytes no longer match what was acknowledged: ask for those chunks again.
        for file_index, chunk_indexes in corrupt.items():
            await session.execute(
                delete(UploadChunk).where(
                    UploadChunk.upload_id == upload.id,
                    UploadChunk.file_index == file_index,
                    UploadChunk.chunk_index.in_(chunk_indexes),
                )
            )
        await session.commit()
        metrics.UPLOADS_COMPLETED.labels("incomplete", upload.service_level).inc()
        raise UploadIncomplete(
            "Some stored chunks failed their integrity check; send them again.",
            missing=_missing_body(corrupt),
        )

    invalid = [c for c in checks if c.inspection.outcome is dicom.Outcome.invalid]
    if invalid and not skip_invalid:
        metrics.UPLOADS_COMPLETED.labels("invalid_dicom", upload.service_level).inc()
        raise InvalidDicom(
            files=[
                {"file": c.file.index, "name": c.file.name, "reason": c.inspection.reason}
                for c in invalid
            ]
        )
    valid = [c for c in checks if c.inspection.instance is not None]
    studies = sorted(
        {c.inspection.instance.study_instance_uid for c in valid if c.inspection.instance}
    )
    if len(studies) > 1:
        metrics.UPLOADS_COMPLETED.labels("invalid_dicom", upload.service_level).inc()
        raise MultipleStudies(studies=studies)
    if not valid:
        raise NoInstances()
    study_uid = studies[0]

    preferences = await users_service.get_preferences(session, user_id=user.id)
    if not upload.force_upload and preferences.duplicate_check:
        earlier = await session.scalar(
            select(Upload)
            .where(
                Upload.study_instance_uid == study_uid,
                Upload.id != upload.id,
                Upload.state.in_(states.COMPLETED),
                Upload.completed_at >= utcnow() - timedelta(days=settings.duplicate_window_days),
            )
            .limit(1)
        )
        if earlier is not None:
            metrics.UPLOADS_COMPLETED.labels("duplicate", upload.service_level).inc()
            await upload_service.refuse_duplicate(session, earlier=earlier, user=user, ip=ip)

    return await _persist(
        session,
        settings=settings,
        handoff=handoff,
        upload=upload,
        user=user,
        checks=checks,
        study_uid=study_uid,
        ip=ip,
    )


async def _persist(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    handoff: Handoff,
    upload: Upload,
    user: User,
    checks: list[validation.FileCheck],
    study_uid: str,
    ip: str | None,
) -> CompleteAccepted:
    seen: dict[str, int] = {}
    kept: list[validation.FileCheck] = []
    skipped: list[dict[str, object]] = []
    for check in checks:
        f, inspection = check.file, check.inspection
        f.sha256 = check.sha256
        if inspection.outcome is dicom.Outcome.dicomdir:
            f.status, f.note = FileStatus.dicomdir, inspection.reason
        elif inspection.instance is None:
            f.status, f.note = FileStatus.skipped, inspection.reason
            skipped.append({"file": f.index, "name": f.name, "reason": inspection.reason})
        elif inspection.instance.sop_instance_uid in seen:
            f.status = FileStatus.duplicate
            f.note = f"same SOP Instance UID as file {seen[inspection.instance.sop_instance_uid]}"
        else:
            seen[inspection.instance.sop_instance_uid] = f.index
            f.status = FileStatus.instance
            kept.append(check)

    instances = [c.inspection.instance for c in kept if c.inspection.instance]
    first = instances[0]
    study = Study(
        id=uuid.uuid4(),
        upload_id=upload.id,
        study_instance_uid=study_uid,
        patient_name=first.patient_name or None,
        study_date=date.fromisoformat(first.study_date) if first.study_date else None,
        modality=first.modality,
        instance_count=len(kept),
        total_bytes=sum(c.file.size for c in kept),
    )
    session.add(study)
    await session.flush()
    series_ids: dict[str, uuid.UUID] = {}
    for uid in dict.fromkeys(i.series_instance_uid for i in instances):
        members = [i for i in instances if i.series_instance_uid == uid]
        series = Series(
            id=uuid.uuid4(),
            study_id=study.id,
            series_instance_uid=uid,
            modality=members[0].modality,
            series_number=members[0].series_number,
            instance_count=len(members),
        )
        session.add(series)
        series_ids[uid] = series.id
    await session.flush()
    for check in kept:
        i = check.inspection.instance
        assert i is not None
        session.add(
            Instance(
                series_id=series_ids[i.series_instance_uid],
                upload_id=upload.id,
                file_index=check.file.index,
                sop_instance_uid=i.sop_instance_uid,
                sop_class_uid=i.sop_class_uid,
                instance_number=i.instance_number,
                transfer_syntax=i.transfer_syntax,
                has_file_meta=i.has_file_meta,
                dataset_offset=i.dataset_offset,
                size=check.file.size,
                sha256=check.sha256,
            )
        )
    upload.study_instance_uid = study_uid
    file_warnings = [w for c in kept for w in c.inspection.warnings]
    upload.warnings = list(
        dict.fromkeys(validation.header_warnings(upload, instances) + file_warnings)
    )[:50]
    upload.skipped_files = skipped
    states.check(upload.state, UploadState.queued)
    upload.state = UploadState.queued
    upload.completed_at = utcnow()
    upload.processing_started_at = None
    # The forward jobs go in with `queued`, in this transaction: a completed study is
    # never left unsent.
    await session.flush()
    destinations = await handoff.queue(session, upload=upload)
    audit.record(
        session,
        action="upload_completed",
        actor_id=user.id,
        target_type="upload",
        target_id=upload.id,
        ip=ip,
        details={"instances": len(kept), "skipped": len(skipped), "destinations": destinations},
    )
    await session.commit()
    return _accepted(upload, len(kept))
