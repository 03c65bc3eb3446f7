"""The report PDF (ReportLab platypus).

Everything the page shows is gathered from the database first into a `ReportSheet`;
the layout then runs in a worker thread (it is CPU work) and touches no ORM object.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

import anyio.to_thread
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable
from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs import __version__
from relaypacs.auth import accounts
from relaypacs.pacs import service as pacs_service
from relaypacs.reports import service
from relaypacs.reports.errors import PacsPdfNotFound, ReportNotReady
from relaypacs.reports.models import Report, ReportStatus

# A Unicode TrueType font (Debian's fonts-dejavu-core, installed by `make` and the image):
# ReportLab's built-in Helvetica only draws Latin-1, so a Greek or Cyrillic patient name
# would come out as black boxes on a clinical document.
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
)
REPORTED_IN_PACS = "reported in PACS"
NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class ReportSheet:
    """What the PDF shows, as plain values."""

    short_id: str
    facility: str
    patient_name: str
    study_instance_uid: str
    study_date: str
    modality: str
    service_level: str
    findings: str
    impression: str
    radiologist: str
    created_at: str
    ready_at: str
    receipt: list[tuple[str, str]]
    pacs_report: list[str]


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else NOT_RECORDED


async def _radiologist(session: AsyncSession, report: Report) -> str:
    """Who reported it: the radiologist who made it READY, the PACS, or the assignee."""
    if report.reported_by_id is not None:
        user = await accounts.get(session, user_id=report.reported_by_id)
        if user is not None:
            return user.full_name
    if report.pacs_report_kind:
        return REPORTED_IN_PACS
    if report.assignee_id is not None:
        user = await accounts.get(session, user_id=report.assignee_id)
        if user is not None:
            return user.full_name
    return NOT_RECORDED


async def _receipt(session: AsyncSession, report: Report) -> list[tuple[str, str]]:
    receipt = await pacs_service.delivery_receipt(
        session, upload_id=report.upload_id, destination=report.destination
    ) or await pacs_service.delivery_receipt(session, upload_id=report.upload_id)
    if receipt is None:
        return [("Delivery receipt", NOT_RECORDED)]
    return [
        ("Destination", receipt.destination),
        ("Delivery status", receipt.status),
        ("Instances referenced", str(receipt.instances_referenced)),
        ("Instances failed", str(receipt.instances_failed)),
        ("Received by PACS", _when(receipt.received_at)),
        ("Receipt", str(receipt.receipt_id)),
    ]


async def _pacs_report(session: AsyncSession, report: Report) -> list[str]:
    lines = []
    if report.pacs_report_kind == "SR" and report.pacs_report_text:
        if report.pacs_report_text.strip() != (report.impression or "").strip():
            lines.append("Structured report from the PACS:")
            lines.append(report.pacs_report_text)
        else:
            lines.append("The impression above is the text of the PACS structured report.")
    if await service.attachment_of(session, report_id=report.id) is not None:
        lines.append(
            "The PACS report is attached as a PDF (encapsulated document); download it "
            "from the report page."
        )
    if report.pacs_report_sop_instance_uid:
        lines.append(f"PACS report SOP Instance UID: {report.pacs_report_sop_instance_uid}")
    return lines


async def sheet_of(session: AsyncSession, *, report: Report) -> ReportSheet:
    return ReportSheet(
        short_id=report.id.hex[:8],
        facility=report.facility or NOT_RECORDED,
        patient_name=report.patient_name,
        study_instance_uid=report.study_instance_uid or NOT_RECORDED,
        study_date=report.study_date.isoformat(),
        modality=report.modality,
        service_level=report.service_level,
        findings=report.findings or "",
        impression=report.impression or "",
        radiologist=await _radiologist(session, report),
        created_at=_when(report.created_at),
        ready_at=_when(report.ready_at),
        receipt=await _receipt(session, report),
        pacs_report=await _pacs_report(session, report),
    )


def filename_of(report: Report, *, suffix: str = "") -> str:
    """No patient name in file names: date, modality and a short id only."""
    modality = "".join(c for c in report.modality if c.isalnum()) or "study"
    return f"report-{report.study_date.isoformat()}-{modality}-{report.id.hex[:8]}{suffix}.pdf"


def _text(value: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(value).replace("\n", "<br/>") or "&nbsp;", style)


def _fields(rows: list[tuple[str, str]], styles: dict[str, ParagraphStyle]) -> Table:
    table = Table(
        [[_text(label, styles["label"]), _text(value, styles["value"])] for label, value in rows],
        colWidths=[45 * mm, 125 * mm],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


@functools.cache
def fonts() -> tuple[str, str]:
    """(regular, bold) font names: DejaVu Sans when installed, else Helvetica (Latin-1)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont("ReportSans", str(regular)))
            pdfmetrics.registerFont(TTFont("ReportSans-Bold", str(bold)))
            pdfmetrics.registerFontFamily("ReportSans", normal="ReportSans", bold="ReportSans-Bold")
            return "ReportSans", "ReportSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def render(sheet: ReportSheet) -> bytes:
    """The PDF bytes for `sheet` (blocking: run it in a worker thread)."""
    regular, bold = fonts()
    base = getSampleStyleSheet()

    def styled(name: str, parent: str, font: str, **extra: object) -> ParagraphStyle:
        return ParagraphStyle(name, parent=base[parent], fontName=font, **extra)

    styles = {
        "title": styled("title", "Title", bold),
        "heading": styled("heading", "Heading2", bold),
        "body": styled("body", "BodyText", regular),
        "label": styled("label", "BodyText", bold),
        "value": styled("value", "BodyText", regular),
        "small": styled("small", "BodyText", regular, fontSize=8, textColor=colors.grey),
    }
    story: list[Flowable] = [
        _text("Radiology report", styles["title"]),
        _text(sheet.facility, styles["body"]),
        Spacer(1, 4 * mm),
        _text("Patient and study", styles["heading"]),
        _fields(
            [
                ("Patient", sheet.patient_name),
                ("Study Instance UID", sheet.study_instance_uid),
                ("Study date", sheet.study_date),
                ("Modality", sheet.modality),
                ("Service level", sheet.service_level),
                ("Facility", sheet.facility),
            ],
            styles,
        ),
        _text("Findings", styles["heading"]),
        _text(sheet.findings or "None recorded.", styles["body"]),
        _text("Impression", styles["heading"]),
        _text(sheet.impression or "None recorded.", styles["body"]),
    ]
    if sheet.pacs_report:
        story.append(_text("PACS report", styles["heading"]))
        story += [_text(line, styles["body"]) for line in sheet.pacs_report]
    story += [
        _text("Reporting", styles["heading"]),
        _fields(
            [
                ("Radiologist", sheet.radiologist),
                ("Created", sheet.created_at),
                ("Ready", sheet.ready_at),
            ],
            styles,
        ),
        _text("Delivery receipt", styles["heading"]),
        _fields(sheet.receipt, styles),
        Spacer(1, 8 * mm),
        _text(f"RelayPACS Gateway {__version__} · report {sheet.short_id}", styles["small"]),
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"Radiology report {sheet.short_id}",
        author="RelayPACS Gateway",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    document.build(story)
    return buffer.getvalue()


async def render_for_download(session: AsyncSession, *, report: Report) -> tuple[bytes, str]:
    """(PDF bytes, file name) for a READY report; ReportNotReady (409) otherwise."""
    if report.status is not ReportStatus.ready:
        raise ReportNotReady()
    sheet = await sheet_of(session, report=report)
    content = await anyio.to_thread.run_sync(render, sheet)
    return content, filename_of(report)


async def pacs_pdf_for_download(session: AsyncSession, *, report: Report) -> tuple[bytes, str]:
    """(PDF bytes, file name) of the PDF the PACS sync found (encapsulated document)."""
    if report.status is not ReportStatus.ready:
        raise ReportNotReady()
    attachment = await service.attachment_of(session, report_id=report.id)
    if attachment is None:
        raise PacsPdfNotFound()
    return attachment.content, filename_of(report, suffix="-pacs")
