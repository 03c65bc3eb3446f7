"""Completing an upload: verify every chunk, validate every file as DICOM, record the
study in one transaction and queue it. Never a partially recorded study.

No database connection is held while waiting or working: each step is its own short
transaction (begin, load the plan, record), and the waits for a concurrent run and the
hashing and DICOM reads in between run with the session's transaction ended, so many
concurrent `complete` calls cannot drain the connection pool."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.auth.models import User
from relaypacs.core import metrics
from relaypacs.core.cache import Cache
from relaypacs.core.config import CoreSettings
from relaypacs.core.database import execute_dml, utcnow
from relaypacs.core.logging import get_logger
from relaypacs.core.unavailable import is_unavailable
from relaypacs.uploads import (
    changes,
    dicom,
    duplicates,
    recording,
    states,
    study_conflict,
    validation,
)
from relaypacs.uploads import service as upload_service
from relaypacs.uploads.chunks import ensure_accepts_chunks
from relaypacs.uploads.errors import (
    InvalidDicom,
    MultiplePatients,
    MultipleStudies,
    NoInstances,
    UploadIncomplete,
)
from relaypacs.uploads.handoff import Handoff
from relaypacs.uploads.models import Instance, Upload, UploadChunk, UploadState
from relaypacs.uploads.schemas import CompleteAccepted
from relaypacs.uploads.storage import Storage
from relaypacs.uploads.study_conflict import PacsStudies
from relaypacs.users import service as users_service

log = get_logger("relaypacs.uploads")
# The completing request refreshes processing_started_at every sixth of
# UPLOAD_COMPLETE_STALE_SECONDS; a run silent for that long died with its process, and the
# next `complete` takes it over. STALE_PROCESSING is the default, which housekeeping uses.
STALE_PROCESSING = timedelta(seconds=60)
# How long a concurrent `complete` waits for the one already running.
WAIT_FOR_OTHER = 120.0
POLL_MAX = 1.0


async def _begin(session: AsyncSession, upload: Upload, stale: timedelta) -> bool:
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
                & (Upload.processing_started_at < now - stale)
            ),
        )
        .values(state=UploadState.processing, processing_started_at=now)
        .execution_options(synchronize_session=False),
    )
    await session.commit()
    await _reload(session, upload)
    return owned == 1


async def _reload(session: AsyncSession, upload: Upload) -> None:
    """Read the upload's current row in a transaction of its own (no connection kept)."""
    await session.refresh(upload)
    await session.commit()


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


_releasing: set[asyncio.Task[None]] = set()
RELEASE_RETRIES = 60


async def _release_now_or_soon(session: AsyncSession, upload_id: uuid.UUID) -> None:
    """Release the failed run; if the database is what failed (a restart), keep trying on
    fresh sessions in the background, so the upload is not stuck in `processing` until it
    goes stale (STALE_PROCESSING) once the database is back."""
    try:
        await _release(session, upload_id)
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        task = asyncio.create_task(_release_later(session, upload_id))
        _releasing.add(task)
        task.add_done_callback(_releasing.discard)


async def _release_later(session: AsyncSession, upload_id: uuid.UUID) -> None:
    for _ in range(RELEASE_RETRIES):
        await asyncio.sleep(1.0)
        try:
            async with AsyncSession(session.bind) as fresh:
                await _release(fresh, upload_id)
            log.info("upload_completion_released", upload_id=str(upload_id))
            return
        except Exception as exc:
            if not is_unavailable(exc):
                log.exception("upload_completion_release_failed", upload_id=str(upload_id))
                return


async def _instance_count(session: AsyncSession, upload: Upload) -> int:
    rows = await session.scalars(select(Instance.id).where(Instance.upload_id == upload.id))
    return len(rows.all())


def _stale(upload: Upload, stale: timedelta) -> bool:
    started = upload.processing_started_at
    return started is None or started < utcnow() - stale


async def _wait_for_other_run(session: AsyncSession, upload: Upload, stale: timedelta) -> None:
    """Until the running completion finishes, dies (goes stale) or WAIT_FOR_OTHER passes.
    Looks every 0.25 s at first, then less often (up to every POLL_MAX): many waiters
    polling must not slow down the run they wait for."""
    deadline = asyncio.get_running_loop().time() + WAIT_FOR_OTHER
    delay = 0.25
    while upload.state is UploadState.processing and not _stale(upload, stale):
        if asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(delay)
        delay = min(delay * 2, POLL_MAX)
        await _reload(session, upload)


async def _heartbeat(session: AsyncSession, upload_id: uuid.UUID, every: float) -> None:
    """Show the run is alive, on its own connection (the request's session is busy)."""
    while True:
        await asyncio.sleep(every)
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
    studies: PacsStudies,
    cache: Cache | None,
    upload: Upload,
    user: User,
    skip_invalid: bool,
    ip: str | None,
) -> CompleteAccepted:
    """Idempotent: a second (or concurrent) call gets the first call's outcome."""
    stale = timedelta(seconds=settings.upload_complete_stale_seconds)
    await session.commit()  # the request's own read of the upload: its connection goes back
    for _ in range(3):
        if upload.state is UploadState.processing:
            await _wait_for_other_run(session, upload, stale)
        if upload.state in states.COMPLETED:
            return recording.accepted(upload, await _instance_count(session, upload))
        if upload.state is UploadState.processing and not _stale(upload, stale):
            return recording.accepted(upload, 0)  # still running elsewhere: ask again later
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
        if await _begin(session, upload, stale):
            return await _run(
                session,
                settings=settings,
                handoff=handoff,
                studies=studies,
                storage=storage,
                cache=cache,
                upload=upload,
                user=user,
                skip_invalid=skip_invalid,
                ip=ip,
            )
    return recording.accepted(upload, 0)


async def _run(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    storage: Storage,
    handoff: Handoff,
    studies: PacsStudies,
    cache: Cache | None,
    upload: Upload,
    user: User,
    skip_invalid: bool,
    ip: str | None,
) -> CompleteAccepted:
    upload_id, service_level = upload.id, upload.service_level
    every = settings.upload_complete_stale_seconds / 6
    beat = asyncio.create_task(_heartbeat(session, upload_id, every))
    try:
        plan = await validation.plan(session, upload)
        await session.commit()  # hashing and DICOM reads take long: hold no connection
        checks = await validation.check_all(settings, storage, upload, plan)
        result = await _record(
            session,
            settings=settings,
            handoff=handoff,
            studies=studies,
            upload=upload,
            user=user,
            checks=checks,
            skip_invalid=skip_invalid,
            ip=ip,
        )
    except BaseException:
        beat.cancel()
        await _release_now_or_soon(session, upload_id)
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
    studies: PacsStudies,
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
    study_uids = sorted(
        {c.inspection.instance.study_instance_uid for c in valid if c.inspection.instance}
    )
    if len(study_uids) > 1:
        metrics.UPLOADS_COMPLETED.labels("invalid_dicom", upload.service_level).inc()
        raise MultipleStudies(studies=study_uids)
    if not valid:
        raise NoInstances()
    study_uid = study_uids[0]
    patients = sorted({c.inspection.instance.patient_id for c in valid if c.inspection.instance})
    if len(patients) > 1:
        # One identity per upload: what a PACS report is checked against (reports.sync).
        metrics.UPLOADS_COMPLETED.labels("invalid_dicom", upload.service_level).inc()
        raise MultiplePatients(patients=len(patients))

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
            await duplicates.refuse_duplicate(session, earlier=earlier, user=user, ip=ip)
    # Not skipped by force_upload: that answers "is this a duplicate", not "whose study".
    await study_conflict.ensure_no_conflict(
        session,
        studies=studies,
        upload=upload,
        user=user,
        study_uid=study_uid,
        patient_id=patients[0],
        ip=ip,
    )

    return await recording.record(
        session,
        handoff=handoff,
        upload=upload,
        user=user,
        checks=checks,
        study_uid=study_uid,
        patient_id=patients[0],
        ip=ip,
    )
