"""Synthetic DICOM studies made with pydicom (CT instances of a chosen size), and
pydicom's own test files. Every patient name and ID written here is registered with the
suite-wide PHI log scan (tests/phi_scan.py)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from tests import phi_scan

PATIENT_ID = "PID-0001"


@dataclass(frozen=True)
class StudyFiles:
    study_uid: str
    paths: list[Path]

    def sha256s(self) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in self.paths}


def ct_instance(
    *,
    study_uid: str,
    series_uid: str,
    number: int,
    pixel_bytes: int = 8 * 1024,
    patient_name: str = "DOE^JANE",
    patient_id: str = "PID-0001",
    study_date: str = "20260115",
    modality: str = "CT",
    sop_uid: str | None = None,
) -> Dataset:
    side = max(2, int((pixel_bytes // 2) ** 0.5))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid or generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.Modality = modality
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    phi_scan.register_dataset(ds)
    ds.StudyDate = study_date
    ds.SeriesNumber = 1
    ds.InstanceNumber = number
    ds.Rows = ds.Columns = side
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    rng = np.random.default_rng(number)
    ds.PixelData = rng.integers(0, 4096, size=side * side, dtype=np.uint16).tobytes()
    return ds


def write_study(
    directory: Path,
    *,
    count: int,
    pixel_bytes: int = 8 * 1024,
    study_uid: str | None = None,
    **headers: str,
) -> StudyFiles:
    """Write `count` CT instances of one study (one series) as Part 10 files."""
    directory.mkdir(parents=True, exist_ok=True)
    study_uid = study_uid or generate_uid()
    series_uid = generate_uid()
    paths = []
    for number in range(1, count + 1):
        ds = ct_instance(
            study_uid=study_uid,
            series_uid=series_uid,
            number=number,
            pixel_bytes=pixel_bytes,
            **headers,
        )
        path = directory / f"ct_{number:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return StudyFiles(study_uid, paths)


def pydicom_file(name: str) -> Path:
    """A file of pydicom's test data, its patient names and IDs registered as PHI."""
    path = get_testdata_file(name)
    assert isinstance(path, str), f"pydicom test file {name} is not available locally"
    phi_scan.register_dataset(dcmread(path))
    return Path(path)
