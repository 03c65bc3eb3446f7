"""Under which patients the PACS holds a StudyInstanceUID (QIDO-RS): the uploads' study
conflict port (`uploads.study_conflict.PacsStudies`) at completion, and the forwarder's
check again before it sends (`conflict_before_sending`).

Only DICOMweb destinations can be asked; a DIMSE-only destination is neither checked here
nor read by the report sync, so no report can come back from it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.audit import service as audit
from relaypacs.core.database import utcnow
from relaypacs.core.logging import get_logger
from relaypacs.pacs.config import PacsSettings
from relaypacs.pacs.dicomweb import DicomWeb
from relaypacs.pacs.health import DestinationHealth
from relaypacs.uploads import service as uploads_service
from relaypacs.uploads.models import Upload
from relaypacs.uploads.study_conflict import StudyHolders

log = get_logger("relaypacs.pacs.conflicts")

# A completing request waits at most this long for a PACS's answer.
COMPLETION_TIMEOUT = 10.0
# A destination the forwarder found down this recently is not asked at completion.
KNOWN_DOWN_FOR = timedelta(seconds=60)
STUDY_UID_CONFLICT = (
    "study_uid_conflict: the PACS holds this StudyInstanceUID for another patient "
    "(an admin may override it on the upload, then retry)"
)


class PacsStudyIndex:
    """Asks the destinations an upload may go to (the active ones and the fallback)."""

    def __init__(
        self,
        *,
        settings: PacsSettings,
        clients: dict[str, DicomWeb],
        health: dict[str, DestinationHealth],
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.health = health

    def _destinations(self) -> list[str]:
        names = [*self.settings.active_destinations, self.settings.fallback_pacs]
        return [name for name in dict.fromkeys(names) if name in self.clients]

    def _known_down(self, name: str) -> bool:
        health = self.health.get(name)
        return bool(
            health is not None
            and health.up is False
            and health.last_checked is not None
            and utcnow() - health.last_checked < KNOWN_DOWN_FOR
        )

    async def _ask(self, name: str, study_uid: str) -> set[str] | None:
        if self._known_down(name):
            return None
        try:
            with anyio.fail_after(COMPLETION_TIMEOUT):
                return await self.clients[name].study_patient_ids(study_uid)
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, it did not answer
            log.info("study_conflict_check_unanswered", destination=name, error=type(exc).__name__)
            return None

    async def holders(self, study_uid: str) -> StudyHolders:
        names = self._destinations()
        answers = await asyncio.gather(*(self._ask(name, study_uid) for name in names))
        return StudyHolders(
            patient_ids=frozenset(uid for answer in answers if answer for uid in answer),
            unanswered=tuple(n for n, answer in zip(names, answers, strict=True) if answer is None),
        )


async def conflict_before_sending(
    session: AsyncSession, *, client: DicomWeb, upload: Upload, destination: str
) -> str | None:
    """The dead-letter reason if `destination` holds the upload's study for another
    patient (audited), else None. Transport errors propagate: the attempt is retried."""
    if upload.study_conflict_overridden or not upload.study_instance_uid:
        return None
    identity = await uploads_service.patient_identity(session, upload_id=upload.id)
    patient_id = identity[0] if identity else None
    if patient_id is None:
        return None  # recorded before PatientIDs were kept: it passed completion unchecked
    held = await client.study_patient_ids(upload.study_instance_uid)
    if not held - {patient_id}:
        return None
    audit.record(
        session,
        action="study_uid_conflict",
        outcome="denied",
        target_type="upload",
        target_id=upload.id,
        details={
            "stage": "forwarding",
            "destination": destination,
            "study_instance_uid": upload.study_instance_uid,
        },
    )
    log.warning("study_uid_conflict", upload_id=str(upload.id), destination=destination)
    return STUDY_UID_CONFLICT
