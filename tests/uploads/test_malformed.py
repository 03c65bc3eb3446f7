"""A malformed-input corpus: each case gets its own specific 4xx, never a 500, and a
failed completion records nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pydicom
import pytest
from fastapi import FastAPI
from pydicom import config as pydicom_config
from sqlalchemy import func, select

from relaypacs.uploads.models import Instance, Study, Upload
from relaypacs.uploads.schemas import MODALITIES
from tests.dicom_factory import ct_instance, pydicom_file, write_study
from tests.factories import auth_headers
from tests.upload_client import init_body, send_all


async def _upload(
    app: FastAPI, client: httpx.AsyncClient, paths: list[Path], skip_invalid: bool = False
) -> tuple[httpx.Response, dict[str, Any], dict[str, str]]:
    headers = await auth_headers(app, client)
    init = await client.post(
        "/api/upload/init", headers=headers, json=init_body(paths, chunk_size=256 * 1024)
    )
    assert init.status_code == 201, init.text
    created = init.json()
    await send_all(client, created, paths, headers)
    done = await client.post(
        f"/api/upload/{created['upload_id']}/complete",
        headers=headers,
        params={"skip_invalid": str(skip_invalid).lower()},
    )
    return done, created, headers


async def _nothing_recorded(app: FastAPI) -> None:
    async with app.state.database.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Study)) == 0
        assert await session.scalar(select(func.count()).select_from(Instance)) == 0


def _good(tmp_path: Path, count: int = 1) -> list[Path]:
    return write_study(tmp_path / "good", count=count).paths


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _case_files(case: str, tmp_path: Path) -> list[Path]:
    ct = pydicom_file("CT_small.dcm")
    if case == "zero_byte":
        return [*_good(tmp_path), _write(tmp_path / "empty.dcm", b"")]
    if case == "text":
        return [
            *_good(tmp_path),
            _write(tmp_path / "notes.txt", b"Patient notes, not DICOM\n" * 40),
        ]
    if case == "truncated":
        return [*_good(tmp_path), _write(tmp_path / "cut.dcm", ct.read_bytes()[:300])]
    if case == "long_patient_id":
        ds = ct_instance(study_uid="1.2.3.4", series_uid="1.2.3.4.5", number=1)
        with pydicom_config.disable_value_validation():
            ds.PatientID = "P" * 65  # LO holds 64; the study row's column too
            ds.save_as(tmp_path / "long-id.dcm", enforce_file_format=True)
        return [*_good(tmp_path), tmp_path / "long-id.dcm"]
    if case == "long_patient_name":
        ds = ct_instance(study_uid="1.2.3.4", series_uid="1.2.3.4.5", number=1)
        with pydicom_config.disable_value_validation():
            ds.PatientName = "Longname^" + "Q" * 250  # beyond PN's 3 × 64 and the column
            ds.save_as(tmp_path / "long-name.dcm", enforce_file_format=True)
        return [*_good(tmp_path), tmp_path / "long-name.dcm"]
    if case == "no_sop_instance_uid":
        ds = ct_instance(study_uid="1.2.3.4", series_uid="1.2.3.4.5", number=1)
        del ds.SOPInstanceUID
        ds.save_as(tmp_path / "nouid.dcm", enforce_file_format=False)
        return [*_good(tmp_path), tmp_path / "nouid.dcm"]
    raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "reason_word"),
    [
        ("zero_byte", "empty"),
        ("text", "not"),
        ("truncated", "truncated"),
        ("no_sop_instance_uid", "SOPInstanceUID"),
        ("long_patient_id", "PatientID is longer than 64"),
        ("long_patient_name", "PatientName is longer than 200"),
    ],
)
async def test_invalid_files_are_422_with_a_reason_each_and_record_nothing(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path, case: str, reason_word: str
) -> None:
    paths = _case_files(case, tmp_path)
    done, created, headers = await _upload(app, client, paths)
    assert done.status_code == 422, done.text
    error = done.json()["error"]
    assert error["code"] == "invalid_dicom"
    assert [f["file"] for f in error["files"]] == [1]
    assert error["files"][0]["name"] == paths[1].name
    assert reason_word.lower() in error["files"][0]["reason"].lower()
    await _nothing_recorded(app)
    status = (
        await client.get(f"/api/upload/{created['upload_id']}/status", headers=headers)
    ).json()
    assert status["state"] == "uploading"
    assert all(f["missing"] == [] for f in status["files"]), "the chunks are kept"
    # The client may go on with the valid files only; the skipped file and reason are kept.
    skipped = await client.post(
        f"/api/upload/{created['upload_id']}/complete",
        headers=headers,
        params={"skip_invalid": "true"},
    )
    assert skipped.status_code == 202, skipped.text
    body = skipped.json()
    assert body["instances"] == 1 and body["state"] == "queued"
    assert [s["file"] for s in body["skipped_files"]] == [1]


async def test_files_from_two_studies_are_422_listing_the_studies(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    a = write_study(tmp_path / "a", count=1)
    b = write_study(tmp_path / "b", count=1)
    done, _, _ = await _upload(app, client, a.paths + b.paths, skip_invalid=True)
    assert done.status_code == 422
    error = done.json()["error"]
    assert error["code"] == "multiple_studies"
    assert sorted(error["studies"]) == sorted([a.study_uid, b.study_uid])
    await _nothing_recorded(app)


async def test_files_of_two_patients_are_422_multiple_patients(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """A PACS report is checked against the upload's one patient (reports.sync)."""
    ours = write_study(tmp_path / "ours", count=1)
    theirs = write_study(
        tmp_path / "theirs", count=1, study_uid=ours.study_uid, patient_id="PID-0002"
    )
    done, created, headers = await _upload(app, client, ours.paths + theirs.paths)
    assert done.status_code == 422, done.text
    error = done.json()["error"]
    assert error["code"] == "multiple_patients" and error["patients"] == 2
    assert "PID-000" not in done.text  # no patient ID in the answer
    await _nothing_recorded(app)
    status = await client.get(f"/api/upload/{created['upload_id']}/status", headers=headers)
    assert status.json()["state"] == "uploading"


async def test_the_study_keeps_the_instances_patient_id(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    study = write_study(tmp_path / "study", count=2, patient_id="PID-4242")
    done, _, _ = await _upload(app, client, study.paths)
    assert done.status_code == 202, done.text
    async with app.state.database.sessionmaker() as session:
        assert await session.scalar(select(Study.patient_id)) == "PID-4242"


async def test_a_dicomdir_is_skipped_with_a_note(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    dicomdir = pydicom_file("DICOMDIR")
    assert pydicom.dcmread(dicomdir).file_meta.MediaStorageSOPClassUID.name.startswith(
        "Media Storage Directory"
    )
    paths = [*_good(tmp_path), _write(tmp_path / "DICOMDIR", dicomdir.read_bytes())]
    done, created, headers = await _upload(app, client, paths)
    assert done.status_code == 202, done.text
    assert done.json()["instances"] == 1
    detail = (await client.get(f"/api/upload/{created['upload_id']}", headers=headers)).json()
    assert detail["files"][1]["status"] == "dicomdir" and detail["files"][1]["note"]


async def test_only_a_dicomdir_is_422_no_instances(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    path = _write(tmp_path / "DICOMDIR", pydicom_file("DICOMDIR").read_bytes())
    done, _, _ = await _upload(app, client, [path])
    assert done.status_code == 422 and done.json()["error"]["code"] == "no_instances"


async def test_duplicate_sop_instances_in_one_upload_are_stored_once(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    original = _good(tmp_path)[0]
    copy = _write(tmp_path / "copy.dcm", original.read_bytes())
    done, created, headers = await _upload(app, client, [original, copy])
    assert done.status_code == 202 and done.json()["instances"] == 1
    detail = (await client.get(f"/api/upload/{created['upload_id']}", headers=headers)).json()
    assert [f["status"] for f in detail["files"]] == ["instance", "duplicate"]


async def test_raw_dataset_without_file_meta_is_accepted_with_a_warning(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    ds = ct_instance(
        study_uid="1.2.826.0.1.3680043.2.1125.1",
        series_uid="1.2.826.0.1.3680043.2.1125.2",
        number=1,
    )
    del ds.file_meta
    raw = tmp_path / "raw.dcm"
    ds.save_as(raw, enforce_file_format=False, implicit_vr=True, little_endian=True)
    assert raw.read_bytes()[128:132] != b"DICM"
    done, _, _ = await _upload(app, client, [raw])
    assert done.status_code == 202, done.text
    assert any("File Meta" in w for w in done.json()["warnings"])


async def test_declared_metadata_differing_from_headers_is_a_warning(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    paths = write_study(tmp_path / "mr", count=1, modality="MR", patient_name="ROE^RICHARD").paths
    done, _, _ = await _upload(app, client, paths)
    assert done.status_code == 202
    warnings = " ".join(done.json()["warnings"])
    assert "modality" in warnings and "patient name" in warnings
    assert "ROE" not in warnings and "Jane" not in warnings


async def test_a_huge_declared_size_is_refused_at_init(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    headers = await auth_headers(app, client)
    body = init_body(_good(tmp_path))
    # Within the schema (a JSON-exact integer), over UPLOAD_MAX_TOTAL_BYTES: refused, 403.
    body["files"][0]["size"] = 2**50
    r = await client.post("/api/upload/init", headers=headers, json=body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "upload_too_large"
    # Beyond what the schema allows for a size at all: a validation error.
    body["files"][0]["size"] = 2**62
    r = await client.post("/api/upload/init", headers=headers, json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("settings_overrides", [{"upload_max_files": 5}])
async def test_more_files_than_configured_are_refused_while_parsing_before_any_entry(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = await auth_headers(app, client)
    body = init_body([])
    # Six entries, each invalid: the count is checked first, before any entry is parsed.
    body["files"] = [{"size": -1}] * 6
    r = await client.post("/api/upload/init", headers=headers, json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "too_many_files" and error["limit"] == 5 and error["count"] == 6
    assert "at most 5 files" in error["message"]
    assert [f["loc"] for f in error["fields"]] == [["body", "files"]]
    async with app.state.database.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Upload)) == 0
    body["files"] = [{"name": f"{i}.dcm", "size": 10} for i in range(5)]
    r = await client.post("/api/upload/init", headers=headers, json=body)
    assert r.status_code == 201, r.text


async def test_every_modality_code_taken_fits_the_upload_record(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    # CTPROTOCOL and TEXTUREMAP (10 characters) were a 500 on PostgreSQL: the column held 8.
    headers = await auth_headers(app, client)
    longest = sorted(MODALITIES, key=len)[-3:]
    assert {"CTPROTOCOL", "TEXTUREMAP"} <= set(longest)
    for modality in longest:
        body = init_body(_good(tmp_path), modality=modality, force_upload=True)
        r = await client.post("/api/upload/init", headers=headers, json=body)
        assert r.status_code == 201, (modality, r.text)
    listed = (await client.get("/api/uploads", headers=headers)).json()["items"]
    assert {u["modality"] for u in listed} == set(longest)
