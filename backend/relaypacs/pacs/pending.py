"""The items of a forward job still to send, loaded a page at a time (with their chunks'
MD5s, for the verifier), and counted."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.pacs.instances import StoredInstance
from relaypacs.pacs.models import ForwardItem, ForwardJob, ItemState
from relaypacs.uploads.models import ChunkState, Instance, Upload, UploadChunk, UploadFile
from relaypacs.uploads.storage import Storage


async def page(
    session: AsyncSession,
    storage: Storage,
    job: ForwardJob,
    upload: Upload,
    after: int,
    limit: int,
) -> list[StoredInstance]:
    """The next `limit` pending instances after file `after`, with their chunks' MD5s:
    memory stays the same whatever the number of instances."""
    rows = (
        await session.execute(
            select(Instance, UploadFile)
            .join(ForwardItem, ForwardItem.instance_id == Instance.id)
            .join(
                UploadFile,
                (UploadFile.upload_id == Instance.upload_id)
                & (UploadFile.index == Instance.file_index),
            )
            .where(
                ForwardItem.job_id == job.id,
                ForwardItem.state == ItemState.pending,
                Instance.file_index > after,
            )
            .order_by(Instance.file_index)
            .limit(limit)
        )
    ).all()
    md5s: dict[int, list[str]] = {}
    if rows:
        chunks = await session.execute(
            select(UploadChunk.file_index, UploadChunk.md5)
            .where(
                UploadChunk.upload_id == upload.id,
                UploadChunk.file_index.in_([f.index for _, f in rows]),
                UploadChunk.state == ChunkState.stored,
            )
            .order_by(UploadChunk.file_index, UploadChunk.chunk_index)
        )
        for file_index, md5 in chunks:
            md5s.setdefault(file_index, []).append(md5)
    return [StoredInstance(storage, upload, f, i, md5s.get(f.index, [])) for i, f in rows]


async def count(
    session: AsyncSession, job: ForwardJob, *, state: ItemState | None = ItemState.pending
) -> int:
    """The job's items in `state` (all of them with None)."""
    query = select(func.count()).select_from(ForwardItem).where(ForwardItem.job_id == job.id)
    if state is not None:
        query = query.where(ForwardItem.state == state)
    return int(await session.scalar(query) or 0)
