"""Reading a PACS's report instances (blocking: call from a worker thread): the patient
they belong to, and the report itself — an SR's text or an encapsulated PDF."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from relaypacs.reports.models import SyncWarningCode
from relaypacs.uploads import duplicates as uploads_duplicates

ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
# Text-bearing SR classes: Basic Text, Enhanced, Comprehensive, Comprehensive 3D,
# Extensible. Dose reports and other machine SRs (also modality SR) are not reports.
TEXT_SR_CLASSES = frozenset(
    f"1.2.840.10008.5.1.4.1.1.88.{suffix}" for suffix in ("11", "22", "33", "34", "35")
)


class UnreadableReport(Exception):
    """The PACS returned an instance that is not the SR or PDF it claimed to be."""


@dataclass(frozen=True, slots=True)
class PatientIdentity:
    patient_id: str | None  # None: unknown (an upload recorded before it was kept)
    patient_name: str


@dataclass(frozen=True, slots=True)
class ReportInstance:
    identity: PatientIdentity
    text: str | None = None
    pdf: bytes | None = None


def identity_mismatch(found: PatientIdentity, expected: PatientIdentity) -> SyncWarningCode | None:
    """Why a report instance is not the upload's patient's, or None when it is: the same
    PatientID, and the same PatientName (as DICOM names compare) when the report has one."""
    if expected.patient_id is None:
        return SyncWarningCode.patient_identity_unknown
    if (found.patient_id or "").strip() != expected.patient_id.strip():
        return SyncWarningCode.patient_id_mismatch
    name = uploads_duplicates.normalize_person_name
    if found.patient_name and name(found.patient_name) != name(expected.patient_name):
        return SyncWarningCode.patient_name_mismatch
    return None


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


def _sr_text(dataset: Dataset) -> str:
    """The readable content of an SR: TEXT values and CODE meanings, under the concept
    names (section headings) they belong to."""
    if "ContentSequence" not in dataset:
        raise UnreadableReport("SR without content")
    lines: list[str] = []
    _walk([dataset], lines)
    return "\n".join(lines).strip()


def _encapsulated_pdf(dataset: Dataset) -> bytes:
    """The PDF inside an Encapsulated PDF instance (without DICOM's even-length padding)."""
    try:
        document = bytes(dataset.EncapsulatedDocument)
    except (AttributeError, ValueError) as exc:
        raise UnreadableReport("no encapsulated document") from exc
    length = dataset.get("EncapsulatedDocumentLength")
    if length:
        document = document[: int(length)]
    elif document.endswith(b"\x00"):
        document = document[:-1]
    if not document.startswith(b"%PDF"):
        raise UnreadableReport("encapsulated document is not a PDF")
    return document


def read(raw: bytes, *, pdf: bool) -> ReportInstance:
    """A retrieved SR (`pdf=False`) or Encapsulated PDF instance, with its patient."""
    try:
        dataset = pydicom.dcmread(io.BytesIO(raw))
        identity = PatientIdentity(
            patient_id=str(dataset.get("PatientID", "") or "").strip(),
            patient_name=str(dataset.get("PatientName", "") or "").strip(),
        )
    except (InvalidDicomError, ValueError, EOFError) as exc:
        raise UnreadableReport("not a DICOM instance") from exc
    if pdf:
        return ReportInstance(identity, pdf=_encapsulated_pdf(dataset))
    return ReportInstance(identity, text=_sr_text(dataset))
