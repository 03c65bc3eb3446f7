"""A forward job changed state → the upload's state follows; delivered everywhere → its
report is opened; dead-lettered → the uploader is told. All in the forwarder's transaction;
the `Dispatch` returned is delivered once it commits (`pacs.worker.Forwarder.changed`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.core.logging import get_logger
from relaypacs.notifications import service as notifications_service
from relaypacs.notifications.service import Dispatch
from relaypacs.pacs import service as pacs_service
from relaypacs.pacs.handoff import ForwardingProgress, JobChange
from relaypacs.pacs.models import JobState
from relaypacs.reports import service as reports_service
from relaypacs.uploads import service as uploads_service
from relaypacs.uploads.models import UploadState

log = get_logger("relaypacs.flows")

UPLOAD_STATE = {
    ForwardingProgress.forwarding: UploadState.forwarding,
    ForwardingProgress.delivered: UploadState.forwarded,
    ForwardingProgress.failed: UploadState.failed,
}


async def job_changed(session: AsyncSession, change: JobChange) -> Dispatch:
    upload = await uploads_service.lock(session, upload_id=change.upload_id)
    if upload is None:
        return Dispatch()
    progress = await pacs_service.progress(session, upload_id=upload.id)
    state, previous = UPLOAD_STATE[progress], upload.state
    uploads_service.set_state(upload, state)
    if state is not previous:
        log.info(
            "upload_state_changed",
            upload_id=str(upload.id),
            previous=previous.value,
            state=state.value,
            job_id=str(change.job_id),
        )
    if change.state is JobState.dead:
        return await notifications_service.notify(
            session,
            user_ids=[upload.user_id],
            type="upload_failed",
            title="Study could not be delivered",
            body=f"Delivery to {change.destination} failed: "
            f"{(change.error or 'unknown error')[:300]}",
            upload_id=upload.id,
        )
    if state is UploadState.forwarded:
        return await reports_service.create_for_upload(
            session, upload_id=upload.id, destination=change.destination
        )
    return Dispatch()
