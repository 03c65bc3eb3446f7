"""PACS report sync (seed F5.5): open reports are checked against their PACS.

Every REPORT_SYNC_INTERVAL_MINUTES one process (see `core.jobs.add_interval_job`) takes
the REPORT_SYNC_BATCH open reports checked longest ago, asks each report's destination
(QIDO-RS) whether the study gained a report series — a Structured Report (modality SR)
or an Encapsulated PDF (modality DOC) — and retrieves it (WADO-RS). A report found makes
the report READY with the SR's text or the PDF attached, and notifies the uploader.

Only a report the PACS holds for the upload's patient counts: an instance the gateway
sent itself (from any upload) is never a report, and one whose PatientID (or PatientName,
when it has one) differs from the upload's instances is not attached but recorded as the
report's sync warning (audited; shown to radiologists and admins).

A PACS that cannot be reached is logged and skipped until the next run; the job never
fails because of one, and logs name reports by id only (no patient data).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.core.database import Database, utcnow
from relaypacs.core.errors import AppError
from relaypacs.core.logging import get_logger
from relaypacs.notifications import service as notifications_service
from relaypacs.notifications.service import Notifier
from relaypacs.pacs.clients import close_all, dicomweb_clients
from relaypacs.pacs.config import PacsSettings
from relaypacs.pacs.dicomweb import DicomWeb
from relaypacs.reports import pacs_reports, report_instances
from relaypacs.reports.models import Report, ReportStatus, SyncWarningCode
from relaypacs.reports.report_instances import (
    ENCAPSULATED_PDF,
    TEXT_SR_CLASSES,
    PatientIdentity,
    ReportInstance,
    UnreadableReport,
    identity_mismatch,
)
from relaypacs.uploads import service as uploads_service

log = get_logger("relaypacs.reports.sync")

JOB_NAME = "reports.pacs_sync"
REPORT_MODALITIES = frozenset({"SR", "DOC"})

SERIES_INSTANCE_UID = "0020000E"
MODALITY = "00080060"
SOP_CLASS_UID = "00080016"
SOP_INSTANCE_UID = "00080018"


@dataclass(frozen=True)
class PacsReport:
    kind: str  # "SR" or "PDF"
    sop_instance_uid: str
    text: str | None
    pdf: bytes | None


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A report instance of another patient, found in the upload's study."""

    sop_instance_uid: str
    code: SyncWarningCode


@dataclass(frozen=True, slots=True)
class Finding:
    report: PacsReport | None
    mismatch: Mismatch | None = None


@dataclass
class SyncSummary:
    checked: int = 0
    ready: int = 0
    mismatched: int = 0
    unreachable: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _OpenReport:
    id: uuid.UUID
    destination: str | None
    study_instance_uid: str
    identity: PatientIdentity


# --- asking the PACS ---------------------------------------------------------------------


def _first(row: dict[str, Any], tag: str) -> str:
    values = (row.get(tag) or {}).get("Value") or [None]
    return str(values[0]) if values[0] is not None else ""


@dataclass(frozen=True, slots=True)
class _Candidate:
    series_uid: str
    sop_uid: str
    pdf: bool


async def _candidates(client: DicomWeb, study_uid: str) -> list[_Candidate]:
    """The study's text SRs (first) and Encapsulated PDFs, as the PACS lists them."""
    found: list[_Candidate] = []
    for series in await client.search_series(study_uid):
        if _first(series, MODALITY).upper() not in REPORT_MODALITIES:
            continue
        series_uid = _first(series, SERIES_INSTANCE_UID)
        for instance in await client.search_instances(study_uid, series_uid):
            sop_class = _first(instance, SOP_CLASS_UID)
            if sop_class in TEXT_SR_CLASSES or sop_class == ENCAPSULATED_PDF:
                found.append(
                    _Candidate(
                        series_uid,
                        _first(instance, SOP_INSTANCE_UID),
                        sop_class == ENCAPSULATED_PDF,
                    )
                )
    return sorted(found, key=lambda candidate: candidate.pdf)


async def find_report(
    client: DicomWeb,
    study_uid: str,
    *,
    expected: PatientIdentity,
    sent_by_gateway: Callable[[list[str]], Awaitable[set[str]]],
) -> Finding:
    """The study's report on the PACS, if it has one for the upload's patient (SR text
    preferred, PDF kept too). Never an instance the gateway sent (from any upload: an
    uploader can put an SR in a study), nor one of another patient (the uploader chose the
    StudyInstanceUID): the first such is returned as `mismatch`."""
    candidates = await _candidates(client, study_uid)
    ours = await sent_by_gateway([c.sop_uid for c in candidates])
    chosen: dict[bool, tuple[str, ReportInstance]] = {}
    mismatch: Mismatch | None = None
    for candidate in candidates:
        if candidate.sop_uid in ours or candidate.pdf in chosen:
            continue
        raw = await client.retrieve_instance(study_uid, candidate.series_uid, candidate.sop_uid)
        try:
            read = await anyio.to_thread.run_sync(
                functools.partial(report_instances.read, raw, pdf=candidate.pdf)
            )
        except UnreadableReport as exc:
            log.warning(
                "report_sync_unreadable", sop_instance_uid=candidate.sop_uid, reason=str(exc)
            )
            continue
        code = identity_mismatch(read.identity, expected)
        if code is None:
            chosen[candidate.pdf] = (candidate.sop_uid, read)
        elif mismatch is None:
            mismatch = Mismatch(candidate.sop_uid, code)
    sr, pdf = chosen.get(False), chosen.get(True)
    primary = sr or pdf
    if primary is None:
        return Finding(None, mismatch)
    found = PacsReport(
        kind="SR" if sr else "PDF",
        sop_instance_uid=primary[0],
        text=sr[1].text if sr else None,
        pdf=pdf[1].pdf if pdf else None,
    )
    return Finding(found, mismatch)


# --- the sync pass -----------------------------------------------------------------------


async def _claim_batch(session: AsyncSession, *, limit: int) -> list[_OpenReport]:
    """The open reports checked longest ago (never checked first), stamped as checked now.
    The stamp is set without touching `updated_at`: a check is not a change."""
    rows = (
        await session.scalars(
            select(Report)
            .where(Report.status != ReportStatus.ready)
            .order_by(Report.last_synced_at.asc().nulls_first(), Report.created_at, Report.id)
            .limit(limit)
        )
    ).all()
    if not rows:
        return []
    batch = []
    for row in rows:
        patient_id, patient_name = await uploads_service.patient_identity(
            session, upload_id=row.upload_id
        ) or (None, None)
        batch.append(
            _OpenReport(
                id=row.id,
                destination=row.destination,
                study_instance_uid=row.study_instance_uid,
                identity=PatientIdentity(patient_id, patient_name or ""),
            )
        )
    await session.execute(
        update(Report)
        .where(Report.id.in_([report.id for report in batch]))
        .values(last_synced_at=utcnow(), updated_at=Report.updated_at)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return batch


async def _make_ready(
    database: Database, notifier: Notifier, report_id: uuid.UUID, found: PacsReport
) -> bool:
    async with database.sessionmaker() as session:
        report = await session.scalar(
            select(Report).where(Report.id == report_id).with_for_update()
        )
        if report is None or report.status is ReportStatus.ready:
            return False
        try:
            dispatch = await pacs_reports.attach(
                session,
                report=report,
                kind=found.kind,
                sop_instance_uid=found.sop_instance_uid,
                text=found.text,
                pdf=found.pdf,
            )
        except AppError:
            await session.rollback()
            return False
        await session.commit()
    await notifier.deliver(dispatch)
    return True


async def _warn(database: Database, report_id: uuid.UUID, mismatch: Mismatch) -> bool:
    async with database.sessionmaker() as session:
        report = await session.scalar(
            select(Report).where(Report.id == report_id).with_for_update()
        )
        if report is None:
            return False
        recorded = pacs_reports.warn(
            session, report=report, sop_instance_uid=mismatch.sop_instance_uid, code=mismatch.code
        )
        await session.commit()
    if recorded:
        log.warning("report_sync_patient_mismatch", report_id=str(report_id), reason=mismatch.code)
    return recorded


def _sent_by_gateway(database: Database) -> Callable[[list[str]], Awaitable[set[str]]]:
    async def sent(uids: list[str]) -> set[str]:
        async with database.sessionmaker() as session:
            return await uploads_service.recorded_sop_instance_uids(session, uids=uids)

    return sent


async def sync_once(
    *, settings: PacsSettings, database: Database, notifier: Notifier
) -> SyncSummary:
    """One pass over a batch of open reports."""
    summary = SyncSummary()
    async with database.sessionmaker() as session:
        batch = await _claim_batch(session, limit=settings.report_sync_batch)
    clients = dicomweb_clients(settings)
    sent_by_gateway = _sent_by_gateway(database)
    try:
        for report in batch:
            summary.checked += 1
            name = report.destination or ""
            client = clients.get(name)
            if not report.study_instance_uid or client is None or name in summary.unreachable:
                continue
            try:
                finding = await find_report(
                    client,
                    report.study_instance_uid,
                    expected=report.identity,
                    sent_by_gateway=sent_by_gateway,
                )
            except (httpx.HTTPError, ValueError) as exc:
                # Down, refusing us, or answering garbage: try this PACS again next run.
                summary.unreachable.add(name)
                status = (
                    exc.response.status_code if isinstance(exc, httpx.HTTPStatusError) else None
                )
                log.warning(
                    "report_sync_pacs_unavailable",
                    destination=name,
                    error=type(exc).__name__,
                    http_status=status,
                )
                continue
            if finding.mismatch is not None and await _warn(database, report.id, finding.mismatch):
                summary.mismatched += 1
            found = finding.report
            if found is not None and await _make_ready(database, notifier, report.id, found):
                summary.ready += 1
                log.info("report_sync_ready", report_id=str(report.id), kind=found.kind)
    finally:
        await close_all(clients.values())
    log.info(
        "report_sync_finished",
        checked=summary.checked,
        ready=summary.ready,
        mismatched=summary.mismatched,
        unreachable=sorted(summary.unreachable),
    )
    return summary


async def run_once(settings: PacsSettings) -> SyncSummary:
    """The CLI's pass: its own database and notification hub (Redis when configured, so
    connected clients of the running servers hear about reports made READY)."""
    database = Database(settings)
    hub = notifications_service.build_hub(settings, database)
    await hub.start()
    notifier = Notifier(settings=settings, database=database, hub=hub)
    try:
        return await sync_once(settings=settings, database=database, notifier=notifier)
    finally:
        await notifier.drain()
        await hub.stop()
        await database.dispose()
