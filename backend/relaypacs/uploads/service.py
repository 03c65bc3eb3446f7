"""Uploads: start one, report its progress, list and show them."""

from __future__ import annotations

import builtins
import math
import uuid
from collections.abc import Collection, Sequence
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.auth.models import User
from relaypacs.core import export, metrics, security
from relaypacs.core.cache import Cache
from relaypacs.core.config import CoreSettings
from relaypacs.core.database import execute_dml, utcnow
from relaypacs.core.pagination import Rows, Window, paginate
from relaypacs.uploads import changes, duplicates, states
from relaypacs.uploads.errors import TooManyFiles, UploadCompleted, UploadTooLarge
from relaypacs.uploads.handoff import Handoff
from relaypacs.uploads.models import (
    ChunkState,
    FileStatus,
    Instance,
    Study,
    Upload,
    UploadChunk,
    UploadFile,
    UploadState,
)
from relaypacs.uploads.schemas import (
    FilePlan,
    FileProgress,
    UploadCreated,
    UploadDetail,
    UploadFileRead,
    UploadInit,
    UploadRead,
    UploadStatus,
)
from relaypacs.uploads.storage import Storage
from relaypacs.users import service as users_service


def total_chunks(size: int, chunk_size: int) -> int:
    # A zero-byte file is sent as one empty chunk, so every file has a chunk to send.
    return max(1, math.ceil(size / chunk_size))


async def create(
    session: AsyncSession,
    *,
    settings: CoreSettings,
    cache: Cache | None,
    user: User,
    data: UploadInit,
    ip: str | None,
) -> UploadCreated:
    """Check limits and duplicates, then open an upload and plan its chunks."""
    if len(data.files) > settings.upload_max_files:
        raise TooManyFiles(
            f"An upload may have at most {settings.upload_max_files} files; "
            f"this one has {len(data.files)}.",
            limit=settings.upload_max_files,
        )
    total = sum(f.size for f in data.files)
    if total > settings.upload_max_total_bytes:
        raise UploadTooLarge(
            f"An upload may be at most {settings.upload_max_total_bytes} bytes; "
            f"this one declares {total}.",
            limit=settings.upload_max_total_bytes,
        )
    preferences = await users_service.get_preferences(session, user_id=user.id)
    chunk_size = data.chunk_size or preferences.chunk_size
    key = duplicates.duplicate_key(data.patient_name, data.study_date.isoformat(), data.modality)
    if not data.force_upload and preferences.duplicate_check:
        earlier = await duplicates.find_duplicate(session, settings=settings, key=key)
        if earlier is not None:
            await duplicates.refuse_duplicate(session, earlier=earlier, user=user, ip=ip)

    token = security.new_opaque_token()
    now = utcnow()
    upload = Upload(
        id=uuid.uuid4(),
        user_id=user.id,
        facility_id=user.facility_id,
        facility=user.facility,
        patient_name=data.patient_name,
        study_date=data.study_date,
        modality=data.modality,
        service_level=data.service_level,
        notes=data.notes,
        chunk_size=chunk_size,
        file_count=len(data.files),
        total_bytes=total,
        state=UploadState.uploading,
        duplicate_key=key,
        force_upload=data.force_upload,
        upload_token_hash=security.token_hash(token),
        expires_at=now + timedelta(hours=settings.upload_ttl_hours),
        created_at=now,
    )
    session.add(upload)
    plans = [
        FilePlan(index=i, name=f.name, size=f.size, total_chunks=total_chunks(f.size, chunk_size))
        for i, f in enumerate(data.files)
    ]
    await session.flush()
    session.add_all(
        UploadFile(
            upload_id=upload.id,
            index=p.index,
            name=p.name,
            size=p.size,
            total_chunks=p.total_chunks,
            status=FileStatus.pending,
        )
        for p in plans
    )
    audit.record(
        session,
        action="upload_created",
        actor_id=user.id,
        target_type="upload",
        target_id=upload.id,
        ip=ip,
        details={"files": len(plans), "bytes": total, "forced": data.force_upload},
    )
    await session.commit()
    metrics.UPLOADS_STARTED.labels(upload.service_level).inc()
    await changes.changed(cache)
    return UploadCreated(
        upload_id=upload.id,
        upload_token=token,
        chunk_size=chunk_size,
        files=plans,
        expires_at=upload.expires_at,
    )


async def get(session: AsyncSession, *, upload_id: uuid.UUID) -> Upload | None:
    return await session.get(Upload, upload_id)


async def stored_chunks(session: AsyncSession, *, upload_id: uuid.UUID) -> dict[int, set[int]]:
    rows = await session.execute(
        select(UploadChunk.file_index, UploadChunk.chunk_index).where(
            UploadChunk.upload_id == upload_id, UploadChunk.state == ChunkState.stored
        )
    )
    received: dict[int, set[int]] = {}
    for file_index, chunk_index in rows:
        received.setdefault(file_index, set()).add(chunk_index)
    return received


async def files_of(session: AsyncSession, *, upload_id: uuid.UUID) -> Sequence[UploadFile]:
    rows = await session.scalars(
        select(UploadFile).where(UploadFile.upload_id == upload_id).order_by(UploadFile.index)
    )
    return rows.all()


async def progress(session: AsyncSession, *, upload: Upload) -> builtins.list[FileProgress]:
    """Per file: what has been stored and, sorted, what is still missing."""
    received = await stored_chunks(session, upload_id=upload.id)
    result = []
    for f in await files_of(session, upload_id=upload.id):
        have = received.get(f.index, set())
        missing = [i for i in range(f.total_chunks) if i not in have]
        result.append(
            FileProgress(
                index=f.index, total_chunks=f.total_chunks, received=len(have), missing=missing
            )
        )
    return result


def effective_state(upload: Upload) -> UploadState:
    if upload.state is UploadState.uploading and upload.expires_at <= utcnow():
        return UploadState.expired
    return upload.state


async def status(session: AsyncSession, *, upload: Upload) -> UploadStatus:
    return UploadStatus(
        upload_id=upload.id,
        state=effective_state(upload),
        expires_at=upload.expires_at,
        files=await progress(session, upload=upload),
    )


def read(upload: Upload) -> UploadRead:
    model = UploadRead.model_validate(upload)
    model.state = effective_state(upload)
    return model


async def detail(
    session: AsyncSession, *, upload: Upload, viewer: User, ip: str | None, handoff: Handoff
) -> UploadDetail:
    files = await files_of(session, upload_id=upload.id)
    instances = await session.scalar(
        select(func.count()).select_from(Instance).where(Instance.upload_id == upload.id)
    )
    audit.record(
        session,
        action="upload_viewed",
        actor_id=viewer.id,
        target_type="upload",
        target_id=upload.id,
        ip=ip,
    )
    await session.commit()
    return UploadDetail(
        **read(upload).model_dump(),
        files=[UploadFileRead.model_validate(f) for f in files],
        instance_count=int(instances or 0),
        forwarding=await handoff.forwarding(session, upload_id=upload.id),
    )


async def list(
    session: AsyncSession,
    *,
    owner_id: uuid.UUID | None,
    state: UploadState | None,
    window: Window,
) -> Rows:
    """Newest first; `owner_id=None` lists everybody's (admins)."""
    query = select(Upload)
    if owner_id is not None:
        query = query.where(Upload.user_id == owner_id)
    if state is not None:
        query = query.where(Upload.state == state)
    return await paginate(session, query, window, Upload.created_at.desc(), Upload.id)


@export.section("uploads")
async def _export_uploads(session: AsyncSession, user_id: uuid.UUID) -> object:
    rows = await session.scalars(
        select(Upload).where(Upload.user_id == user_id).order_by(Upload.created_at)
    )
    return [read(u).model_dump(mode="json") for u in rows]


async def cancel(
    session: AsyncSession,
    *,
    storage: Storage,
    cache: Cache | None,
    upload: Upload,
    ip: str | None,
) -> None:
    """The sender gives up on an upload before completing it: its chunks and stored data
    are deleted now (not in 24 h) and it is marked cancelled. A completed one is 409."""
    claimed = await execute_dml(
        session,
        update(Upload)
        .where(Upload.id == upload.id, Upload.state.in_(states.sources(UploadState.cancelled)))
        .values(state=UploadState.cancelled, updated_at=utcnow())
        .execution_options(synchronize_session=False),
    )
    if claimed != 1:
        raise UploadCompleted("Only an upload still in progress can be cancelled.")
    await session.execute(delete(UploadChunk).where(UploadChunk.upload_id == upload.id))
    audit.record(
        session,
        action="upload_cancelled",
        actor_id=upload.user_id,
        target_type="upload",
        target_id=upload.id,
        ip=ip,
    )
    await session.commit()
    metrics.UPLOADS_FINISHED.labels("cancelled", upload.service_level).inc()
    await changes.changed(cache)
    await storage.delete_upload(upload.id.hex)


async def instance_ids(session: AsyncSession, *, upload_id: uuid.UUID) -> builtins.list[uuid.UUID]:
    """The recorded instances of a completed upload, in file order."""
    rows = await session.scalars(
        select(Instance.id).where(Instance.upload_id == upload_id).order_by(Instance.file_index)
    )
    return builtins.list(rows)


async def patient_identity(
    session: AsyncSession, *, upload_id: uuid.UUID
) -> tuple[str | None, str | None] | None:
    """(PatientID, PatientName) of the upload's instances; None before it is complete."""
    row = (
        await session.execute(
            select(Study.patient_id, Study.patient_name).where(Study.upload_id == upload_id)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def recorded_sop_instance_uids(session: AsyncSession, *, uids: Collection[str]) -> set[str]:
    """Those of `uids` that some upload sent through the gateway (any upload, any user)."""
    if not uids:
        return set()
    rows = await session.scalars(
        select(Instance.sop_instance_uid).where(Instance.sop_instance_uid.in_(set(uids)))
    )
    return set(rows)


async def lock(session: AsyncSession, *, upload_id: uuid.UUID) -> Upload | None:
    """The upload, freshly read and locked for the caller's transaction.

    Two forward jobs of one upload (ACTIVE_PACS=both) finishing at once would otherwise
    each see the other still sending, and the upload would stay `forwarding` for ever."""
    return await session.scalar(
        select(Upload)
        .where(Upload.id == upload_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def set_state(upload: Upload, state: UploadState) -> None:
    """Move the upload to `state` if the state table allows it (409 otherwise)."""
    states.check(upload.state, state)
    if state is not upload.state and state in (UploadState.forwarded, UploadState.failed):
        if state is UploadState.forwarded:
            # The first delivery counts (a re-sent study keeps its delivery time).
            upload.forwarded_at = upload.forwarded_at or utcnow()
        else:
            upload.failed_at = utcnow()
        metrics.UPLOADS_FINISHED.labels(state.value, upload.service_level).inc()
    upload.state = state
