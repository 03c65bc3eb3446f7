"""A StudyInstanceUID the PACS already holds for another patient: refused at completion.

The uploader chooses the StudyInstanceUID. Sent into a study of another patient, the
upload would mix two patients' images in the PACS and have that patient's report come
back as its own. So `complete` asks the PACS (QIDO-RS) under which PatientIDs it holds
the study, and refuses with 409 `study_uid_conflict` when any differs from the upload's.
An admin who finds the upload legitimate records an override with a reason (audited);
completion and forwarding then let it through.

A PACS that cannot be asked at completion does not stop the upload (nothing a user sent
is lost): the forwarder asks again before sending to it, and a conflict found then
dead-letters that delivery (the upload becomes `failed`, the uploader is told).

`PacsStudies` is the port: `relaypacs.pacs.conflicts.PacsStudyIndex` implements it and
main.py puts it on `app.state.pacs_studies`. Uploads never import the domains above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.auth.models import User
from relaypacs.core import metrics
from relaypacs.core.logging import get_logger
from relaypacs.uploads import service as upload_service
from relaypacs.uploads.errors import OverrideNotApplicable, StudyUidConflict
from relaypacs.uploads.models import Upload, UploadState
from relaypacs.uploads.schemas import UploadRead

log = get_logger("relaypacs.uploads.study_conflict")

# The states a study UID conflict leaves an upload in: refused at completion (its chunks
# kept, to be completed again) or dead-lettered at forwarding (to be retried).
OVERRIDABLE = frozenset({UploadState.uploading, UploadState.failed})


@dataclass(frozen=True, slots=True)
class StudyHolders:
    """What the PACS destinations said about one StudyInstanceUID."""

    patient_ids: frozenset[str]  # the PatientIDs they hold the study under (none: not held)
    unanswered: tuple[str, ...] = ()  # destinations that could not be asked now


class PacsStudies(Protocol):
    async def holders(self, study_uid: str) -> StudyHolders:
        """Ask every destination the upload may go to; never raises for a PACS outage."""
        ...


async def ensure_no_conflict(
    session: AsyncSession,
    *,
    studies: PacsStudies,
    upload: Upload,
    user: User,
    study_uid: str,
    patient_id: str,
    ip: str | None,
) -> None:
    """409 `study_uid_conflict` (audited) when a PACS holds `study_uid` for another
    PatientID, unless an admin overrode it for this upload."""
    if upload.study_conflict_overridden:
        return
    found = await studies.holders(study_uid)
    if found.unanswered:
        log.info(
            "study_conflict_check_deferred",
            upload_id=str(upload.id),
            destinations=list(found.unanswered),
        )
    if not found.patient_ids - {patient_id}:
        return
    metrics.UPLOADS_COMPLETED.labels("study_uid_conflict", upload.service_level).inc()
    # UIDs and ids only: the other patient's PatientID is neither returned nor recorded.
    audit.record(
        session,
        action="study_uid_conflict",
        outcome="denied",
        actor_id=user.id,
        target_type="upload",
        target_id=upload.id,
        ip=ip,
        details={"stage": "completion", "study_instance_uid": study_uid},
    )
    await session.commit()
    raise StudyUidConflict()


async def override(
    session: AsyncSession, *, upload: Upload, actor: User, reason: str, ip: str | None
) -> UploadRead:
    """An admin lets the upload go on despite the conflict: the owner completes it again,
    or an admin retries its dead-lettered delivery. Audited with the reason."""
    if upload_service.effective_state(upload) not in OVERRIDABLE:
        raise OverrideNotApplicable()
    if not upload.study_conflict_overridden:
        upload.study_conflict_overridden = True
        audit.record(
            session,
            action="study_uid_conflict_overridden",
            actor_id=actor.id,
            target_type="upload",
            target_id=upload.id,
            ip=ip,
            details={"reason": reason, "owner_id": str(upload.user_id)},
        )
        await session.commit()
        log.info("study_conflict_overridden", upload_id=str(upload.id), actor_id=str(actor.id))
    return upload_service.read(upload)
