"""DICOM validation with pydicom: headers only, blocking (call from a worker thread).

Reasons and log events never carry header values, so no PHI leaks through them.
"""

from __future__ import annotations

import shutil
import struct
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import BinaryIO

import pydicom
from pydicom import config as pydicom_config
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    MediaStorageDirectoryStorage,
)
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32, VR

from relaypacs.core.logging import get_logger

log = get_logger("relaypacs.uploads.dicom")

# pydicom's default (WARN) validates values as they are read and puts the offending
# value in the warning text: patient data on stderr. The gateway forwards headers as
# sent; judging VR conformance is the PACS's job.
pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE

REQUIRED_ATTRIBUTES = (
    "SOPClassUID",
    "SOPInstanceUID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "Modality",
)
UID_ATTRIBUTES = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
MAX_MODALITY = 16  # CS values are at most 16 characters
MAX_PATIENT_ID = 64  # LO values are at most 64 characters
MAX_PATIENT_NAME = 200  # PN: 3 component groups of 64 and their separators; the column's size
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1  # IS allows 12 digits; the columns are INTEGER
# Only these are decoded; everything else is skipped over, which keeps big headers cheap.
_HEADER_TAGS = [
    *REQUIRED_ATTRIBUTES,
    "PatientName",
    "PatientID",
    "StudyDate",
    "SeriesNumber",
    "InstanceNumber",
]
_PREAMBLE_END = 132  # 128-byte preamble + b"DICM"
_PIXEL_DATA_TAGS = {0x7FE00010, 0x7FE00008, 0x7FE00009}
_UNDEFINED_LENGTH = 0xFFFFFFFF
_VR_CODES = {vr.value.encode("ascii") for vr in VR}
_LONG_VR_CODES = {vr.encode("ascii") for vr in EXPLICIT_VR_LENGTH_32}
# A dataset's first element (SpecificCharacterSet, ImageType, a date, a UID) is short;
# a huge "length" means the bytes only happen to start with 08 00.
_MAX_FIRST_VALUE_LENGTH = 1024
_COPY_BLOCK_SIZE = 1024 * 1024

EMPTY_FILE = "empty file"
NOT_DICOM = "not a DICOM file"
TRUNCATED = "truncated or corrupt DICOM file: the data ends inside an element"
UNREADABLE = "unreadable DICOM data"
DICOMDIR_NOTE = "DICOMDIR (a media index, not an image); skipped"


class Outcome(StrEnum):
    instance = "instance"
    dicomdir = "dicomdir"
    invalid = "invalid"


@dataclass(frozen=True, slots=True)
class DicomInstance:
    """What the upload service needs from a valid instance's headers."""

    sop_class_uid: str
    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str
    modality: str
    patient_name: str
    patient_id: str  # "" when absent (type 2)
    study_date: str | None  # ISO YYYY-MM-DD, None when absent or not a valid DA
    series_number: int | None
    instance_number: int | None
    transfer_syntax: str
    has_file_meta: bool  # False: a raw dataset; write_part10 must add the header
    dataset_offset: int = 0  # where the dataset starts in a raw file


@dataclass(frozen=True, slots=True)
class DicomInspection:
    """The verdict on one file: a valid instance, a DICOMDIR, or invalid with a reason."""

    outcome: Outcome
    instance: DicomInstance | None = None
    reason: str | None = None  # why it is invalid, or the note for a DICOMDIR
    warnings: tuple[str, ...] = ()

    @property
    def is_instance(self) -> bool:
        return self.outcome is Outcome.instance

    @classmethod
    def invalid(cls, reason: str) -> DicomInspection:
        return cls(Outcome.invalid, reason=reason)


class _ProbedReader:
    """Passes reads to pydicom and notes when it runs past the end of the data.

    pydicom reads a truncated element as a short value and stops quietly; a short
    read inside the data (or a seek beyond it) is what tells truncation apart.
    """

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self._stream = stream
        self._size = size
        self.truncated = False

    def read(self, size: int = -1, /) -> bytes:
        start = self._stream.tell()
        data = self._stream.read(size)
        # Reads inside the first 132 bytes are pydicom probing for a preamble, which
        # a small raw dataset legitimately cannot satisfy.
        if size > 0 and len(data) < size and start >= _PREAMBLE_END and start != self._size:
            self.truncated = True
        return data

    def seek(self, offset: int, whence: int = 0, /) -> int:
        position = self._stream.seek(offset, whence)
        if position > self._size:
            self.truncated = True
        return position

    def tell(self) -> int:
        return self._stream.tell()


def _looks_like_raw_dataset(head: bytes) -> bool:
    """Whether a preamble-less file starts like a little endian group 0002/0008 element.

    pydicom with force=True "reads" any bytes at all, so this gate keeps text and
    other junk from being taken for a dataset.
    """
    if len(head) < 8:
        return False
    group, _element = struct.unpack("<HH", head[:4])
    if group not in (0x0002, 0x0008):
        return False
    if head[4:6] in _VR_CODES:
        return True  # explicit VR
    if group == 0x0002:
        return False  # File Meta elements are always explicit VR
    (length,) = struct.unpack("<I", head[4:8])
    return bool(length % 2 == 0 and length <= _MAX_FIRST_VALUE_LENGTH)


def _meta_group_end(stream: BinaryIO) -> int:
    """Offset of the first byte after a preamble-less File Meta group (explicit VR LE)."""
    position = 0
    while True:
        stream.seek(position)
        head = stream.read(8)
        if len(head) < 8 or struct.unpack("<H", head[:2])[0] != 0x0002:
            return position
        if head[4:6] in _LONG_VR_CODES:
            extra = stream.read(4)
            if len(extra) < 4:
                return position
            position += 12 + struct.unpack("<I", extra)[0]
        else:
            position += 8 + struct.unpack("<H", head[6:8])[0]


def _pixel_data_truncated(reader: _ProbedReader, size: int, ds: Dataset) -> bool:
    """Whether the pixel data element pydicom stopped at claims more bytes than remain."""
    start = reader.tell()
    if start >= size:
        return False
    implicit, little = ds.original_encoding
    endian = "<" if little is not False else ">"
    head = reader.read(12)
    if len(head) < 8:
        return True
    group, element = struct.unpack(endian + "HH", head[:4])
    if (group << 16 | element) not in _PIXEL_DATA_TAGS:
        return False
    if implicit is not False:
        header, (length,) = 8, struct.unpack(endian + "I", head[4:8])
    elif head[4:6] in _LONG_VR_CODES:
        if len(head) < 12:
            return True
        header, (length,) = 12, struct.unpack(endian + "I", head[8:12])
    else:
        header, (length,) = 8, struct.unpack(endian + "H", head[6:8])
    return bool(length != _UNDEFINED_LENGTH and start + header + length > size)


def _syntax_read(ds: Dataset) -> str:
    implicit, little = ds.original_encoding
    if implicit:
        return str(ImplicitVRLittleEndian)
    return str(ExplicitVRLittleEndian if little is not False else ExplicitVRBigEndian)


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()


def _integer(ds: Dataset, keyword: str) -> int | None:
    """An IS value, or None when absent, unreadable or beyond a database integer."""
    try:
        value = ds.get(keyword)
        number = None if value is None or value == "" else int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number is not None and _INT_MIN <= number <= _INT_MAX else None


def _iso_date(raw: str) -> str | None:
    try:
        return datetime.strptime(raw[:8], "%Y%m%d").date().isoformat() if len(raw) >= 8 else None
    except ValueError:
        return None


def _stream_size(stream: BinaryIO) -> int:
    size = stream.seek(0, 2)
    stream.seek(0)
    return size


def inspect_file(stream: BinaryIO) -> DicomInspection:
    """Read a file's headers (never its pixels) and judge it."""
    size = _stream_size(stream)
    if size == 0:
        return DicomInspection.invalid(EMPTY_FILE)
    head = stream.read(_PREAMBLE_END)
    has_file_meta = len(head) == _PREAMBLE_END and head[128:] == b"DICM"
    if not has_file_meta and not _looks_like_raw_dataset(head):
        return DicomInspection.invalid(NOT_DICOM)

    stream.seek(0)
    reader = _ProbedReader(stream, size)
    try:
        ds = pydicom.dcmread(
            reader,
            stop_before_pixels=True,
            force=not has_file_meta,
            specific_tags=list(_HEADER_TAGS),
        )
    except Exception as exc:  # noqa: BLE001 - corrupt input surfaces as many exception types
        log.info("dicom_unreadable", error_type=type(exc).__name__, truncated=reader.truncated)
        return DicomInspection.invalid(TRUNCATED if reader.truncated else UNREADABLE)
    if reader.truncated or _pixel_data_truncated(reader, size, ds):
        return DicomInspection.invalid(TRUNCATED)
    try:
        return _judge(ds, stream, has_file_meta)
    except Exception as exc:  # noqa: BLE001 - values are decoded lazily, here
        log.info("dicom_undecodable", error_type=type(exc).__name__)
        return DicomInspection.invalid(UNREADABLE)


def _judge(ds: Dataset, stream: BinaryIO, has_file_meta: bool) -> DicomInspection:
    meta: Dataset = getattr(ds, "file_meta", None) or FileMetaDataset()
    media_class = _text(meta, "MediaStorageSOPClassUID")
    if MediaStorageDirectoryStorage in (media_class, _text(ds, "SOPClassUID")):
        return DicomInspection(Outcome.dicomdir, reason=DICOMDIR_NOTE)

    missing = [name for name in REQUIRED_ATTRIBUTES if not _text(ds, name)]
    if missing:
        return DicomInspection.invalid("missing required attribute(s): " + ", ".join(missing))

    # Without a TransferSyntaxUID, the encoding pydicom managed to read is the answer.
    transfer_syntax = _text(meta, "TransferSyntaxUID") or _syntax_read(ds)
    # UIDs go into DICOMweb paths and the database: only PS3.5 §9 UIDs are accepted.
    bad_uids = [name for name in UID_ATTRIBUTES if not UID(_text(ds, name)).is_valid]
    if not UID(transfer_syntax).is_valid:
        bad_uids.append("TransferSyntaxUID")
    if bad_uids:
        return DicomInspection.invalid(
            "not a valid DICOM UID (digits and dots, no leading zeros, at most 64 "
            "characters): " + ", ".join(bad_uids)
        )
    if len(_text(ds, "Modality")) > MAX_MODALITY:
        return DicomInspection.invalid(f"Modality is longer than {MAX_MODALITY} characters")
    if len(_text(ds, "PatientID")) > MAX_PATIENT_ID:
        return DicomInspection.invalid(f"PatientID is longer than {MAX_PATIENT_ID} characters")

    warnings: list[str] = []
    dataset_offset = 0
    if not has_file_meta and len(meta):
        dataset_offset = _meta_group_end(stream)
        warnings.append(
            "File Meta header without the 128-byte preamble; a complete header will be written"
        )
    elif not has_file_meta:
        warnings.append("no DICOM File Meta header (raw dataset); one will be written")
    elif "TransferSyntaxUID" not in meta:
        warnings.append("File Meta header has no TransferSyntaxUID")
    media_instance = _text(meta, "MediaStorageSOPInstanceUID")
    if has_file_meta and media_instance and media_instance != _text(ds, "SOPInstanceUID"):
        warnings.append("MediaStorageSOPInstanceUID differs from SOPInstanceUID")

    raw_date = _text(ds, "StudyDate")
    study_date = _iso_date(raw_date) if raw_date else None
    if raw_date and study_date is None:
        warnings.append("StudyDate is not a valid DICOM date")

    try:
        patient_name = _text(ds, "PatientName")
    except Exception:  # noqa: BLE001 - an undecodable name must not reject the instance
        patient_name = ""
        warnings.append("PatientName could not be decoded")
    if len(patient_name) > MAX_PATIENT_NAME:
        return DicomInspection.invalid(f"PatientName is longer than {MAX_PATIENT_NAME} characters")

    instance = DicomInstance(
        sop_class_uid=_text(ds, "SOPClassUID"),
        sop_instance_uid=_text(ds, "SOPInstanceUID"),
        study_instance_uid=_text(ds, "StudyInstanceUID"),
        series_instance_uid=_text(ds, "SeriesInstanceUID"),
        modality=_text(ds, "Modality"),
        patient_name=patient_name,
        patient_id=_text(ds, "PatientID"),
        study_date=study_date,
        series_number=_integer(ds, "SeriesNumber"),
        instance_number=_integer(ds, "InstanceNumber"),
        transfer_syntax=transfer_syntax,
        has_file_meta=has_file_meta,
        dataset_offset=dataset_offset,
    )
    return DicomInspection(Outcome.instance, instance=instance, warnings=tuple(warnings))


def write_part10(src: BinaryIO, dst: BinaryIO, inspection: DicomInspection) -> None:
    """Write a raw dataset as a Part 10 file: preamble, File Meta header, then the dataset.

    The dataset bytes are streamed across unchanged (no re-encoding, flat memory);
    only the small File Meta header is built in memory.
    """
    instance = inspection.instance
    if instance is None or instance.has_file_meta:
        raise ValueError("write_part10 is only for valid instances without a File Meta header")
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(instance.sop_class_uid)
    meta.MediaStorageSOPInstanceUID = UID(instance.sop_instance_uid)
    meta.TransferSyntaxUID = UID(instance.transfer_syntax)
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    header = DicomBytesIO()
    header.is_little_endian = True
    header.is_implicit_VR = False
    write_file_meta_info(header, meta, enforce_standard=True)
    dst.write(b"\x00" * 128 + b"DICM")
    dst.write(header.getvalue())
    src.seek(instance.dataset_offset)
    shutil.copyfileobj(src, dst, _COPY_BLOCK_SIZE)


__all__ = [
    "DICOMDIR_NOTE",
    "EMPTY_FILE",
    "NOT_DICOM",
    "REQUIRED_ATTRIBUTES",
    "TRUNCATED",
    "UNREADABLE",
    "DicomInspection",
    "DicomInstance",
    "Outcome",
    "inspect_file",
    "write_part10",
]
