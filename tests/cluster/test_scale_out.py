"""Three replicas behind nginx, no sticky sessions: any request of an upload may land on any
replica, and the study still reaches the PACS intact; events and scheduled jobs are shared."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pydicom
import pytest

from tests.cluster.client import Client
from tests.cluster.stack import Cluster, orthanc_sha256s, sha256, sign_in
from tests.dicom_factory import StudyFiles, write_study
from tests.upload_client import chunk_of, init_body, put_chunk

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="package")]

CHUNK = 256 * 1024


def study_of(tmp_path: Path, name: str, count: int = 4) -> StudyFiles:
    # ~600 kB per file: three 256 KiB chunks each
    return write_study(tmp_path / name, count=count, pixel_bytes=600 * 1024)


def source_sha256s(study: StudyFiles) -> dict[str, str]:
    return {
        str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID): sha256(p.read_bytes())
        for p in study.paths
    }


async def test_chunks_round_robin_status_and_complete_on_other_replicas_reach_the_pacs_intact(
    whole: Cluster, tmp_path: Path
) -> None:
    cluster = whole
    bearer = await sign_in(cluster.url)
    study = study_of(tmp_path, "rr")
    first, second, third = (replica.base_url for replica in cluster.replicas)

    async with httpx.AsyncClient(base_url=first, timeout=30) as api:
        init = await api.post(
            "/api/upload/init",
            json=init_body(study.paths, chunk_size=CHUNK, force_upload=True),
            headers=bearer,
        )
        assert init.status_code == 201, init.text
    created = init.json()
    upload_id = created["upload_id"]
    jobs = [(f["index"], i) for f in created["files"] for i in range(f["total_chunks"])]
    assert len(jobs) >= 9

    clients = [httpx.AsyncClient(base_url=r.base_url, timeout=30) for r in cluster.replicas]
    try:
        for n, (file, index) in enumerate(jobs):  # chunk n to replica n mod 3
            data = chunk_of(study.paths[file], index, CHUNK)
            response = await put_chunk(clients[n % 3], upload_id, file, index, data, bearer)
            assert response.status_code == 200, response.text
    finally:
        for client in clients:
            await client.aclose()

    async with httpx.AsyncClient(base_url=second, timeout=30) as api:
        status = (await api.get(f"/api/upload/{upload_id}/status", headers=bearer)).json()
    assert all(f["missing"] == [] and f["received"] == f["total_chunks"] for f in status["files"])
    async with httpx.AsyncClient(base_url=third, timeout=60) as api:
        done = await api.post(f"/api/upload/{upload_id}/complete", headers=bearer)
    assert done.status_code == 202, done.text
    assert done.json()["instances"] == len(study.paths)

    detail = await Client(cluster.url, bearer).wait_settled(upload_id)
    assert detail["state"] == "forwarded", detail
    assert orthanc_sha256s(cluster.orthanc, study.study_uid) == source_sha256s(study)


async def test_the_balancer_spreads_one_uploads_chunks_over_every_replica(
    whole: Cluster, tmp_path: Path
) -> None:
    cluster = whole
    bearer = await sign_in(cluster.url)
    study = study_of(tmp_path, "lb")
    async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as api:
        created = (
            await api.post(
                "/api/upload/init",
                json=init_body(study.paths, chunk_size=CHUNK, force_upload=True),
                headers=bearer,
            )
        ).json()
        served_by = []
        for file in created["files"]:
            for index in range(file["total_chunks"]):
                data = chunk_of(study.paths[file["index"]], index, CHUNK)
                response = await put_chunk(
                    api, created["upload_id"], file["index"], index, data, bearer
                )
                assert response.status_code == 200, response.text
                served_by.append(cluster.replica_of(response))
        done = await api.post(f"/api/upload/{created['upload_id']}/complete", headers=bearer)
        assert done.status_code == 202, done.text
    replicas = {replica.base_url[len("http://") :] for replica in cluster.replicas}
    assert set(served_by) == replicas, served_by
    detail = await Client(cluster.url, bearer).wait_settled(created["upload_id"])
    assert detail["state"] == "forwarded"
    assert orthanc_sha256s(cluster.orthanc, study.study_uid) == source_sha256s(study)


async def test_scheduled_jobs_run_once_per_interval_across_replicas(whole: Cluster) -> None:
    """Report sync every 2 s on each of three replicas: counted from their logs, it ran once
    per interval in all, not once per replica."""
    cluster = whole
    pattern = r"job_succeeded.*job=reports\.pacs_sync"
    before = len(cluster.log_lines(pattern))
    await asyncio.sleep(12)
    runs = len(cluster.log_lines(pattern)) - before
    # 12 s / 2 s = 6 intervals (±1 for the window's edges); once per replica would be ~18.
    assert 5 <= runs <= 7, runs
