"""PACS report sync (seed F5.5): open reports are checked against their PACS.

Every REPORT_SYNC_INTERVAL_MINUTES one process (see `core.jobs.add_interval_job`) takes
the REPORT_SYNC_BATCH open reports checked longest ago, asks each report's destination
(QIDO-RS) whether the study gained a report series — a Structured Report (modality SR)
or an Encapsulated PDF (modality DOC) — and retrieves it (WADO-RS). A report found makes
the report READY with the SR's text or the PDF attached, and notifies the uploader.

A PACS that cannot be reached is logged and skipped until the next run; the job never
fails because of one, and logs name reports by id only (no patient data).
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import httpx
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.core.database import Database, utcnow
from relaypacs.core.errors import AppError
from relaypacs.core.logging import get_logger
from relaypacs.notifications import service as notifications_service
from relaypacs.notifications.service import Notifier
from relaypacs.pacs import service as pacs_service
from relaypacs.pacs.clients import close_all, dicomweb_clients
from relaypacs.pacs.config import PacsSettings
from relaypacs.pacs.dicomweb import DicomWeb
from relaypacs.reports import service as reports_service
from relaypacs.reports.models import Report, ReportStatus

log = get_logger("relaypacs.reports.sync")

JOB_NAME = "reports.pacs_sync"
REPORT_MODALITIES = frozenset({"SR", "DOC"})
ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
# Text-bearing SR classes: Basic Text, Enhanced, Comprehensive, Comprehensive 3D,
# Extensible. Dose reports and other machine SRs (also modality SR) are not reports.
TEXT_SR_CLASSES = frozenset(
    f"1.2.840.10008.5.1.4.1.1.88.{suffix}" for suffix in ("11", "22", "33", "34", "35")
)

STUDY_INSTANCE_UID = "0020000D"
SERIES_INSTANCE_UID = "0020000E"
MODALITY = "00080060"
SOP_CLASS_UID = "00080016"
SOP_INSTANCE_UID = "00080018"


class UnreadableReport(Exception):
    """The PACS returned an instance that is not the SR or PDF it claimed to be."""


@dataclass(frozen=True)
class PacsReport:
    kind: str  # "SR" or "PDF"
    sop_instance_uid: str
    text: str | None
    pdf: bytes | None


@dataclass
class SyncSummary:
    checked: int = 0
    ready: int = 0
    unreachable: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _OpenReport:
    id: uuid.UUID
    upload_id: uuid.UUID
    destination: str | None
    study_instance_uid: str
    own_instances: frozenset[str]


# --- reading the PACS's report instances (blocking: run in a worker thread) ------------


def _meaning(item: Dataset, keyword: str) -> str:
    codes = item.get(keyword)
    return str(codes[0].get("CodeMeaning", "")).strip() if codes else ""


def _value_of(item: Dataset) -> str:
    kind = str(item.get("ValueType", ""))
    if kind == "TEXT":
        return str(item.get("TextValue", "")).strip()
    if kind == "CODE":
        return _meaning(item, "ConceptCodeSequence")
    if kind == "NUM" and item.get("MeasuredValueSequence"):
        measured = item.MeasuredValueSequence[0]
        unit = _meaning(measured, "MeasurementUnitsCodeSequence")
        return f"{measured.get('NumericValue', '')} {unit}".strip()
    if kind == "PNAME":
        return str(item.get("PersonName", ""))
    if kind in ("DATE", "TIME", "DATETIME"):
        keyword = {"DATE": "Date", "TIME": "Time", "DATETIME": "DateTime"}[kind]
        return str(item.get(keyword, ""))
    if kind == "UIDREF":
        return str(item.get("UID", ""))
    return ""


def _walk(items: Sequence[Dataset], lines: list[str]) -> None:
    for item in items:
        name = _meaning(item, "ConceptNameCodeSequence")
        if item.get("ValueType") == "CONTAINER":
            if name:
                lines += ["", name] if lines else [name]
        else:
            value = _value_of(item)
            if value and item.get("ValueType") == "TEXT" and name:
                lines += ["", name, value] if lines else [name, value]
            elif value:
                lines.append(f"{name}: {value}" if name else value)
        _walk(item.get("ContentSequence", []), lines)


def sr_text(raw: bytes) -> str:
    """The readable content of an SR: TEXT values and CODE meanings, under the concept
    names (section headings) they belong to."""
    try:
        dataset = pydicom.dcmread(io.BytesIO(raw))
    except (InvalidDicomError, ValueError, EOFError) as exc:
        raise UnreadableReport("not a DICOM instance") from exc
    if "ContentSequence" not in dataset:
        raise UnreadableReport("SR without content")
    lines: list[str] = []
    _walk([dataset], lines)
    return "\n".join(lines).strip()


def encapsulated_pdf(raw: bytes) -> bytes:
    """The PDF inside an Encapsulated PDF instance (without DICOM's even-length padding)."""
    try:
        dataset = pydicom.dcmread(io.BytesIO(raw))
        document = bytes(dataset.EncapsulatedDocument)
    except (InvalidDicomError, AttributeError, ValueError, EOFError) as exc:
        raise UnreadableReport("no encapsulated document") from exc
    length = dataset.get("EncapsulatedDocumentLength")
    if length:
        document = document[: int(length)]
    elif document.endswith(b"\x00"):
        document = document[:-1]
    if not document.startswith(b"%PDF"):
        raise UnreadableReport("encapsulated document is not a PDF")
    return document


# --- asking the PACS ---------------------------------------------------------------------


def _first(row: dict[str, Any], tag: str) -> str:
    values = (row.get(tag) or {}).get("Value") or [None]
    return str(values[0]) if values[0] is not None else ""


async def find_report(
    client: DicomWeb, study_uid: str, *, exclude: frozenset[str] = frozenset()
) -> PacsReport | None:
    """The study's report on the PACS, if it has one (SR text preferred, PDF kept too)."""
    found: list[tuple[str, str, str]] = []  # (series, SOP instance, SOP class)
    for series in await client.search_series(study_uid):
        if _first(series, MODALITY).upper() not in REPORT_MODALITIES:
            continue
        series_uid = _first(series, SERIES_INSTANCE_UID)
        for instance in await client.search_instances(study_uid, series_uid):
            sop_uid = _first(instance, SOP_INSTANCE_UID)
            sop_class = _first(instance, SOP_CLASS_UID)
            if sop_uid in exclude:
                continue
            if sop_class in TEXT_SR_CLASSES or sop_class == ENCAPSULATED_PDF:
                found.append((series_uid, sop_uid, sop_class))
    sr = next((f for f in found if f[2] in TEXT_SR_CLASSES), None)
    pdf = next((f for f in found if f[2] == ENCAPSULATED_PDF), None)
    text = document = None
    if sr is not None:
        raw = await client.retrieve_instance(study_uid, sr[0], sr[1])
        text = await anyio.to_thread.run_sync(sr_text, raw)
    if pdf is not None:
        raw = await client.retrieve_instance(study_uid, pdf[0], pdf[1])
        document = await anyio.to_thread.run_sync(encapsulated_pdf, raw)
    primary = sr or pdf
    if primary is None:
        return None
    return PacsReport(
        kind="SR" if sr else "PDF", sop_instance_uid=primary[1], text=text, pdf=document
    )


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
    batch = [
        _OpenReport(
            id=row.id,
            upload_id=row.upload_id,
            destination=row.destination,
            study_instance_uid=row.study_instance_uid,
            own_instances=frozenset(
                await pacs_service.delivered_sop_instance_uids(session, upload_id=row.upload_id)
            ),
        )
        for row in rows
    ]
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
            dispatch = await reports_service.attach_pacs_report(
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


async def sync_once(
    *, settings: PacsSettings, database: Database, notifier: Notifier
) -> SyncSummary:
    """One pass over a batch of open reports."""
    summary = SyncSummary()
    async with database.sessionmaker() as session:
        batch = await _claim_batch(session, limit=settings.report_sync_batch)
    clients = dicomweb_clients(settings)
    try:
        for report in batch:
            summary.checked += 1
            name = report.destination or ""
            client = clients.get(name)
            if not report.study_instance_uid or client is None or name in summary.unreachable:
                continue
            try:
                found = await find_report(
                    client, report.study_instance_uid, exclude=report.own_instances
                )
            except UnreadableReport as exc:
                log.warning("report_sync_unreadable", report_id=str(report.id), reason=str(exc))
                continue
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
            if found is not None and await _make_ready(database, notifier, report.id, found):
                summary.ready += 1
                log.info("report_sync_ready", report_id=str(report.id), kind=found.kind)
    finally:
        await close_all(clients.values())
    log.info(
        "report_sync_finished",
        checked=summary.checked,
        ready=summary.ready,
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
