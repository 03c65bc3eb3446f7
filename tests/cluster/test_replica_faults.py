"""Replicas killed (SIGKILL) while they work, and PostgreSQL and Redis restarted under load:
the client retries through the balancer and finishes, nothing acknowledged is lost, a dead
replica's forward job is taken over within its lease, and no request is answered 500."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from relaypacs.core.database import Database
from relaypacs.pacs.models import ForwardJob, JobState
from relaypacs.uploads.models import Upload
from tests.cluster.client import Client, Observed
from tests.cluster.stack import Cluster, orthanc_sha256s, sign_in, unique
from tests.cluster.test_scale_out import CHUNK, source_sha256s, study_of
from tests.conftest import make_settings
from tests.dicom_factory import StudyFiles
from tests.upload_client import init_body

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="package")]

LEASE = 6.0  # FORWARD_LEASE_SECONDS in the cluster


async def test_a_replica_killed_mid_upload_loses_no_acknowledged_chunk(
    whole: Cluster, tmp_path: Path
) -> None:
    cluster = whole
    bearer = await sign_in(cluster.url)
    study = study_of(tmp_path, "kill-upload", count=12)
    client = Client(cluster.url, bearer)
    async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as api:
        init = await client.request(
            api,
            "POST",
            "/api/upload/init",
            ok={201},
            json=init_body(study.paths, **_init(study, "Killwell^Upload")),
            headers=bearer,
        )
        created = init.json()
        sending = asyncio.create_task(client.send_chunks(api, created, study.paths, concurrency=3))
        deadline = time.monotonic() + 60
        while len(client.observed.acknowledged) < 8:
            assert not sending.done(), sending  # failed before the kill: its error shows
            assert time.monotonic() < deadline, "8 chunks not acknowledged within 60 s"
            await asyncio.sleep(0.02)
        cluster.replicas[0].send_kill()
        acknowledged_before_kill = set(client.observed.acknowledged)
        await sending
        status = (
            await client.request(
                api, "GET", f"/api/upload/{created['upload_id']}/status", ok={200}, headers=bearer
            )
        ).json()
        received = {
            (created["upload_id"], f["index"], i)
            for f in status["files"]
            for i in range(f["total_chunks"])
            if i not in f["missing"]
        }
        assert acknowledged_before_kill <= received
        done = await client.complete(api, created["upload_id"])
    assert done["instances"] == len(study.paths)
    detail = await client.wait_settled(created["upload_id"])
    assert detail["state"] == "forwarded", detail
    assert orthanc_sha256s(cluster.orthanc, study.study_uid) == source_sha256s(study)
    assert client.observed.unexpected == []


async def test_a_replica_killed_mid_forward_has_its_job_taken_over_within_the_lease(
    whole: Cluster, tmp_path: Path
) -> None:
    cluster = whole
    assert cluster.pacs_proxy is not None
    bearer = await sign_in(cluster.url)
    study = study_of(tmp_path, "kill-forward", count=3)
    cluster.pacs_proxy.stall()  # the STOW hangs: the job stays with the replica sending it
    client = Client(cluster.url, bearer)
    done = await client.upload(study.paths, **_init(study, "Killwell^Forward"))
    holder = await _sending_job_holder(cluster, done["upload_id"])
    pid = int(holder.split(":")[2])
    victim = next(i for i, r in enumerate(cluster.replicas) if r.pid == pid)
    cluster.kill(victim)
    killed_at = time.monotonic()
    cluster.pacs_proxy.passthrough()
    detail = await client.wait_settled(done["upload_id"], timeout=60)
    taken_over_after = time.monotonic() - killed_at
    assert detail["state"] == "forwarded", detail
    assert taken_over_after < LEASE + 10, taken_over_after
    assert orthanc_sha256s(cluster.orthanc, study.study_uid) == source_sha256s(study)


async def test_a_replica_killed_mid_complete_has_the_completion_taken_over(
    whole: Cluster, tmp_path: Path
) -> None:
    cluster = whole
    bearer = await sign_in(cluster.url)
    study = study_of(tmp_path, "kill-complete", count=24)
    client = Client(cluster.url, bearer)
    victim = cluster.replicas[1]
    async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as api:
        created = (
            await client.request(
                api,
                "POST",
                "/api/upload/init",
                ok={201},
                json=init_body(study.paths, **_init(study, "Killwell^Complete")),
                headers=bearer,
            )
        ).json()
        await client.send_chunks(api, created, study.paths)
        upload_id = created["upload_id"]
        async with httpx.AsyncClient(base_url=victim.base_url, timeout=30) as direct:
            completing = asyncio.create_task(
                direct.post(f"/api/upload/{upload_id}/complete", headers=bearer)
            )
            await _wait_for_state(cluster, upload_id, "processing")
            victim.send_kill()
            with pytest.raises(httpx.TransportError):
                await completing
        started = time.monotonic()
        done = await client.complete(api, upload_id)  # through the balancer: another replica
    assert done["instances"] == len(study.paths)
    assert time.monotonic() - started < 6 + 15  # UPLOAD_COMPLETE_STALE_SECONDS, and the run
    detail = await client.wait_settled(upload_id)
    assert detail["state"] == "forwarded", detail
    assert orthanc_sha256s(cluster.orthanc, study.study_uid) == source_sha256s(study)
    assert client.observed.unexpected == []


async def test_postgresql_restarted_mid_run_answers_503_never_500_and_recovers(
    whole: Cluster, tmp_path: Path
) -> None:
    cluster = whole
    bearer = await sign_in(cluster.url)
    studies = [study_of(tmp_path, f"pg-{n}", count=3) for n in range(3)]
    observed = Observed()
    uploads = [
        asyncio.create_task(
            Client(cluster.url, bearer, observed=observed).upload(
                s.paths, concurrency=2, **_init(s, f"Restartwell^Pg{n}")
            )
        )
        for n, s in enumerate(studies)
    ]
    await asyncio.sleep(0.5)
    await asyncio.to_thread(cluster.stop_postgres)
    try:
        async with httpx.AsyncClient(timeout=15) as api:
            for replica in cluster.replicas:
                during = await api.get(f"{replica.base_url}/api/uploads", headers=bearer)
                assert during.status_code == 503, during.text
                assert during.json()["error"]["code"] == "service_unavailable", during.text
                assert during.headers["retry-after"] == "2"
                ready = await api.get(f"{replica.base_url}/readyz")
                assert ready.status_code == 503
    finally:
        await asyncio.to_thread(cluster.start_postgres)
    accepted = await asyncio.gather(*uploads)
    async with httpx.AsyncClient(timeout=15) as api:
        for replica in cluster.replicas:  # each pool recovered by itself
            after = await api.get(f"{replica.base_url}/api/uploads", headers=bearer)
            assert after.status_code == 200, after.text
    for study, done in zip(studies, accepted, strict=True):
        detail = await Client(cluster.url, bearer).wait_settled(done["upload_id"])
        assert detail["state"] == "forwarded", detail
        assert orthanc_sha256s(cluster.orthanc, study.study_uid) == source_sha256s(study)
    assert observed.unexpected == []


async def test_redis_restarted_mid_run_loses_nothing_and_answers_no_500(
    whole: Cluster, tmp_path: Path
) -> None:
    cluster = whole
    bearer = await sign_in(cluster.url)
    study = study_of(tmp_path, "redis", count=4)
    observed = Observed()
    client = Client(cluster.url, bearer, observed=observed)
    uploading = asyncio.create_task(client.upload(study.paths, **_init(study, "Restartwell^Rd")))
    await asyncio.sleep(0.3)
    await asyncio.to_thread(cluster.restart_redis, 1.0)
    done = await uploading
    for replica in cluster.replicas:  # sign-in (rate-limited in Redis) works again on each
        fresh = await sign_in(replica.base_url, within=5)
        async with httpx.AsyncClient(base_url=replica.base_url, timeout=15) as api:
            assert (await api.get("/api/auth/me", headers=fresh)).status_code == 200
    detail = await client.wait_settled(done["upload_id"])
    assert detail["state"] == "forwarded", detail
    assert orthanc_sha256s(cluster.orthanc, study.study_uid) == source_sha256s(study)
    assert observed.unexpected == []


def _init(study: StudyFiles, patient: str) -> dict[str, object]:
    """init fields for `study`: its own patient, 256 KiB chunks, no duplicate check."""
    assert study.paths
    return {
        "patient_name": f"{patient}{unique('x')[-4:]}",
        "chunk_size": CHUNK,
        "force_upload": True,
    }


async def _sending_job_holder(cluster: Cluster, upload_id: str, timeout: float = 20) -> str:
    database = Database(make_settings(cluster.database_url, cluster.base / "probe"))
    deadline = time.monotonic() + timeout
    try:
        while True:
            async with database.sessionmaker() as session:
                holder = await session.scalar(
                    select(ForwardJob.locked_by).where(
                        ForwardJob.upload_id == upload_id, ForwardJob.state == JobState.sending
                    )
                )
            if holder:
                return str(holder)
            assert time.monotonic() < deadline, "no replica took the forward job"
            await asyncio.sleep(0.1)
    finally:
        await database.dispose()


async def _wait_for_state(
    cluster: Cluster, upload_id: str, state: str, timeout: float = 20
) -> None:
    database = Database(make_settings(cluster.database_url, cluster.base / "probe"))
    deadline = time.monotonic() + timeout
    try:
        while True:
            async with database.sessionmaker() as session:
                current = await session.scalar(select(Upload.state).where(Upload.id == upload_id))
            if current is not None and current.value == state:
                return
            assert time.monotonic() < deadline, f"{upload_id} never {state} (is {current})"
            await asyncio.sleep(0.01)
    finally:
        await database.dispose()
