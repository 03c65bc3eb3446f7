"""Report sync integrity on the Orthanc fixture (issue 12 §3). The uploader chooses the
StudyInstanceUID, so without these checks one could (a) upload an image into a victim's
PACS study and receive the victim's report, or (b) upload an SR and have it taken for the
radiologist's report. Neither works: the PACS's other patient refuses the upload (409
`study_uid_conflict`, or a dead-lettered delivery when the PACS could not be asked at
completion); even past an admin's override, a report of another patient is held back as
a sync warning; and an instance the gateway sent itself is never a report."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pydicom
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from relaypacs.audit.models import AuditEvent
from relaypacs.core.permissions import Role
from tests.dicom_factory import write_study
from tests.factories import auth_headers, bearer, create_user, login
from tests.pacs.conftest import FAST_RETRIES, destination, orthanc_instances, wait_for_state
from tests.reports.test_sync import (
    a_pdf,
    basic_text_sr,
    delivered_study,
    encapsulated_pdf,
    notifications_of,
    report_of,
    run_sync,
    store_in_orthanc,
)
from tests.servers import OrthancServer
from tests.upload_client import init_body, send_all, upload_study

pytestmark = pytest.mark.slow

VICTIM = {"PatientID": "VICTIM-77", "PatientName": "ROE^RICHARD"}
REASON = "PatientID corrected in the PACS after the scan (ticket 4711)"


@pytest.fixture
def pacs(orthanc: OrthancServer) -> Iterator[OrthancServer]:
    if not orthanc.running:
        orthanc.start()
    orthanc.clear()
    yield orthanc
    if not orthanc.running:
        orthanc.start()


@pytest.fixture
def settings_overrides(pacs: OrthancServer) -> dict[str, Any]:
    return FAST_RETRIES | {"pacs_orthanc": destination(pacs), "active_pacs": "orthanc"}


def _sop_uid(part10: bytes) -> str:
    return str(pydicom.dcmread(io.BytesIO(part10), stop_before_pixels=True).SOPInstanceUID)


def _held(pacs: OrthancServer, study_uid: str) -> set[str]:
    return {row["00080018"]["Value"][0] for row in orthanc_instances(pacs, study_uid)}


def victims_study(pacs: OrthancServer, directory: Path) -> tuple[str, str]:
    """Another patient's study as a modality and a reporting system left it in the PACS:
    an image, an SR report and a PDF report. Returns (study UID, the SR's SOP UID)."""
    image = write_study(
        directory, count=1, pixel_bytes=4 * 1024, patient_id="VICTIM-77", patient_name="ROE^RICHARD"
    )
    store_in_orthanc(pacs, image.paths[0].read_bytes())
    report = basic_text_sr(
        image.study_uid,
        finding="Left lower lobe mass.",
        impression="Suspicious for malignancy.",
        patient=VICTIM,
    )
    store_in_orthanc(pacs, report)
    store_in_orthanc(
        pacs, encapsulated_pdf(image.study_uid, a_pdf("Victim's PDF report"), patient=VICTIM)
    )
    return image.study_uid, _sop_uid(report)


async def start_upload(
    client: httpx.AsyncClient, headers: dict[str, str], paths: list[Path]
) -> str:
    """init (forced past duplicate detection) and every chunk; not completed yet."""
    init = await client.post(
        "/api/upload/init", json=init_body(paths, force_upload=True), headers=headers
    )
    assert init.status_code == 201, init.text
    created: dict[str, Any] = init.json()
    await send_all(client, created, paths, headers)
    return str(created["upload_id"])


async def audit_events(app: FastAPI, action: str) -> list[AuditEvent]:
    async with app.state.database.sessionmaker() as session:
        rows = await session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        return list(rows)


async def override(
    client: httpx.AsyncClient, headers: dict[str, str], upload_id: str, reason: str = REASON
) -> httpx.Response:
    return await client.post(
        f"/api/upload/{upload_id}/study-conflict/override",
        json={"reason": reason},
        headers=headers,
    )


# --- (a) an image with a victim's StudyInstanceUID --------------------------------------


async def test_an_image_sent_into_another_patients_study_is_refused_and_never_gets_its_report(
    app: FastAPI, client: httpx.AsyncClient, pacs: OrthancServer, tmp_path: Path
) -> None:
    study_uid, victim_sr = victims_study(pacs, tmp_path / "victim")
    held_before = _held(pacs, study_uid)
    attacker = bearer(await login(client, await create_user(app)))
    forged = write_study(tmp_path / "forged", count=1, pixel_bytes=4 * 1024, study_uid=study_uid)
    upload_id = await start_upload(client, attacker, forged.paths)

    refused = await client.post(f"/api/upload/{upload_id}/complete", headers=attacker)

    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "study_uid_conflict"
    assert "VICTIM" not in refused.text and "ROE" not in refused.text
    status = await client.get(f"/api/upload/{upload_id}/status", headers=attacker)
    assert status.json()["state"] == "uploading"  # nothing recorded; the chunks are kept
    assert _held(pacs, study_uid) == held_before  # nothing sent
    [conflict] = await audit_events(app, "study_uid_conflict")
    assert (conflict.outcome, conflict.target_id) == ("denied", upload_id)
    assert conflict.details == {"stage": "completion", "study_instance_uid": study_uid}

    # An admin who judges the upload legitimate overrides the check, with a reason...
    admin = await auth_headers(app, client, role=Role.admin)
    assert (await override(client, attacker, upload_id)).status_code == 403
    assert (await override(client, admin, upload_id, reason="ok")).status_code == 422
    allowed = await override(client, admin, upload_id)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["study_conflict_overridden"] is True
    [decision] = await audit_events(app, "study_uid_conflict_overridden")
    assert decision.target_id == upload_id and decision.details["reason"] == REASON
    done = await client.post(f"/api/upload/{upload_id}/complete", headers=attacker)
    assert done.status_code == 202, done.text
    detail = await wait_for_state(client, attacker, upload_id, {"forwarded", "failed"})
    assert detail["state"] == "forwarded", detail["forwarding"]

    # ...and still the other patient's SR and PDF never become the uploader's report.
    summary = await run_sync(app)

    assert (summary.checked, summary.ready, summary.mismatched) == (1, 0, 1)
    mine = await report_of(client, attacker, upload_id)
    assert mine["status"] == "ASSIGNED"
    assert mine["pacs_report_kind"] is None and mine["pacs_report_text"] is None
    assert mine["has_pdf_attachment"] is False
    assert mine["sync_warning"] is None  # for those who work reports only
    assert "malignancy" not in json.dumps(mine)
    radiologist = await auth_headers(app, client, role=Role.radiologist)
    warning = (await report_of(client, radiologist, upload_id))["sync_warning"]
    assert warning["code"] == "patient_id_mismatch"
    assert warning["sop_instance_uid"] == victim_sr
    listed = await client.get("/api/reports", headers=radiologist)
    assert listed.json()["items"][0]["sync_warning"]["code"] == "patient_id_mismatch"
    [held_back] = await audit_events(app, "report_sync_patient_mismatch")
    assert held_back.outcome == "denied" and held_back.target_id == mine["id"]
    assert held_back.details == {
        "upload_id": upload_id,
        "sop_instance_uid": victim_sr,
        "reason": "patient_id_mismatch",
    }

    again = await run_sync(app)

    assert (again.ready, again.mismatched) == (0, 0)  # met again, recorded once
    assert len(await audit_events(app, "report_sync_patient_mismatch")) == 1
    assert (await report_of(client, attacker, upload_id))["status"] == "ASSIGNED"


async def test_a_conflict_the_pacs_could_not_be_asked_about_at_completion_stops_the_delivery(
    app: FastAPI, client: httpx.AsyncClient, pacs: OrthancServer, tmp_path: Path
) -> None:
    study_uid, _ = victims_study(pacs, tmp_path / "victim")
    attacker = bearer(await login(client, await create_user(app)))
    forged = write_study(tmp_path / "forged", count=1, pixel_bytes=4 * 1024, study_uid=study_uid)
    forged_uid = _sop_uid(forged.paths[0].read_bytes())
    upload_id = await start_upload(client, attacker, forged.paths)
    pacs.stop()
    try:
        # The PACS cannot be asked: the upload is accepted (nothing a user sent is lost)...
        done = await client.post(f"/api/upload/{upload_id}/complete", headers=attacker)
        assert done.status_code == 202, done.text
        assert done.json()["state"] == "queued"
    finally:
        pacs.start()

    # ...and asked again before anything is sent: the delivery is dead-lettered.
    detail = await wait_for_state(client, attacker, upload_id, {"forwarded", "failed"})

    assert detail["state"] == "failed"
    [job] = detail["forwarding"]
    assert job["state"] == "dead" and job["last_error"].startswith("study_uid_conflict")
    assert forged_uid not in _held(pacs, study_uid)
    failed = [n for n in await notifications_of(client, attacker) if n["type"] == "upload_failed"]
    assert [n["upload_id"] for n in failed] == [upload_id]
    [conflict] = await audit_events(app, "study_uid_conflict")
    assert conflict.target_id == upload_id and conflict.details["stage"] == "forwarding"

    # An admin's override, then a retry of the dead letter, lets it through.
    admin = await auth_headers(app, client, role=Role.admin)
    assert (await override(client, admin, upload_id)).status_code == 200
    retried = await client.post(f"/api/pacs/jobs/{job['id']}/retry", headers=admin)
    assert retried.status_code == 200, retried.text
    detail = await wait_for_state(client, attacker, upload_id, {"forwarded"})
    assert forged_uid in _held(pacs, study_uid)
    assert (await override(client, admin, upload_id)).json()["error"]["code"] == (
        "override_not_applicable"
    )


# --- (b) an SR sent through the gateway ------------------------------------------------


async def test_an_sr_sent_through_the_gateway_never_makes_a_report_ready(
    app: FastAPI, client: httpx.AsyncClient, pacs: OrthancServer, tmp_path: Path
) -> None:
    headers = bearer(await login(client, await create_user(app)))
    image = write_study(tmp_path / "image", count=1, pixel_bytes=4 * 1024)
    forged = tmp_path / "forged"
    forged.mkdir()
    (forged / "sr-1.dcm").write_bytes(
        basic_text_sr(image.study_uid, finding="Forged one.", impression="Forged: normal.")
    )
    (forged / "sr-2.dcm").write_bytes(
        basic_text_sr(image.study_uid, finding="Forged two.", impression="Forged: normal.")
    )
    # One upload carries an image and an SR; a second one (forced past duplicate
    # detection) adds another SR to the same study.
    first = await upload_study(client, headers, [*image.paths, forged / "sr-1.dcm"])
    second = await upload_study(client, headers, [forged / "sr-2.dcm"], force_upload=True)
    for done in (first, second):
        detail = await wait_for_state(client, headers, done["upload_id"], {"forwarded", "failed"})
        assert detail["state"] == "forwarded", detail["forwarding"]
    assert len(_held(pacs, image.study_uid)) == 3

    summary = await run_sync(app)

    assert (summary.checked, summary.ready, summary.mismatched) == (2, 0, 0)
    for done in (first, second):
        report = await report_of(client, headers, done["upload_id"])
        assert report["status"] == "ASSIGNED" and report["pacs_report_text"] is None

    # The radiologist's own report in the PACS is still found, for both.
    store_in_orthanc(
        pacs, basic_text_sr(image.study_uid, finding="Genuine.", impression="Genuine: normal.")
    )

    summary = await run_sync(app)

    assert summary.ready == 2
    report = await report_of(client, headers, first["upload_id"])
    assert report["status"] == "READY"
    assert "Genuine: normal." in report["pacs_report_text"]
    assert "Forged" not in report["pacs_report_text"]


# --- the patient's name ------------------------------------------------------------------


async def test_a_pacs_report_naming_another_patient_is_held_back_and_one_naming_ours_attached(
    app: FastAPI, client: httpx.AsyncClient, pacs: OrthancServer, tmp_path: Path
) -> None:
    headers = bearer(await login(client, await create_user(app)))
    upload_id, study_uid = await delivered_study(client, headers, tmp_path / "study")
    # Same PatientID as the upload (PID-0001), another name.
    wrong = basic_text_sr(
        study_uid, finding="Other.", impression="Other.", patient={"PatientName": "SMITH^ANNA"}
    )
    store_in_orthanc(pacs, wrong)

    summary = await run_sync(app)

    assert (summary.ready, summary.mismatched) == (0, 1)
    radiologist = await auth_headers(app, client, role=Role.radiologist)
    report = await report_of(client, radiologist, upload_id)
    assert report["status"] == "ASSIGNED"
    assert report["sync_warning"]["code"] == "patient_name_mismatch"
    assert report["sync_warning"]["sop_instance_uid"] == _sop_uid(wrong)

    # The upload's own patient, written as a reporting system may write the name.
    store_in_orthanc(
        pacs,
        basic_text_sr(
            study_uid,
            finding="Ours.",
            impression="Ours: normal.",
            patient={"PatientName": "Doe^Jane^^^"},
        ),
    )

    summary = await run_sync(app)

    assert summary.ready == 1
    report = await report_of(client, radiologist, upload_id)
    assert report["status"] == "READY" and "Ours: normal." in report["pacs_report_text"]
    assert report["sync_warning"]["code"] == "patient_name_mismatch"  # still on record
