"""The report PDF: what it shows (read back with pypdf), when it exists, who may get it."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime

import httpx
import pypdf
from fastapi import FastAPI

from relaypacs.auth.models import User
from relaypacs.core.permissions import Role
from relaypacs.reports.models import ReportAttachment, ReportStatus
from tests.factories import bearer, create_user, login
from tests.reports.conftest import make_delivery
from tests.reports.factories import make_report

CREATED = datetime(2026, 1, 15, 8, 30, tzinfo=UTC)
READY = datetime(2026, 1, 15, 11, 5, tzinfo=UTC)


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    return re.sub(r"\s+", " ", text)


async def full_name(app: FastAPI, user_id: uuid.UUID) -> str:
    async with app.state.database.sessionmaker() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return str(user.full_name)


async def download(
    client: httpx.AsyncClient, headers: dict[str, str], report_id: uuid.UUID, **params: str
) -> httpx.Response:
    return await client.get(f"/api/reports/{report_id}/download", headers=headers, params=params)


async def test_the_pdf_shows_study_report_radiologist_timestamps_and_delivery_receipt(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clinician = await create_user(app, facility="Hillside Clinic")
    radiologist = await create_user(app, role=Role.radiologist)
    report = await make_report(
        app,
        user=clinician,
        service_level="STAT",
        modality="MR",
        patient_name="Okafor^Grace",
        created_at=CREATED,
        status=ReportStatus.ready,
        findings="Small left pleural effusion.",
        impression="No pneumothorax; effusion <1 cm & stable.",
        ready_at=READY,
        reported_by_id=radiologist.id,
        assignee_id=radiologist.id,
    )
    delivery = await make_delivery(app, upload_id=report.upload_id, stored=5, failed=1)
    headers = bearer(await login(client, clinician))

    response = await download(client, headers, report.id)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    filename = re.search(r'filename="([^"]+)"', disposition)
    assert filename is not None
    assert filename.group(1) == f"report-2026-01-15-MR-{report.id.hex[:8]}.pdf"
    assert "Okafor" not in disposition
    text = pdf_text(response.content)
    detail = (await client.get(f"/api/reports/{report.id}", headers=headers)).json()
    expected = [
        "Hillside Clinic",
        "Okafor^Grace",
        detail["study_instance_uid"],
        "2026-01-15",
        "MR",
        "STAT",
        "Small left pleural effusion.",
        "No pneumothorax; effusion <1 cm & stable.",
        await full_name(app, radiologist.id),
        "2026-01-15 08:30 UTC",
        "2026-01-15 11:05 UTC",
        "Destination orthanc",
        "Delivery status delivered",
        "Instances referenced 5",
        "Instances failed 1",
        delivery.received_at.strftime("%Y-%m-%d %H:%M UTC"),
        str(delivery.receipt_id),
    ]
    missing = [value for value in expected if value not in text]
    assert not missing, f"{missing} not in {text!r}"


async def test_a_report_made_ready_by_the_pacs_sync_names_the_pacs_and_its_pdf(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clinician = await create_user(app)
    radiologist = await create_user(app, role=Role.radiologist)
    report = await make_report(
        app,
        user=clinician,
        status=ReportStatus.ready,
        ready_at=READY,
        assignee_id=radiologist.id,
        impression="Findings: normal chest.",
        pacs_report_kind="PDF",
        pacs_report_sop_instance_uid="1.2.3.4.5",
    )
    async with app.state.database.sessionmaker() as session:
        session.add(
            ReportAttachment(report_id=report.id, media_type="application/pdf", content=b"%PDF")
        )
        await session.commit()
    headers = bearer(await login(client, clinician))

    response = await download(client, headers, report.id)

    assert response.status_code == 200, response.text
    text = pdf_text(response.content)
    assert "Radiologist reported in PACS" in text
    assert await full_name(app, radiologist.id) not in text
    assert "The PACS report is attached as a PDF" in text
    assert "1.2.3.4.5" in text
    assert "Delivery receipt not recorded" in text

    pacs_pdf = await download(client, headers, report.id, source="pacs")

    assert pacs_pdf.status_code == 200, pacs_pdf.text
    assert pacs_pdf.content == b"%PDF"
    assert pacs_pdf.headers["content-type"] == "application/pdf"
    assert f"-{report.id.hex[:8]}-pacs.pdf" in pacs_pdf.headers["content-disposition"]


async def test_without_a_reporting_radiologist_the_assignee_is_named(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clinician = await create_user(app)
    radiologist = await create_user(app, role=Role.radiologist)
    report = await make_report(
        app,
        user=clinician,
        status=ReportStatus.ready,
        ready_at=READY,
        impression="Normal.",
        assignee_id=radiologist.id,
    )
    response = await download(client, bearer(await login(client, clinician)), report.id)
    assert response.status_code == 200, response.text
    assert f"Radiologist {await full_name(app, radiologist.id)}" in pdf_text(response.content)


async def test_the_pdf_is_409_until_the_report_is_ready(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clinician = await create_user(app)
    headers = bearer(await login(client, clinician))
    for status in (
        ReportStatus.assigned,
        ReportStatus.pending,
        ReportStatus.additional_data_required,
    ):
        report = await make_report(app, user=clinician, status=status)
        response = await download(client, headers, report.id)
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "report_not_ready"


async def test_another_clinicians_report_pdf_is_404(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app)
    other = await create_user(app, facility=owner.facility)
    report = await make_report(
        app, user=owner, status=ReportStatus.ready, ready_at=READY, impression="Normal."
    )
    response = await download(client, bearer(await login(client, other)), report.id)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "report_not_found"


async def test_the_pacs_pdf_is_404_when_the_pacs_supplied_none(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clinician = await create_user(app)
    report = await make_report(
        app, user=clinician, status=ReportStatus.ready, ready_at=READY, impression="Normal."
    )
    headers = bearer(await login(client, clinician))
    response = await download(client, headers, report.id, source="pacs")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "pacs_pdf_not_found"


async def test_non_latin_names_and_text_are_drawn_not_boxes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Helvetica only has Latin-1: the PDF embeds a Unicode font (DejaVu Sans), so a Greek
    or Cyrillic patient name and report text come out as written."""
    clinician = await create_user(app)
    report = await make_report(
        app,
        user=clinician,
        patient_name="Παπαδοπούλου^Σοφία",
        status=ReportStatus.ready,
        findings="Без патологических изменений.",
        impression="Норма.",
        ready_at=READY,
    )
    response = await download(client, bearer(await login(client, clinician)), report.id)
    assert response.status_code == 200, response.text
    text = pdf_text(response.content)
    for value in ("Παπαδοπούλου^Σοφία", "Без патологических изменений.", "Норма."):
        assert value in text, f"{value!r} not in {text!r}"
    assert b"DejaVuSans" in response.content  # the font is embedded, not just named


async def test_every_read_of_a_report_is_audited(app: FastAPI, client: httpx.AsyncClient) -> None:
    """HIPAA §164.312(b): viewing a report and downloading its PDF leave an audit trail."""
    from sqlalchemy import select

    from relaypacs.audit.models import AuditEvent

    clinician = await create_user(app)
    report = await make_report(
        app, user=clinician, status=ReportStatus.ready, impression="Normal.", ready_at=READY
    )
    headers = bearer(await login(client, clinician))
    assert (await client.get(f"/api/reports/{report.id}", headers=headers)).status_code == 200
    of_upload = await client.get(f"/api/reports/upload/{report.upload_id}", headers=headers)
    assert of_upload.status_code == 200
    assert (await download(client, headers, report.id)).status_code == 200
    async with app.state.database.sessionmaker() as session:
        events = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.target_id == str(report.id))
                .order_by(AuditEvent.id)
            )
        ).all()
    reads = [(e.action, e.actor_id, e.details) for e in events if e.action.startswith("report_")]
    assert [r for r in reads if r[0] != "report_created"] == [
        ("report_viewed", clinician.id, {}),
        ("report_viewed", clinician.id, {}),
        ("report_downloaded", clinician.id, {"source": "report"}),
    ]
