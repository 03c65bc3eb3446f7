"""Removing expired and abandoned uploads and their stored chunks."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import delete, select, update

from relaypacs.core import metrics
from relaypacs.core.cache import Cache, create_cache
from relaypacs.core.config import CoreSettings
from relaypacs.core.database import Database, execute_dml, utcnow
from relaypacs.core.jobs import run_exclusive
from relaypacs.core.logging import get_logger
from relaypacs.uploads import changes, states
from relaypacs.uploads.completion import STALE_PROCESSING
from relaypacs.uploads.models import Upload, UploadChunk, UploadState
from relaypacs.uploads.schemas import CleanupReport
from relaypacs.uploads.storage import Storage, build_storage

log = get_logger("relaypacs.uploads.cleanup")
JOB_NAME = "uploads.cleanup"


async def _is_orphan(database: Database, stored_id: str) -> bool:
    """Re-checked just before deleting: an upload created a moment ago keeps its data."""
    try:
        upload_id = uuid.UUID(hex=stored_id)
    except ValueError:
        return True
    async with database.sessionmaker() as session:
        state = await session.scalar(select(Upload.state).where(Upload.id == upload_id))
    return state is None or state in states.GONE


async def cleanup(
    *, database: Database, storage: Storage, cache: Cache | None = None
) -> CleanupReport:
    """Release completions that died, expire uploads past their deadline, free their
    chunks, and drop orphaned data. Each expiry moves the uploads' generation on in
    `cache` (what the stats are cached in)."""
    now = utcnow()
    expired = 0
    freed = 0
    async with database.sessionmaker() as session:
        # A `complete` whose process died (no heartbeat for STALE_PROCESSING) would hold
        # its upload in `processing` for ever if the client never asks again: it goes back
        # to `uploading`, to be completed again or to expire like any other.
        released = await execute_dml(
            session,
            update(Upload)
            .where(
                Upload.state.in_(states.sources(UploadState.uploading)),
                Upload.processing_started_at < now - STALE_PROCESSING,
            )
            .values(state=UploadState.uploading, processing_started_at=None)
            .execution_options(synchronize_session=False),
        )
        await session.commit()
        overdue = (
            await session.execute(
                select(Upload.id, Upload.service_level).where(
                    Upload.state == UploadState.uploading, Upload.expires_at <= now
                )
            )
        ).all()
        for upload_id, service_level in overdue:
            # Compare-and-set: a completion that started meanwhile keeps its upload.
            claimed = await execute_dml(
                session,
                update(Upload)
                .where(
                    Upload.id == upload_id,
                    Upload.state.in_(states.sources(UploadState.expired)),
                )
                .values(state=UploadState.expired)
                .execution_options(synchronize_session=False),
            )
            if claimed != 1:
                continue
            await session.execute(delete(UploadChunk).where(UploadChunk.upload_id == upload_id))
            await session.commit()
            metrics.UPLOADS_FINISHED.labels("expired", service_level).inc()
            await changes.changed(cache)
            freed += await storage.delete_upload(upload_id.hex)
            expired += 1

        known = {
            row.hex
            for row in (
                await session.scalars(select(Upload.id).where(Upload.state.not_in(states.GONE)))
            ).all()
        }
    orphans = 0
    for stored_id in await storage.list_upload_ids():
        if stored_id in known or not await _is_orphan(database, stored_id):
            continue
        freed += await storage.delete_upload(stored_id)
        orphans += 1
    report = CleanupReport(
        expired_uploads=expired,
        orphaned_uploads=orphans,
        bytes_freed=freed,
        released_uploads=released,
    )
    log.info("uploads_cleanup", **report.model_dump())
    return report


async def run_once(settings: CoreSettings) -> CleanupReport:
    """The CLI's cleanup: same lease as the scheduled job, so the two never overlap."""
    database = Database(settings)
    storage = build_storage(settings)
    # With REDIS_URL the servers' cached stats see the expiries (in-process: nobody caches).
    cache = create_cache(settings.redis_url) if settings.redis_url else None
    try:
        report = await run_exclusive(
            database,
            JOB_NAME,
            lambda: cleanup(database=database, storage=storage, cache=cache),
            timedelta(hours=1),
        )
        return report or CleanupReport(expired_uploads=0, orphaned_uploads=0, bytes_freed=0)
    finally:
        storage.close()
        if cache is not None:
            await cache.close()
        await database.dispose()
