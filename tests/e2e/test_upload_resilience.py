"""The web app's resumable upload in real Chromium: offline mid-upload, a reload mid-upload, and a
study queued offline then sent after the browser was closed and reopened. Each study must reach
Orthanc intact (SHA-256 of every instance, retrieved with WADO-RS, equals the source file's)."""

from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path
from typing import Any

import httpx
import pydicom

from tests.dicom_factory import StudyFiles, write_study
from tests.e2e.harness import Browser
from tests.live_server import LiveServer
from tests.pacs.conftest import orthanc_instances, wado_instance_sha256
from tests.servers import OrthancServer

CHUNK_SIZE = 256 * 1024  # the server's minimum: more chunks for a small study
PATIENT, DICOM_DATE, ISO_DATE = "RESILIENT^RUTH", "20260301", "2026-03-01"


def make_study(directory: Path, *, count: int, pixel_bytes: int) -> StudyFiles:
    return write_study(
        directory, count=count, pixel_bytes=pixel_bytes, patient_name=PATIENT, study_date=DICOM_DATE
    )


def total_chunks(study: StudyFiles, chunk_size: int) -> int:
    return sum(max(1, math.ceil(p.stat().st_size / chunk_size)) for p in study.paths)


def wait_forwarded(
    server: LiveServer, user: dict[str, str], upload_id: str, timeout: float = 90
) -> dict[str, Any]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        login = client.post(
            "/api/auth/login", json={"login": user["username"], "password": user["password"]}
        )
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        deadline = time.monotonic() + timeout
        while True:
            detail: dict[str, Any] = client.get(f"/api/upload/{upload_id}", headers=headers).json()
            if detail["state"] in {"forwarded", "failed"}:
                return detail
            assert time.monotonic() < deadline, f"upload still {detail['state']}"
            time.sleep(0.3)


def assert_in_pacs_intact(pacs: OrthancServer, study: StudyFiles) -> None:
    """Every source instance is in Orthanc, byte for byte (SHA-256 over WADO-RS)."""
    originals = {}
    for path in study.paths:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        originals[str(ds.SOPInstanceUID)] = (
            str(ds.SeriesInstanceUID),
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
    rows = orthanc_instances(pacs, study.study_uid)
    in_pacs = {row["00080018"]["Value"][0] for row in rows}
    assert in_pacs == set(originals), f"{len(in_pacs)} of {len(originals)} instances in the PACS"
    for sop, (series, sha) in originals.items():
        assert wado_instance_sha256(pacs, study.study_uid, series, sop) == sha, sop


def test_offline_mid_upload_then_online_completes_and_pacs_has_every_instance_intact(
    browser: Browser, gateway: LiveServer, pacs: OrthancServer, tmp_path: Path
) -> None:
    study = make_study(tmp_path / "study", count=12, pixel_bytes=600 * 1024)
    chunks = total_chunks(study, CHUNK_SIZE)
    result = browser.run_scenario(
        "upload-offline",
        E2E_STUDY_DIR=str(study.paths[0].parent),
        E2E_TOTAL_CHUNKS=chunks,
        E2E_CHUNK_SIZE=CHUNK_SIZE,
    )
    # The form was pre-filled from the first file's header.
    assert result["prefill"]["patientName"] == PATIENT
    assert result["prefill"]["studyDate"] == ISO_DATE
    assert result["prefill"]["modality"] == "CT"
    # It really went offline mid-way: some chunks before, none acknowledged while offline.
    assert 0 < result["ackAtOffline"] < chunks
    assert result["ackBeforeOnline"] <= result["ackAtOffline"] + 4  # only those already in flight
    assert result["counts"]["failed"] > 0, "no request failed: the browser never went offline"
    # Resumed from status, not from zero: beyond the study's chunks, at most those cut off in
    # flight (4 at a time) were sent again. (A chunk stored just as the network went can miss
    # its answer in the browser, hence the lower bound too.)
    assert chunks - 4 <= result["counts"]["acknowledged"] <= chunks + 4, result["counts"]
    assert result["counts"]["requests"] < 2 * chunks, result["counts"]
    detail = wait_forwarded(gateway, result["user"], result["uploadId"])
    assert detail["state"] == "forwarded", detail
    assert detail["file_count"] == len(study.paths)
    assert_in_pacs_intact(pacs, study)


def test_reload_mid_upload_resumes_from_status_and_sends_fewer_than_twice_the_chunks(
    browser: Browser, gateway: LiveServer, pacs: OrthancServer, tmp_path: Path
) -> None:
    study = make_study(tmp_path / "study", count=12, pixel_bytes=600 * 1024)
    chunks = total_chunks(study, CHUNK_SIZE)
    result = browser.run_scenario(
        "upload-reload",
        E2E_STUDY_DIR=str(study.paths[0].parent),
        E2E_TOTAL_CHUNKS=chunks,
        E2E_CHUNK_SIZE=CHUNK_SIZE,
    )
    sent = result["counts"]["requests"]
    assert result["requestsBeforeReload"] < chunks, "the reload came after the whole study"
    assert chunks <= sent < 2 * chunks, f"{sent} chunk PUTs for a study of {chunks} chunks"
    # Resumed: after the reload only what was missing went (plus those cut off in flight).
    assert sent - result["requestsBeforeReload"] < chunks
    assert result["statusCalls"] >= 2
    detail = wait_forwarded(gateway, result["user"], result["uploadId"])
    assert detail["state"] == "forwarded", detail
    assert_in_pacs_intact(pacs, study)


def test_study_queued_offline_is_sent_after_the_browser_is_reopened_online(
    browser: Browser, gateway: LiveServer, pacs: OrthancServer, tmp_path: Path
) -> None:
    study = make_study(tmp_path / "study", count=5, pixel_bytes=300 * 1024)
    not_dicom = tmp_path / "notes.txt"
    not_dicom.write_text("not a DICOM file\n" * 20)
    result = browser.run_scenario(
        "upload-queued-offline",
        E2E_STUDY_DIR=str(study.paths[0].parent),
        E2E_NOT_DICOM=str(not_dicom),
    )
    assert result["uploadId"], result
    assert result["counts"]["requests"] >= len(study.paths)
    detail = wait_forwarded(gateway, result["user"], result["uploadId"])
    assert detail["state"] == "forwarded", detail
    assert [f["name"] for f in detail["files"]] == [p.name for p in study.paths]
    assert_in_pacs_intact(pacs, study)


def test_background_sync_in_the_service_worker_sends_a_study_queued_offline_without_the_page(
    browser: Browser, gateway: LiveServer, pacs: OrthancServer, tmp_path: Path
) -> None:
    study = make_study(tmp_path / "study", count=4, pixel_bytes=300 * 1024)
    result = browser.run_scenario(
        "upload-background-sync", E2E_STUDY_DIR=str(study.paths[0].parent)
    )
    assert [n["title"] for n in result["notifications"]] == ["Upload complete"], result
    assert result["uploadId"], result
    assert result["counts"]["requests"] >= len(study.paths)
    detail = wait_forwarded(gateway, result["user"], result["uploadId"])
    assert detail["state"] == "forwarded", detail
    assert_in_pacs_intact(pacs, study)
