"""Forwarding to real Orthanc instances (DICOMweb plugin): delivery, both, outage,
fallback, a PACS killed mid-transfer, DIMSE."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pydicom
import pytest
from fastapi import FastAPI

from relaypacs.core.permissions import Role
from tests.dicom_factory import StudyFiles, write_study
from tests.factories import auth_headers
from tests.pacs.conftest import (
    FAST_RETRIES,
    destination,
    orthanc_instances,
    wado_instance_sha256,
    wait_for_state,
)
from tests.servers import OrthancServer
from tests.upload_client import upload_study

pytestmark = pytest.mark.slow


@pytest.fixture
def pacs_a(orthanc: OrthancServer) -> Iterator[OrthancServer]:
    if not orthanc.running:
        orthanc.start()
    orthanc.clear()
    yield orthanc
    if not orthanc.running:
        orthanc.start()


@pytest.fixture
def pacs_b(orthanc_b: OrthancServer) -> Iterator[OrthancServer]:
    if not orthanc_b.running:
        orthanc_b.start()
    orthanc_b.clear()
    yield orthanc_b
    if not orthanc_b.running:
        orthanc_b.start()


@pytest.fixture
def study(tmp_path: Path) -> StudyFiles:
    return write_study(tmp_path / "study", count=6, pixel_bytes=64 * 1024)


@pytest.fixture
def settings_overrides(
    pacs_a: OrthancServer, pacs_b: OrthancServer, request: pytest.FixtureRequest
) -> dict[str, Any]:
    extra = dict(getattr(request, "param", {}))
    kind = "dimse" if extra.pop("dimse", False) else "dicomweb"
    return (
        FAST_RETRIES
        | {"pacs_orthanc": destination(pacs_a, type=kind), "pacs_dcm4chee": destination(pacs_b)}
        | extra
    )


def _sop_uids(rows: list[dict[str, Any]]) -> set[str]:
    return {r["00080018"]["Value"][0] for r in rows}


def _expected_uids(study: StudyFiles) -> set[str]:
    return {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in study.paths}


async def test_a_completed_upload_reaches_orthanc_byte_for_byte(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles, pacs_a: OrthancServer
) -> None:
    headers = await auth_headers(app, client)
    done = await upload_study(client, headers, study.paths)
    detail = await wait_for_state(client, headers, done["upload_id"], {"forwarded", "failed"})
    assert detail["state"] == "forwarded", detail["forwarding"]
    rows = orthanc_instances(pacs_a, study.study_uid)
    assert _sop_uids(rows) == _expected_uids(study)
    originals = {}
    for path in study.paths:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        originals[str(ds.SOPInstanceUID)] = (
            str(ds.SeriesInstanceUID),
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
    for sop, (series, sha) in originals.items():
        assert wado_instance_sha256(pacs_a, study.study_uid, series, sop) == sha
    [job] = detail["forwarding"]
    assert job["destination"] == "orthanc" and job["state"] == "delivered"
    assert job["instances_stored"] == job["instances_total"] == 6
    assert job["receipt_id"] is not None
    receipts = job["receipts"]
    assert len(receipts) == 2  # batches of 4: 4 + 2
    assert sorted(u for r in receipts for u in r["referenced"]) == sorted(originals)
    assert all(r["http_status"] == 200 and r["failed"] == [] for r in receipts)
    assert any(r["delivered"] for r in receipts)


@pytest.mark.parametrize("settings_overrides", [{"active_pacs": "both"}], indirect=True)
async def test_both_sends_to_both_pacs(
    app: FastAPI,
    client: httpx.AsyncClient,
    study: StudyFiles,
    pacs_a: OrthancServer,
    pacs_b: OrthancServer,
) -> None:
    headers = await auth_headers(app, client)
    done = await upload_study(client, headers, study.paths)
    detail = await wait_for_state(client, headers, done["upload_id"], {"forwarded", "failed"})
    assert detail["state"] == "forwarded"
    assert {j["destination"] for j in detail["forwarding"]} == {"orthanc", "dcm4chee"}
    for pacs in (pacs_a, pacs_b):
        assert _sop_uids(orthanc_instances(pacs, study.study_uid)) == _expected_uids(study)


async def test_a_pacs_that_is_down_queues_and_delivers_when_it_returns(
    app: FastAPI, client: httpx.AsyncClient, study: StudyFiles, pacs_a: OrthancServer
) -> None:
    pacs_a.stop()
    headers = await auth_headers(app, client)
    done = await upload_study(client, headers, study.paths)
    await asyncio.sleep(2)
    detail = (await client.get(f"/api/upload/{done['upload_id']}", headers=headers)).json()
    assert detail["state"] in {"queued", "forwarding"}
    [job] = detail["forwarding"]
    assert job["state"] in {"pending", "sending"}
    assert job["attempts"] == 0, "health checks must not burn attempts"
    assert "unreachable" in (job["last_error"] or "")
    pacs_a.start()
    detail = await wait_for_state(client, headers, done["upload_id"], {"forwarded", "failed"})
    assert detail["state"] == "forwarded"
    assert _sop_uids(orthanc_instances(pacs_a, study.study_uid)) == _expected_uids(study)


@pytest.mark.parametrize(
    "settings_overrides",
    [{"fallback_pacs": "dcm4chee", "fallback_after_seconds": 1}],
    indirect=True,
)
async def test_the_fallback_takes_the_study_when_the_primary_stays_down(
    app: FastAPI,
    client: httpx.AsyncClient,
    study: StudyFiles,
    pacs_a: OrthancServer,
    pacs_b: OrthancServer,
) -> None:
    pacs_a.stop()
    headers = await auth_headers(app, client)
    done = await upload_study(client, headers, study.paths)
    detail = await wait_for_state(client, headers, done["upload_id"], {"forwarded", "failed"})
    assert detail["state"] == "forwarded"
    jobs = {j["destination"]: j for j in detail["forwarding"]}
    assert jobs["orthanc"]["state"] == "superseded" and jobs["orthanc"]["role"] == "primary"
    assert jobs["dcm4chee"]["state"] == "delivered" and jobs["dcm4chee"]["role"] == "fallback"
    assert _sop_uids(orthanc_instances(pacs_b, study.study_uid)) == _expected_uids(study)


async def test_a_pacs_killed_mid_transfer_gets_the_whole_study_once(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path, pacs_a: OrthancServer
) -> None:
    big = write_study(tmp_path / "big", count=24, pixel_bytes=256 * 1024)
    headers = await auth_headers(app, client)
    done = await upload_study(client, headers, big.paths)
    # Let the first batches land, then kill the PACS in the middle of the transfer.
    for _ in range(200):
        if orthanc_instances(pacs_a, big.study_uid):
            break
        await asyncio.sleep(0.05)
    pacs_a.kill()
    await asyncio.sleep(1.5)
    pacs_a.start()
    detail = await wait_for_state(
        client, headers, done["upload_id"], {"forwarded", "failed"}, timeout=90
    )
    assert detail["state"] == "forwarded", detail["forwarding"]
    rows = orthanc_instances(pacs_a, big.study_uid)
    assert len(rows) == 24 and _sop_uids(rows) == _expected_uids(big)
    statistics = pacs_a.request("GET", "/statistics")
    assert statistics["CountInstances"] == 24, "no duplicates on the PACS"


@pytest.mark.parametrize("settings_overrides", [{"dimse": True}], indirect=True)
async def test_dimse_c_store_delivers_to_orthanc(
    app: FastAPI,
    client: httpx.AsyncClient,
    study: StudyFiles,
    pacs_a: OrthancServer,
    settings_overrides: dict[str, Any],
) -> None:
    headers = await auth_headers(app, client)
    done = await upload_study(client, headers, study.paths)
    detail = await wait_for_state(client, headers, done["upload_id"], {"forwarded", "failed"})
    assert detail["state"] == "forwarded", detail["forwarding"]
    assert _sop_uids(orthanc_instances(pacs_a, study.study_uid)) == _expected_uids(study)


async def test_admin_sees_destinations_with_health_and_queue(
    app: FastAPI, client: httpx.AsyncClient, pacs_a: OrthancServer
) -> None:
    admin = await auth_headers(app, client, role=Role.admin)
    items = (await client.get("/api/pacs/destinations", headers=admin)).json()["items"]
    by_name = {d["name"]: d for d in items}
    assert by_name["orthanc"]["up"] is True and by_name["orthanc"]["role"] == "active"
    assert by_name["orthanc"]["queue_depth"] == 0
    assert "relay-secret" not in str(items)
    clinician = await auth_headers(app, client)
    assert (await client.get("/api/pacs/destinations", headers=clinician)).status_code == 403
    ready = (await client.get("/readyz")).json()
    assert ready["destinations"]["orthanc"]["ok"] is True
