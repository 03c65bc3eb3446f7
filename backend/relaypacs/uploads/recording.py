"""Recording a validated upload: study, series and instances, `queued`, forward jobs."""

from __future__ import annotations

import uuid
from datetime import date
from typing import cast

from sqlalchemy import Table, insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from relaypacs.audit import service as audit
from relaypacs.auth.models import User
from relaypacs.core.database import utcnow
from relaypacs.uploads import dicom, states, validation
from relaypacs.uploads.handoff import Handoff
from relaypacs.uploads.models import (
    FileStatus,
    Instance,
    Series,
    Study,
    Upload,
    UploadFile,
    UploadState,
)
from relaypacs.uploads.schemas import CompleteAccepted


def accepted(upload: Upload, instances: int) -> CompleteAccepted:
    return CompleteAccepted(
        upload_id=upload.id,
        state=upload.state,
        study_instance_uid=upload.study_instance_uid,
        instances=instances,
        warnings=list(upload.warnings or []),
        skipped_files=list(upload.skipped_files or []),
    )


async def record(
    session: AsyncSession,
    *,
    handoff: Handoff,
    upload: Upload,
    user: User,
    checks: list[validation.FileCheck],
    study_uid: str,
    patient_id: str,
    ip: str | None,
) -> CompleteAccepted:
    """Record the study, its series and instances, mark the upload `queued` and queue its
    forwarding, in one transaction (committed here)."""
    seen: dict[str, int] = {}
    kept: list[validation.FileCheck] = []
    skipped: list[dict[str, object]] = []
    files: list[dict[str, object]] = []
    for check in checks:
        f, inspection = check.file, check.inspection
        note = f.note
        if inspection.outcome is dicom.Outcome.dicomdir:
            status, note = FileStatus.dicomdir, inspection.reason
        elif inspection.instance is None:
            status, note = FileStatus.skipped, inspection.reason
            skipped.append({"file": f.index, "name": f.name, "reason": inspection.reason})
        elif inspection.instance.sop_instance_uid in seen:
            status = FileStatus.duplicate
            note = f"same SOP Instance UID as file {seen[inspection.instance.sop_instance_uid]}"
        else:
            seen[inspection.instance.sop_instance_uid] = f.index
            status = FileStatus.instance
            kept.append(check)
        values = {"sha256": check.sha256, "status": status, "note": note}
        files.append({"upload_id": f.upload_id, "index": f.index, **values})
        for key, value in values.items():  # the loaded object says the same, unflushed
            set_committed_value(f, key, value)
    # One UPDATE executed for every file (by primary key), not the unit of work's per object.
    await session.execute(update(UploadFile), files)

    instances = [c.inspection.instance for c in kept if c.inspection.instance]
    first = instances[0]
    study = Study(
        id=uuid.uuid4(),
        upload_id=upload.id,
        study_instance_uid=study_uid,
        patient_name=first.patient_name or None,
        patient_id=patient_id,
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
    rows = []
    for check in kept:
        i = check.inspection.instance
        assert i is not None
        rows.append(
            {
                "id": uuid.uuid4(),
                "series_id": series_ids[i.series_instance_uid],
                "upload_id": upload.id,
                "file_index": check.file.index,
                "sop_instance_uid": i.sop_instance_uid,
                "sop_class_uid": i.sop_class_uid,
                "instance_number": i.instance_number,
                "transfer_syntax": i.transfer_syntax,
                "has_file_meta": i.has_file_meta,
                "dataset_offset": i.dataset_offset,
                "size": check.file.size,
                "sha256": check.sha256,
            }
        )
    # One INSERT executed for every row, on the table itself: an ORM object per instance, or
    # the ORM's bulk path (per-row bookkeeping), cost more than the rest of `complete`.
    await session.execute(insert(cast(Table, Instance.__table__)), rows)
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
    return accepted(upload, len(kept))
