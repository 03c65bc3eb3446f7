"""PACS report sync end to end on the Orthanc fixture: a study is uploaded through the API
and delivered, the PACS gains a report instance (SR or encapsulated PDF), one sync pass
makes the report READY with the report attached and notifies the uploader."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid
from reportlab.pdfgen import canvas
from sqlalchemy import select

from relaypacs.core import jobs
from relaypacs.core.database import Database
from relaypacs.reports import sync
from relaypacs.reports.models import Report, ReportAttachment, ReportStatus
from tests import phi_scan
from tests.dicom_factory import write_study
from tests.factories import bearer, create_user, login
from tests.pacs.conftest import FAST_RETRIES, destination, wait_for_state
from tests.reports.factories import make_report
from tests.reports.test_pdf import pdf_text
from tests.servers import OrthancServer, free_port
from tests.upload_client import upload_study

pytestmark = pytest.mark.slow

BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
PATIENT = {"PatientName": "DOE^JANE", "PatientID": "PID-0001", "StudyDate": "20260115"}


@pytest.fixture
def pacs(orthanc: OrthancServer) -> Iterator[OrthancServer]:
    if not orthanc.running:
        orthanc.start()
    orthanc.clear()
    yield orthanc


@pytest.fixture
def settings_overrides(pacs: OrthancServer) -> dict[str, Any]:
    return FAST_RETRIES | {"pacs_orthanc": destination(pacs), "active_pacs": "orthanc"}


# --- report instances as a reporting system would store them ---------------------------


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def _content(value_type: str, concept: Dataset, **values: Any) -> Dataset:
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = value_type
    item.ConceptNameCodeSequence = Sequence([concept])
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def _instance(
    study_uid: str, sop_class: str, modality: str, patient: dict[str, str] | None = None
) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = modality
    ds.SeriesNumber = 900
    ds.InstanceNumber = 1
    for keyword, value in (PATIENT | (patient or {})).items():
        setattr(ds, keyword, value)
    phi_scan.register_dataset(ds)
    return ds


def _part10(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def basic_text_sr(
    study_uid: str, *, finding: str, impression: str, patient: dict[str, str] | None = None
) -> bytes:
    """A radiologist's Basic Text SR; `patient` overrides PATIENT's PatientName/ID."""
    ds = _instance(study_uid, BASIC_TEXT_SR, "SR", patient)
    ds.ValueType = "CONTAINER"
    ds.ContinuityOfContent = "SEPARATE"
    ds.ConceptNameCodeSequence = Sequence([_code("18748-4", "LN", "Diagnostic Imaging Report")])
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    findings = _content("CONTAINER", _code("121070", "DCM", "Findings"))
    findings.ContinuityOfContent = "SEPARATE"
    findings.ContentSequence = Sequence(
        [
            _content("TEXT", _code("121071", "DCM", "Finding"), TextValue=finding),
            _content(
                "CODE",
                _code("121071", "DCM", "Finding"),
                ConceptCodeSequence=Sequence([_code("17621005", "SCT", "Normal")]),
            ),
        ]
    )
    ds.ContentSequence = Sequence(
        [findings, _content("TEXT", _code("121073", "DCM", "Impression"), TextValue=impression)]
    )
    return _part10(ds)


def a_pdf(text: str) -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.save()
    return buffer.getvalue()


def encapsulated_pdf(
    study_uid: str, document: bytes, patient: dict[str, str] | None = None
) -> bytes:
    ds = _instance(study_uid, ENCAPSULATED_PDF, "DOC", patient)
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.DocumentTitle = "Radiology report"
    ds.BurnedInAnnotation = "YES"
    ds.ConceptNameCodeSequence = Sequence([_code("18748-4", "LN", "Diagnostic Imaging Report")])
    ds.EncapsulatedDocumentLength = len(document)
    ds.EncapsulatedDocument = document + (b"\x00" if len(document) % 2 else b"")
    return _part10(ds)


def store_in_orthanc(orthanc: OrthancServer, part10: bytes) -> None:
    stored = orthanc.request("POST", "/instances", part10)
    assert stored["Status"] == "Success", stored


# --- helpers ----------------------------------------------------------------------------


async def delivered_study(
    client: httpx.AsyncClient, headers: dict[str, str], directory: Path
) -> tuple[str, str]:
    """Upload a small study through the API and wait until Orthanc has it; returns
    (upload id, study instance UID)."""
    study = write_study(directory, count=2, pixel_bytes=4 * 1024)
    done = await upload_study(client, headers, study.paths, force_upload=True)
    detail = await wait_for_state(client, headers, done["upload_id"], {"forwarded", "failed"})
    assert detail["state"] == "forwarded", detail["forwarding"]
    return done["upload_id"], study.study_uid


async def report_of(
    client: httpx.AsyncClient, headers: dict[str, str], upload_id: str
) -> dict[str, Any]:
    response = await client.get(f"/api/reports/upload/{upload_id}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def run_sync(app: FastAPI) -> sync.SyncSummary:
    state = app.state
    return await sync.sync_once(
        settings=state.settings, database=state.database, notifier=state.notifier
    )


async def notifications_of(client: httpx.AsyncClient, headers: dict[str, str]) -> list[Any]:
    response = await client.get("/api/notifications", headers=headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


# --- end to end on Orthanc ----------------------------------------------------------------


async def test_an_sr_stored_in_the_pacs_makes_the_report_ready_and_notifies_the_uploader(
    app: FastAPI, client: httpx.AsyncClient, pacs: OrthancServer, tmp_path: Path
) -> None:
    clinician = await create_user(app)
    headers = bearer(await login(client, clinician))
    reported_upload, reported_study = await delivered_study(client, headers, tmp_path / "a")
    waiting_upload, _ = await delivered_study(client, headers, tmp_path / "b")
    assert (await report_of(client, headers, reported_upload))["status"] == "ASSIGNED"
    store_in_orthanc(
        pacs,
        basic_text_sr(
            reported_study,
            finding="No focal consolidation. Heart size normal.",
            impression="Normal chest radiograph.",
        ),
    )

    summary = await run_sync(app)

    assert summary.checked == 2 and summary.ready == 1 and not summary.unreachable
    report = await report_of(client, headers, reported_upload)
    assert report["status"] == "READY"
    assert report["pacs_report_kind"] == "SR"
    assert report["ready_at"] is not None and report["last_synced_at"] is not None
    text = report["pacs_report_text"]
    for expected in (
        "Diagnostic Imaging Report",
        "Findings",
        "No focal consolidation. Heart size normal.",
        "Finding: Normal",
        "Impression",
        "Normal chest radiograph.",
    ):
        assert expected in text, text
    assert report["impression"] == text  # nobody wrote one: the SR's text stands in
    waiting = await report_of(client, headers, waiting_upload)
    assert waiting["status"] == "ASSIGNED"
    assert waiting["last_synced_at"] is not None
    ready = [n for n in await notifications_of(client, headers) if n["type"] == "report_ready"]
    assert [n["report_id"] for n in ready] == [report["id"]]
    download = await client.get(f"/api/reports/{report['id']}/download", headers=headers)
    assert download.status_code == 200
    assert "Radiologist reported in PACS" in pdf_text(download.content)

    again = await run_sync(app)

    assert again.checked == 1 and again.ready == 0  # READY reports are no longer checked
    ready = [n for n in await notifications_of(client, headers) if n["type"] == "report_ready"]
    assert len(ready) == 1


async def test_an_encapsulated_pdf_in_the_pacs_is_attached_to_the_report(
    app: FastAPI, client: httpx.AsyncClient, pacs: OrthancServer, tmp_path: Path
) -> None:
    clinician = await create_user(app)
    headers = bearer(await login(client, clinician))
    upload_id, study_uid = await delivered_study(client, headers, tmp_path / "study")
    document = a_pdf("PACS radiology report: no acute findings")
    store_in_orthanc(pacs, encapsulated_pdf(study_uid, document))

    summary = await run_sync(app)

    assert summary.ready == 1
    report = await report_of(client, headers, upload_id)
    assert report["status"] == "READY"
    assert report["pacs_report_kind"] == "PDF"
    assert report["has_pdf_attachment"] is True
    async with app.state.database.sessionmaker() as session:
        attachment = await session.get(ReportAttachment, uuid.UUID(report["id"]))
        assert attachment is not None
        assert attachment.content == document
    ready = [n for n in await notifications_of(client, headers) if n["type"] == "report_ready"]
    assert len(ready) == 1
    download = await client.get(f"/api/reports/{report['id']}/download", headers=headers)
    assert "The PACS report is attached as a PDF" in pdf_text(download.content)
    pacs_pdf = await client.get(
        f"/api/reports/{report['id']}/download", params={"source": "pacs"}, headers=headers
    )
    assert pacs_pdf.status_code == 200
    assert pacs_pdf.content == document


async def test_the_studys_own_dose_sr_is_not_taken_for_a_report(
    app: FastAPI, client: httpx.AsyncClient, pacs: OrthancServer, tmp_path: Path
) -> None:
    clinician = await create_user(app)
    headers = bearer(await login(client, clinician))
    upload_id, study_uid = await delivered_study(client, headers, tmp_path / "study")
    dose = _instance(study_uid, "1.2.840.10008.5.1.4.1.1.88.67", "SR")
    dose.ValueType = "CONTAINER"
    dose.ContentSequence = Sequence([])
    store_in_orthanc(pacs, _part10(dose))

    summary = await run_sync(app)

    assert summary.checked == 1 and summary.ready == 0
    assert (await report_of(client, headers, upload_id))["status"] == "ASSIGNED"


# --- without a PACS answering ----------------------------------------------------------


@pytest.mark.parametrize(
    "settings_overrides",
    [{"pacs_orthanc": {"url": f"http://127.0.0.1:{free_port()}/dicom-web", "auth": "none"}}],
)
async def test_an_unreachable_pacs_is_skipped_and_the_report_stays_open(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    clinician = await create_user(app)
    fixtures = [
        await make_report(app, user=clinician, patient_name="Secret^Patient") for _ in range(3)
    ]

    summary = await run_sync(app)

    assert summary.checked == 3 and summary.ready == 0
    assert summary.unreachable == {"orthanc"}
    async with app.state.database.sessionmaker() as session:
        rows = (
            await session.scalars(select(Report).where(Report.id.in_([f.id for f in fixtures])))
        ).all()
    assert {row.status for row in rows} == {ReportStatus.assigned}
    assert all(row.last_synced_at is not None for row in rows)
    assert "Secret" not in caplog.text
    assert "report_sync_pacs_unavailable" in caplog.text


@pytest.mark.parametrize("settings_overrides", [{"report_sync_batch": 2}])
async def test_the_oldest_checked_open_reports_are_taken_first_in_batches(app: FastAPI) -> None:
    clinician = await create_user(app)
    fixtures = [await make_report(app, user=clinician, destination=None) for _ in range(5)]
    seen: list[set[Any]] = []
    for _ in range(3):
        await run_sync(app)
        async with app.state.database.sessionmaker() as session:
            rows = (await session.scalars(select(Report).order_by(Report.created_at))).all()
        seen.append({row.id for row in rows if row.last_synced_at is not None})
    assert [len(ids) for ids in seen] == [2, 4, 5]
    assert seen[-1] == {f.id for f in fixtures}


# --- once per interval across processes -----------------------------------------------


@pytest.mark.parametrize("settings_overrides", [{}])
async def test_two_processes_racing_for_the_sync_run_it_once_per_interval(
    app: FastAPI,
) -> None:
    settings = app.state.settings
    processes = [Database(settings), Database(settings)]
    runs: list[int] = []

    def job(process: int) -> Any:
        async def run() -> sync.SyncSummary:
            runs.append(process)
            return await sync.sync_once(
                settings=settings, database=processes[process], notifier=app.state.notifier
            )

        return run

    hold_for = timedelta(seconds=2)
    try:
        results = await asyncio.gather(
            *(
                jobs.run_once_per_interval(processes[p], sync.JOB_NAME, job(p), hold_for)
                for p in (0, 1)
            )
        )
        assert len(runs) == 1
        assert sum(result is not None for result in results) == 1
        # The other process's trigger fires later in the same interval: still held.
        await asyncio.sleep(0.5)
        loser = 1 - runs[0]
        assert (
            await jobs.run_once_per_interval(processes[loser], sync.JOB_NAME, job(loser), hold_for)
            is None
        )
        assert len(runs) == 1
        # Next interval: whoever fires first runs it again.
        await asyncio.sleep(2)
        assert (
            await jobs.run_once_per_interval(processes[loser], sync.JOB_NAME, job(loser), hold_for)
            is not None
        )
        assert runs == [runs[0], loser]
    finally:
        for database in processes:
            await database.dispose()


@pytest.mark.parametrize("settings_overrides", [{}])
async def test_a_failed_sync_run_releases_the_interval_lease(app: FastAPI) -> None:
    database = app.state.database

    async def broken() -> None:
        raise RuntimeError("boom")

    async def fine() -> str:
        return "ran"

    with pytest.raises(RuntimeError):
        await jobs.run_once_per_interval(database, "reports.test", broken, timedelta(minutes=5))
    assert await jobs.run_once_per_interval(database, "reports.test", fine, timedelta(minutes=5))
