"""Forwarding with real `relaypacs serve` processes: a gateway SIGKILLed in the middle of
a forward resumes by itself after a restart (SQLite and PostgreSQL), and two gateway
processes sharing a PostgreSQL outbox never send the same job twice."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pydicom
import pytest
from sqlalchemy import select

from relaypacs.core.database import Database, utcnow
from relaypacs.pacs.models import ForwardJob
from relaypacs.users import commands
from tests.conftest import make_settings
from tests.dicom_factory import StudyFiles, write_study
from tests.live_server import RELAYPACS, LiveServer, server_env
from tests.pacs.conftest import orthanc_instances
from tests.pacs.stow_recorder import StowRecorder
from tests.servers import OrthancServer
from tests.upload_client import upload_study

pytestmark = pytest.mark.slow

ADMIN = "forwardadmin"
PASSWORD = "forward-test-password-8812"
REQUEST_TIMEOUT = 30.0
# After the restart the job the killed process held must be taken up again at once, not
# when its lease (outbox.LEASE, renewed just before the kill) runs out.
RESUME_TIMEOUT = 30.0

FAST_FORWARDING = {
    "ACTIVE_PACS": "orthanc",
    "FALLBACK_PACS": "",
    "FALLBACK_AFTER_SECONDS": "3600",
    "FORWARD_POLL_SECONDS": "0.2",
    "FORWARD_BACKOFF_BASE_SECONDS": "0.2",
    "FORWARD_BACKOFF_MAX_SECONDS": "1",
}


def orthanc_env(url: str, username: str, password: str, **extra: str) -> dict[str, str]:
    values = {
        "PACS_ORTHANC__TYPE": "dicomweb",
        "PACS_ORTHANC__URL": url,
        "PACS_ORTHANC__AUTH": "basic",
        "PACS_ORTHANC__USERNAME": username,
        "PACS_ORTHANC__PASSWORD": password,
    }
    return values | {f"PACS_ORTHANC__{k.upper()}": v for k, v in extra.items()}


def create_admin_with_cli(env: dict[str, str], workdir: Path) -> None:
    """`relaypacs users create-admin --password-stdin`, as an operator would run it."""
    workdir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            str(RELAYPACS),
            "users",
            "create-admin",
            "--email",
            "forward-admin@example.org",
            "--username",
            ADMIN,
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"create-admin failed: {result.stdout}{result.stderr}"


async def login(server: LiveServer) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=REQUEST_TIMEOUT) as client:
        r = await client.post("/api/auth/login", json={"login": ADMIN, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def upload_detail(
    server: LiveServer, bearer: dict[str, str], upload_id: str
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=REQUEST_TIMEOUT) as client:
        r = await client.get(f"/api/upload/{upload_id}", headers=bearer)
    assert r.status_code == 200, r.text
    detail: dict[str, Any] = r.json()
    return detail


async def wait_until_settled(
    server: LiveServer, bearer: dict[str, str], upload_id: str, timeout: float
) -> dict[str, Any] | None:
    """The upload's detail once `forwarded` or `failed`; None if it isn't by `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        assert server.is_running(), f"the gateway died; log:\n{server.log_tail()}"
        detail = await upload_detail(server, bearer, upload_id)
        if detail["state"] in {"forwarded", "failed"}:
            return detail
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(0.2)


async def describe_jobs(database_url: str, data_dir: Path) -> str:
    """The outbox rows as the database holds them, for failure messages."""
    database = Database(make_settings(database_url, data_dir))
    try:
        async with database.sessionmaker() as session:
            jobs = (await session.scalars(select(ForwardJob))).all()
    finally:
        await database.dispose()
    now = utcnow()

    def lease(job: ForwardJob) -> str:
        if job.locked_until is None:
            return "-"
        return f"now{(job.locked_until - now).total_seconds():+.0f}s"

    return "; ".join(
        f"job {j.id} state={j.state.value} attempts={j.attempts} locked_by={j.locked_by} "
        f"locked_until={lease(j)} last_error={j.last_error!r}"
        for j in jobs
    )


def sop_uids(study: StudyFiles) -> set[str]:
    return {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in study.paths}


async def orthanc_count(orthanc: OrthancServer) -> int:
    statistics = await asyncio.to_thread(orthanc.request, "GET", "/statistics")
    return int(statistics["CountInstances"])


# --- a gateway SIGKILLed mid-forward ---------------------------------------------------

INSTANCES = 30
BATCH = 2


@pytest.fixture
def pacs(orthanc: OrthancServer) -> Iterator[OrthancServer]:
    if not orthanc.running:
        orthanc.start()
    orthanc.clear()
    yield orthanc


async def test_a_gateway_sigkilled_mid_forward_resumes_after_a_restart(
    database_url: str, tmp_path: Path, pacs: OrthancServer
) -> None:
    study = write_study(tmp_path / "study", count=INSTANCES, pixel_bytes=256 * 1024)
    expected = sop_uids(study)
    data_dir = tmp_path / "data"
    env = server_env(
        database_url,
        data_dir,
        FORWARD_WORKERS="1",
        **FAST_FORWARDING,
        **orthanc_env(
            pacs.dicomweb_url,
            pacs.username,
            pacs.password,
            batch_max_instances=str(BATCH),
            timeout_seconds="20",
        ),
    )
    server = LiveServer(env, tmp_path / "server", preload=True)
    started = time.monotonic()
    try:
        await asyncio.gather(
            asyncio.to_thread(create_admin_with_cli, env, tmp_path / "cli"),
            server.start_and_wait(),
        )
        bearer = await login(server)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=REQUEST_TIMEOUT) as client:
            done = await upload_study(client, bearer, study.paths, force_upload=True)
        upload_id = done["upload_id"]

        # Kill the gateway once Orthanc holds some, but not all, of the study.
        deadline = time.monotonic() + 60
        while True:
            held = await orthanc_count(pacs)
            if 0 < held < INSTANCES:
                break
            assert held < INSTANCES, "forwarding finished before the kill could land"
            assert time.monotonic() < deadline, f"nothing forwarded:\n{server.log_tail()}"
            await asyncio.sleep(0.01)
        server.send_kill()
        await asyncio.to_thread(server.kill)
        after_kill = await orthanc_count(pacs)
        assert after_kill < INSTANCES, "the kill landed after the last batch"
        outbox_at_kill = await describe_jobs(database_url, data_dir)

        restarted = time.monotonic()
        await server.start_and_wait()
        detail = await wait_until_settled(server, bearer, upload_id, RESUME_TIMEOUT)
        resumed_in = time.monotonic() - restarted
        if detail is None:
            pytest.fail(
                f"forwarding did not resume within {RESUME_TIMEOUT:.0f} s of the restart "
                f"(Orthanc holds {await orthanc_count(pacs)} of {INSTANCES}). Outbox at the "
                f"kill: {outbox_at_kill}. Outbox now: "
                f"{await describe_jobs(database_url, data_dir)}"
            )
    finally:
        await asyncio.to_thread(server.close)

    assert detail["state"] == "forwarded", detail["forwarding"]
    [job] = detail["forwarding"]
    assert job["state"] == "delivered"
    assert job["instances_stored"] == job["instances_total"] == INSTANCES
    # Instances recorded as stored before the kill are not sent again after it.
    referenced = Counter(uid for r in job["receipts"] for uid in r["referenced"])
    assert set(referenced) == expected
    assert max(referenced.values()) == 1, [u for u, n in referenced.items() if n > 1]

    rows = await asyncio.to_thread(orthanc_instances, pacs, study.study_uid)
    assert len(rows) == INSTANCES
    assert {r["00080018"]["Value"][0] for r in rows} == expected
    assert await orthanc_count(pacs) == INSTANCES, "no duplicates on the PACS"
    print(
        f"killed with {held}/{INSTANCES} on Orthanc ({after_kill} once reaped); forwarded "
        f"{resumed_in:.1f} s after the restart; {time.monotonic() - started:.1f} s in all"
    )


# --- two processes on one PostgreSQL outbox ----------------------------------------------

UPLOADS = 20
WORKERS_PER_PROCESS = 2
SENDERS = ("a", "b")


async def wait_for_held(
    recorder: StowRecorder, count: int, servers: dict[str, LiveServer]
) -> Counter[str]:
    """Wait until `count` STOW requests are held at the closed gate; who sent them."""
    deadline = time.monotonic() + 20
    while len(recorder.waiting()) < count:
        assert time.monotonic() < deadline, f"workers holding a job: {recorder.waiting()}\n" + (
            "\n".join(s.log_tail() for s in servers.values())
        )
        await asyncio.sleep(0.05)
    held = recorder.waiting()
    studies = Counter(r.study_uid for r in held)
    assert max(studies.values()) == 1, f"one study held by two workers: {held}"
    return Counter(r.sender for r in held)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_gateway_processes_on_postgresql_never_send_the_same_job_twice(
    database_url: str, tmp_path: Path
) -> None:
    studies = [
        write_study(
            tmp_path / f"study-{n}",
            count=2 + n % 2,
            pixel_bytes=4 * 1024,
            patient_name=f"TWO^PROCESSES{n}",
        )
        for n in range(UPLOADS)
    ]
    data_dir = tmp_path / "data"  # shared: a job may be sent by either process
    recorder = StowRecorder()
    # Closed gate: each worker holds the job it is sending until every upload is queued,
    # so all jobs are due at once when it opens and the four workers race for them.
    recorder.gate.clear()
    servers = {
        sender: LiveServer(
            server_env(
                database_url,
                data_dir,
                FORWARD_WORKERS=str(WORKERS_PER_PROCESS),
                **FAST_FORWARDING,
                **orthanc_env(
                    recorder.base_url(sender), "relay", "relay-secret", timeout_seconds="120"
                ),
            ),
            tmp_path / f"server-{sender}",
        )
        for sender in SENDERS
    }
    semaphore = asyncio.Semaphore(4)

    async def upload(n: int, sender: str, bearer: dict[str, str]) -> str:
        async with (
            semaphore,
            httpx.AsyncClient(base_url=servers[sender].base_url, timeout=REQUEST_TIMEOUT) as client,
        ):
            done = await upload_study(
                client,
                bearer,
                studies[n].paths,
                force_upload=True,
                patient_name=f"Two^Processes{n}",
            )
        assert done["state"] == "queued", done
        return str(done["upload_id"])

    started = time.monotonic()
    with recorder:
        try:
            await asyncio.gather(
                commands.create_admin(
                    make_settings(database_url, data_dir),
                    email="forward-admin@example.org",
                    username=ADMIN,
                    password=PASSWORD,
                    full_name="Forward Test",
                    facility="General Hospital",
                ),
                servers["a"].start_and_wait(),
            )
            bearer = await login(servers["a"])
            upload_ids = [await upload(n, "a", bearer) for n in range(WORKERS_PER_PROCESS + 1)]
            assert await wait_for_held(recorder, WORKERS_PER_PROCESS, servers) == {"a": 2}
            # B starts while A's workers are busy with their jobs: B must leave them alone
            # (start-up recovery of orphaned jobs included).
            await servers["b"].start_and_wait()
            ready = time.monotonic()
            upload_ids += await asyncio.gather(
                *(
                    upload(n, SENDERS[n % 2], bearer)
                    for n in range(WORKERS_PER_PROCESS + 1, UPLOADS)
                )
            )
            held = await wait_for_held(recorder, len(SENDERS) * WORKERS_PER_PROCESS, servers)
            assert held == dict.fromkeys(SENDERS, WORKERS_PER_PROCESS), held
            recorder.gate.set()
            released = time.monotonic()

            details = []
            for upload_id in upload_ids:
                detail = await wait_until_settled(servers["b"], bearer, upload_id, 60)
                assert detail is not None, await describe_jobs(database_url, data_dir)
                details.append(detail)
            forwarded = time.monotonic()
        finally:
            await asyncio.gather(*(asyncio.to_thread(s.close) for s in servers.values()))

    assert recorder.errors == []
    requests = recorder.snapshot()
    sent = Counter(uid for r in requests for uid in r.sop_instance_uids)
    twice = {uid: n for uid, n in sent.items() if n > 1}
    assert not twice, f"instances sent more than once: {twice}"
    assert set(sent) == set().union(*(sop_uids(s) for s in studies))
    per_study = Counter(r.study_uid for r in requests)
    assert per_study == dict.fromkeys((s.study_uid for s in studies), 1)
    by_sender = Counter(r.sender for r in requests)
    assert all(by_sender[s] >= WORKERS_PER_PROCESS for s in SENDERS), by_sender

    for detail in details:
        assert detail["state"] == "forwarded", detail["forwarding"]
        [job] = detail["forwarding"]
        assert job["state"] == "delivered" and job["attempts"] == 1, job
        assert len(job["receipts"]) == 1, job["receipts"]
    print(
        f"{len(requests)} STOW requests ({dict(by_sender)}), {len(sent)} instances, none twice;"
        f" start {ready - started:.1f} s, uploads {released - ready:.1f} s,"
        f" forwarding {forwarded - released:.1f} s"
    )
