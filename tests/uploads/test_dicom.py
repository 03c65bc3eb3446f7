"""DICOM inspection: what is accepted, what is refused and why, and raw datasets made Part 10."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import dcmwrite
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    generate_uid,
)

from relaypacs.uploads.dicom import (
    DICOMDIR_NOTE,
    EMPTY_FILE,
    NOT_DICOM,
    TRUNCATED,
    DicomInspection,
    Outcome,
    inspect_file,
    write_part10,
)
from tests import phi_scan
from tests.dicom_factory import pydicom_file

CT_SMALL_SOP_INSTANCE = "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"
PATIENT = "Sensitive^Patient^Name"


def read_testdata(name: str) -> bytes:
    return pydicom_file(name).read_bytes()


def inspect(data: bytes) -> DicomInspection:
    return inspect_file(io.BytesIO(data))


def make_dataset(**values: Any) -> Dataset:
    """A small synthetic CT instance; pass None to leave an attribute out."""
    ds = Dataset()
    attributes: dict[str, Any] = {
        "SpecificCharacterSet": "ISO_IR 192",
        "SOPClassUID": CTImageStorage,
        "SOPInstanceUID": generate_uid(),
        "StudyDate": "20240131",
        "Modality": "CT",
        "PatientName": PATIENT,
        "PatientID": "MRN-0001",
        "StudyInstanceUID": generate_uid(),
        "SeriesInstanceUID": generate_uid(),
        "SeriesNumber": 3,
        "InstanceNumber": 7,
        "Rows": 4,
        "Columns": 4,
        "BitsAllocated": 8,
        "BitsStored": 8,
        "HighBit": 7,
        "PixelRepresentation": 0,
        "SamplesPerPixel": 1,
        "PhotometricInterpretation": "MONOCHROME2",
        "PixelData": bytes(range(16)),
    }
    attributes.update(values)
    for keyword, value in attributes.items():
        if value is not None:
            setattr(ds, keyword, value)
    phi_scan.register_dataset(ds)
    return ds


def part10_bytes(ds: Dataset) -> bytes:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    # A header is written even when the dataset lacks the UIDs, as some modalities do.
    ds.file_meta.MediaStorageSOPClassUID = ds.get("SOPClassUID") or CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.get("SOPInstanceUID") or generate_uid()
    buffer = io.BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def raw_bytes(ds: Dataset, *, implicit: bool) -> bytes:
    """The dataset alone: no preamble, no 'DICM', no File Meta group."""
    ds.file_meta = FileMetaDataset()
    ds.preamble = None
    buffer = io.BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=False, implicit_vr=implicit, little_endian=True)
    return buffer.getvalue()


def assert_no_phi(inspection: DicomInspection) -> None:
    text = " ".join([inspection.reason or "", *inspection.warnings])
    assert "Sensitive" not in text and "MRN" not in text


# --- valid instances ----------------------------------------------------------------


def test_ct_small_is_a_valid_part10_instance() -> None:
    inspection = inspect(read_testdata("CT_small.dcm"))

    assert inspection.outcome is Outcome.instance and inspection.is_instance
    assert inspection.reason is None and inspection.warnings == ()
    instance = inspection.instance
    assert instance is not None
    assert instance.sop_class_uid == CTImageStorage
    assert instance.sop_instance_uid == CT_SMALL_SOP_INSTANCE
    assert instance.study_instance_uid == "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"
    assert instance.series_instance_uid == "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322"
    assert instance.modality == "CT"
    assert instance.patient_name == "CompressedSamples^CT1"
    assert instance.study_date == "2004-01-19"
    assert (instance.series_number, instance.instance_number) == (1, 1)
    assert instance.transfer_syntax == ExplicitVRLittleEndian
    assert instance.has_file_meta is True


@pytest.mark.parametrize(
    ("name", "modality", "transfer_syntax"),
    [
        ("MR_small.dcm", "MR", ExplicitVRLittleEndian),
        ("MR_small_implicit.dcm", "MR", ImplicitVRLittleEndian),
        ("MR_small_bigendian.dcm", "MR", "1.2.840.10008.1.2.2"),
        ("MR_small_RLE.dcm", "MR", "1.2.840.10008.1.2.5"),
    ],
)
def test_bundled_instances_are_valid_in_any_transfer_syntax(
    name: str, modality: str, transfer_syntax: str
) -> None:
    inspection = inspect(read_testdata(name))

    assert inspection.instance is not None
    assert inspection.instance.modality == modality
    assert inspection.instance.transfer_syntax == transfer_syntax


def test_synthetic_instance_reports_its_headers_and_decodes_utf8_names() -> None:
    ds = make_dataset(PatientName="Müller^Jürgen")
    inspection = inspect(part10_bytes(ds))

    assert inspection.instance is not None
    assert inspection.instance.sop_instance_uid == ds.SOPInstanceUID
    assert inspection.instance.patient_name == "Müller^Jürgen"
    assert (inspection.instance.series_number, inspection.instance.instance_number) == (3, 7)
    assert inspection.instance.study_date == "2024-01-31"


def test_absent_optional_headers_are_none_not_errors() -> None:
    ds = make_dataset(StudyDate=None, SeriesNumber=None, InstanceNumber=None, PatientName=None)
    inspection = inspect(part10_bytes(ds))

    assert inspection.instance is not None
    assert inspection.instance.study_date is None
    assert inspection.instance.series_number is None and inspection.instance.instance_number is None
    assert inspection.instance.patient_name == ""


def test_an_invalid_study_date_is_a_warning_without_the_value() -> None:
    inspection = inspect(part10_bytes(make_dataset(StudyDate="2024-13-99")))

    assert inspection.instance is not None and inspection.instance.study_date is None
    assert inspection.warnings == ("StudyDate is not a valid DICOM date",)


def test_media_storage_uid_mismatch_is_a_warning() -> None:
    ds = make_dataset()
    data = part10_bytes(ds)
    meta_uid = str(ds.file_meta.MediaStorageSOPInstanceUID).encode()
    data = data.replace(meta_uid, meta_uid[:-1] + (b"1" if meta_uid[-1:] != b"1" else b"2"), 1)

    inspection = inspect(data)

    assert inspection.is_instance
    assert "MediaStorageSOPInstanceUID differs from SOPInstanceUID" in inspection.warnings


def test_pixel_data_is_never_read() -> None:
    ds = make_dataset(Rows=512, Columns=512, PixelData=b"\x01" * 512 * 512)
    data = part10_bytes(ds)

    class CountingReader(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            chunk = super().read(size)
            self.bytes_read = getattr(self, "bytes_read", 0) + len(chunk)
            return chunk

    stream = CountingReader(data)
    assert inspect_file(stream).is_instance
    assert stream.bytes_read < 4096 < len(data)


# --- refused input ------------------------------------------------------------------


def test_zero_byte_file_is_invalid_as_empty() -> None:
    assert inspect(b"") == DicomInspection(Outcome.invalid, reason=EMPTY_FILE)


@pytest.mark.parametrize(
    "data",
    [
        b"Patient notes: please see attached.\n" * 20,
        b"%PDF-1.7\n" + b"\x00" * 400,
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2,
        b"short",
        # Starts like a group 0008 element, but with an absurd length: still junk.
        b"\x08\x00\x05\x00\xff\xff\xff\x7f" + b"x" * 300,
    ],
    ids=["text", "pdf", "png", "tiny", "fake-group-0008"],
)
def test_files_that_are_not_dicom_are_invalid(data: bytes) -> None:
    inspection = inspect(data)

    assert inspection.outcome is Outcome.invalid
    assert inspection.reason == NOT_DICOM


def test_plausible_first_element_followed_by_junk_is_not_accepted() -> None:
    data = b"\x08\x00\x05\x00CS\x0a\x00ISO_IR 100" + b"This is not a dataset at all. " * 20

    inspection = inspect(data)

    assert inspection.outcome is Outcome.invalid


def test_first_300_bytes_of_a_dicom_file_are_truncated() -> None:
    inspection = inspect(read_testdata("CT_small.dcm")[:300])

    assert inspection == DicomInspection(Outcome.invalid, reason=TRUNCATED)


@pytest.mark.parametrize("cut", [1000, 3000, 6290, 20000, 39067])
def test_dicom_cut_anywhere_in_headers_or_pixels_is_truncated(cut: int) -> None:
    assert inspect(read_testdata("CT_small.dcm")[:cut]).reason == TRUNCATED


def test_dicom_with_the_preamble_but_garbage_after_is_invalid() -> None:
    data = b"\x00" * 128 + b"DICM" + b"garbage that is not a file meta group" * 10

    inspection = inspect(data)

    assert inspection.outcome is Outcome.invalid
    assert inspection.reason


def test_missing_sop_instance_uid_is_named_in_the_reason() -> None:
    inspection = inspect(part10_bytes(make_dataset(SOPInstanceUID=None)))

    assert inspection == DicomInspection(
        Outcome.invalid, reason="missing required attribute(s): SOPInstanceUID"
    )
    assert_no_phi(inspection)


def test_every_missing_required_attribute_is_named() -> None:
    ds = make_dataset(StudyInstanceUID=None, SeriesInstanceUID=None, Modality="")

    inspection = inspect(part10_bytes(ds))

    assert inspection.reason == (
        "missing required attribute(s): StudyInstanceUID, SeriesInstanceUID, Modality"
    )


UNSAFE_UIDS = [
    "../../tools/shutdown",
    "1.2.840.10008?x=1",
    "1.2.3#frag",
    "1.2.3/4",
    "1.02.3",  # a component with a leading zero
    "1." + "2" * 70,  # longer than 64 characters
    "1.2.3.",
]


@pytest.mark.parametrize("uid", UNSAFE_UIDS)
@pytest.mark.parametrize("attribute", ["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"])
def test_a_uid_that_is_not_a_dicom_uid_makes_the_file_invalid(attribute: str, uid: str) -> None:
    inspection = inspect(part10_bytes(make_dataset(**{attribute: uid})))

    assert inspection.outcome is Outcome.invalid
    assert inspection.reason == (
        "not a valid DICOM UID (digits and dots, no leading zeros, at most 64 characters): "
        + attribute
    )
    assert uid not in (inspection.reason or "")


def test_a_modality_longer_than_a_cs_value_is_invalid_not_a_database_error() -> None:
    inspection = inspect(part10_bytes(make_dataset(Modality="X" * 17)))

    assert inspection.reason == "Modality is longer than 16 characters"


def test_an_instance_number_beyond_a_database_integer_is_dropped() -> None:
    inspection = inspect(part10_bytes(make_dataset(InstanceNumber="999999999999")))

    assert inspection.instance is not None and inspection.instance.instance_number is None


def test_dicomdir_is_recognised_and_skipped_with_a_note() -> None:
    inspection = inspect(read_testdata("DICOMDIR"))

    assert inspection == DicomInspection(Outcome.dicomdir, reason=DICOMDIR_NOTE)
    assert not inspection.is_instance


# --- raw datasets (no File Meta header) ----------------------------------------------


@pytest.mark.parametrize("implicit", [True, False], ids=["implicit", "explicit"])
def test_raw_dataset_is_valid_without_file_meta_and_gets_a_warning(implicit: bool) -> None:
    ds = make_dataset()
    inspection = inspect(raw_bytes(ds, implicit=implicit))

    assert inspection.instance is not None
    assert inspection.instance.has_file_meta is False
    assert inspection.instance.sop_instance_uid == ds.SOPInstanceUID
    expected = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    assert inspection.instance.transfer_syntax == expected
    assert inspection.warnings == ("no DICOM File Meta header (raw dataset); one will be written",)
    assert_no_phi(inspection)


@pytest.mark.parametrize("implicit", [True, False], ids=["implicit", "explicit"])
def test_write_part10_makes_a_raw_dataset_a_proper_file(implicit: bool) -> None:
    ds = make_dataset()
    raw = raw_bytes(ds, implicit=implicit)
    inspection = inspect(raw)
    assert inspection.instance is not None
    out = io.BytesIO()

    write_part10(io.BytesIO(raw), out, inspection)

    written = out.getvalue()
    assert written[128:132] == b"DICM"
    assert written.endswith(raw)  # the dataset is copied byte for byte
    result = pydicom.dcmread(io.BytesIO(written))
    assert result.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert result.file_meta.MediaStorageSOPClassUID == CTImageStorage
    assert result.file_meta.TransferSyntaxUID == inspection.instance.transfer_syntax
    assert result.SOPInstanceUID == ds.SOPInstanceUID
    assert result.PixelData == ds.PixelData
    again = inspect(written)
    assert again.instance is not None and again.instance.has_file_meta and again.warnings == ()


def test_raw_ct_small_round_trips_through_write_part10() -> None:
    ds = pydicom.dcmread(io.BytesIO(read_testdata("CT_small.dcm")))
    raw = raw_bytes(ds, implicit=True)
    inspection = inspect(raw)
    out = io.BytesIO()

    write_part10(io.BytesIO(raw), out, inspection)

    result = pydicom.dcmread(io.BytesIO(out.getvalue()))
    assert result.SOPInstanceUID == CT_SMALL_SOP_INSTANCE
    assert result.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian
    assert result.pixel_array.shape == (128, 128)


def test_file_meta_without_preamble_is_rewritten_with_a_complete_header() -> None:
    ds = make_dataset()
    part10 = part10_bytes(ds)
    headless = part10[132:]  # group 0002 first, no preamble, no 'DICM'
    inspection = inspect(headless)

    assert inspection.instance is not None
    assert inspection.instance.has_file_meta is False
    assert inspection.instance.dataset_offset > 0
    assert "without the 128-byte preamble" in inspection.warnings[0]
    out = io.BytesIO()
    write_part10(io.BytesIO(headless), out, inspection)
    result = pydicom.dcmread(io.BytesIO(out.getvalue()))
    assert result.SOPInstanceUID == ds.SOPInstanceUID
    assert "TransferSyntaxUID" not in result  # the old meta group is not duplicated
    assert result.PixelData == ds.PixelData


def test_write_part10_refuses_files_that_already_have_a_header() -> None:
    data = read_testdata("CT_small.dcm")
    with pytest.raises(ValueError, match="without a File Meta header"):
        write_part10(io.BytesIO(data), io.BytesIO(), inspect(data))
    with pytest.raises(ValueError, match="without a File Meta header"):
        write_part10(io.BytesIO(b""), io.BytesIO(), inspect(b""))


def test_inspection_works_from_a_real_file(tmp_path: Path) -> None:
    path = tmp_path / "raw.dcm"
    path.write_bytes(raw_bytes(make_dataset(), implicit=True))

    with path.open("rb") as stream:
        inspection = inspect_file(stream)

    assert inspection.instance is not None and not inspection.instance.has_file_meta
