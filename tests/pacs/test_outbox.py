"""The outbox's decisions, driven through the real worker against a scripted PACS
(httpx.MockTransport standing in for the DICOMweb server)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pydicom
import pytest
from fastapi import FastAPI
from pydicom.filebase import DicomBytesIO
from sqlalchemy import select

from relaypacs.core.permissions import Role
from relaypacs.pacs import outbox
from relaypacs.pacs.models import ForwardJob
from tests.dicom_factory import write_study
from tests.factories import auth_headers
from tests.upload_client import upload_study

Reply = Callable[[list[str]], httpx.Response]


class ScriptedPacs:
    """Answers health checks and verification; STOW answers come from `replies` in turn."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = replies
        self.stored: set[str] = set()
        self.posted: list[list[str]] = []
        self.lose_once: set[str] = set()  # acknowledged, but not kept (a PACS bug)
        self.foreign = 0  # instances of the study the PACS holds from elsewhere
        self.queries: list[str] = []  # QIDO-RS requests, by path

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET":
            self.queries.append(path.rsplit("/", 1)[-1])
        if request.method == "GET" and path.endswith("/studies"):
            uid = request.url.params.get("StudyInstanceUID")
            if request.url.params.get("includefield") != "00201208" or not self.stored:
                return httpx.Response(200, json=[])
            count = len(self.stored) + self.foreign
            row = {
                "0020000D": {"vr": "UI", "Value": [uid]},
                "00201208": {"vr": "IS", "Value": [count]},
            }
            return httpx.Response(200, json=[row])
        if request.method == "GET" and path.endswith("/instances"):
            return httpx.Response(
                200, json=[{"00080018": {"vr": "UI", "Value": [u]}} for u in sorted(self.stored)]
            )
        uids = _sop_uids(request)
        self.posted.append(uids)
        reply = self.replies.pop(0) if self.replies else ok
        response = reply(uids)
        body = response.json() if response.content else {}
        for item in (body.get("00081199") or {}).get("Value", []):
            uid = item["00081155"]["Value"][0]
            if uid in self.lose_once:
                self.lose_once.discard(uid)
            else:
                self.stored.add(uid)
        return response


def _sop_uids(request: httpx.Request) -> list[str]:
    boundary = re.search(r"boundary=([^;]+)", request.headers["content-type"]).group(1)  # type: ignore[union-attr]
    parts = request.read().split(f"--{boundary}".encode())[1:-1]
    uids = []
    for part in parts:
        payload = part.split(b"\r\n\r\n", 1)[1][:-2]
        uids.append(
            str(pydicom.dcmread(DicomBytesIO(payload), stop_before_pixels=True).SOPInstanceUID)
        )
    return uids


def _referenced(uids: list[str]) -> dict[str, Any]:
    return {
        "00081199": {"vr": "SQ", "Value": [{"00081155": {"vr": "UI", "Value": [u]}} for u in uids]}
    }


def ok(uids: list[str]) -> httpx.Response:
    return httpx.Response(200, json=_referenced(uids))


def refuse_first(reason: int) -> Reply:
    def reply(uids: list[str]) -> httpx.Response:
        body = _referenced(uids[1:]) | {
            "00081198": {
                "vr": "SQ",
                "Value": [
                    {
                        "00081155": {"vr": "UI", "Value": [uids[0]]},
                        "00081197": {"vr": "US", "Value": [reason]},
                    }
                ],
            }
        }
        return httpx.Response(202, json=body)

    return reply


def unavailable(retry_after: str) -> Reply:
    return lambda uids: httpx.Response(503, headers={"Retry-After": retry_after})


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "pacs_orthanc": {
            "url": "http://pacs.test/dicom-web",
            "auth": "none",
            "batch_max_instances": 10,
        },
        "forward_backoff_base_seconds": 0.01,
        "forward_backoff_max_seconds": 0.02,
    }


async def _queued(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path, pacs: ScriptedPacs, count: int = 3
) -> tuple[str, dict[str, str], list[str]]:
    forwarder = app.state.forwarder
    forwarder.clients["orthanc"].client = httpx.AsyncClient(
        base_url="http://pacs.test/dicom-web", transport=httpx.MockTransport(pacs)
    )
    headers = await auth_headers(app, client)
    study = write_study(tmp_path / uuid.uuid4().hex, count=count)
    done = await upload_study(client, headers, study.paths)
    uids = [str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in study.paths]
    return done["upload_id"], headers, uids


async def _run_once(app: FastAPI) -> bool:
    """Claim and process one due job, as a worker would; False when none is due."""
    from sqlalchemy import update

    from relaypacs.core.database import utcnow

    async with app.state.database.sessionmaker() as session:  # make waiting jobs due now
        await session.execute(update(ForwardJob).values(next_attempt_at=utcnow()))
        await session.commit()
    job_id = await outbox.claim(app.state.database, holder=app.state.forwarder.holder)
    if job_id is None:
        return False
    await app.state.forwarder.process(job_id)
    return True


async def _job(app: FastAPI) -> ForwardJob:
    async with app.state.database.sessionmaker() as session:
        return (await session.scalars(select(ForwardJob))).one()


async def test_a_partial_answer_resends_only_the_retryable_failures(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    pacs = ScriptedPacs([refuse_first(0xA700)])
    upload_id, headers, uids = await _queued(app, client, tmp_path, pacs)
    await _run_once(app)
    assert (await _job(app)).state.value == "pending"
    await _run_once(app)
    assert pacs.posted == [uids, [uids[0]]]
    detail = (await client.get(f"/api/upload/{upload_id}", headers=headers)).json()
    assert detail["state"] == "forwarded"
    receipts = detail["forwarding"][0]["receipts"]
    assert [r["outcome"] for r in receipts] == ["partial", "stored"]
    assert receipts[0]["failed"] == [
        {"sop_instance_uid": uids[0], "reason": "A700", "retryable": True}
    ]


async def test_a_non_retryable_refusal_dead_letters_and_tells_the_uploader(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    pacs = ScriptedPacs([refuse_first(0xC000)])
    upload_id, headers, uids = await _queued(app, client, tmp_path, pacs)
    await _run_once(app)
    job = await _job(app)
    assert job.state.value == "dead" and "C000" in (job.last_error or "")
    detail = (await client.get(f"/api/upload/{upload_id}", headers=headers)).json()
    assert detail["state"] == "failed"
    told = (await client.get("/api/notifications", headers=headers)).json()["items"]
    assert [n["type"] for n in told] == ["upload_failed"]
    assert told[0]["upload_id"] == upload_id
    assert await _run_once(app) is False, "a dead job is not retried by itself"

    # An admin retries it: the refused instance goes again, nothing else.
    admin = await auth_headers(app, client, role=Role.admin)
    clinician_retry = await client.post(f"/api/pacs/jobs/{job.id}/retry", headers=headers)
    assert clinician_retry.status_code == 403
    retried = await client.post(f"/api/pacs/jobs/{job.id}/retry", headers=admin)
    assert retried.status_code == 200 and retried.json()["state"] == "pending"
    again = await client.post(f"/api/pacs/jobs/{job.id}/retry", headers=admin)
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_not_retryable"
    await _run_once(app)
    assert pacs.posted[-1] == [uids[0]]
    detail = (await client.get(f"/api/upload/{upload_id}", headers=headers)).json()
    assert detail["state"] == "forwarded"
    unknown = await client.post(f"/api/pacs/jobs/{uuid.uuid4()}/retry", headers=admin)
    assert unknown.status_code == 404


async def test_the_dead_letter_list_shows_why_a_job_gave_up_and_forgets_it_once_retried(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    pacs = ScriptedPacs([refuse_first(0xC000)])
    upload_id, headers, _ = await _queued(app, client, tmp_path, pacs)
    admin = await auth_headers(app, client, role=Role.admin)
    empty = (await client.get("/api/pacs/dead-letters", headers=admin)).json()
    assert empty["total"] == 0 and empty["items"] == []
    await _run_once(app)
    job = await _job(app)

    assert (await client.get("/api/pacs/dead-letters", headers=headers)).status_code == 403
    page = (await client.get("/api/pacs/dead-letters?page_size=10", headers=admin)).json()
    assert page["total"] == 1 and page["page_size"] == 10
    [item] = page["items"]
    assert item["id"] == str(job.id) and item["upload_id"] == upload_id
    assert item["destination"] == "orthanc" and item["instances_failed"] == 1
    assert "C000" in item["last_error"]
    assert not {"patient_name", "patient_id"} & item.keys()
    other = await client.get("/api/pacs/dead-letters?destination=dcm4chee", headers=admin)
    assert other.json()["total"] == 0
    bad = await client.get("/api/pacs/dead-letters?page_size=1000", headers=admin)
    assert bad.status_code == 422

    assert (await client.post(f"/api/pacs/jobs/{job.id}/retry", headers=admin)).status_code == 200
    after = (await client.get("/api/pacs/dead-letters", headers=admin)).json()
    assert after["total"] == 0


async def test_503_honours_retry_after_and_counts_the_attempt(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    from relaypacs.core.database import utcnow

    pacs = ScriptedPacs([unavailable("120")])
    await _queued(app, client, tmp_path, pacs)
    before = utcnow()
    await _run_once(app)
    job = await _job(app)
    assert job.state.value == "pending" and job.attempts == 1
    assert (job.next_attempt_at - before).total_seconds() >= 119
    assert job.last_error == "HTTP 503"


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {
            "pacs_orthanc": {"url": "http://pacs.test/dicom-web", "auth": "none"},
            "forward_max_attempts": 2,
            "forward_backoff_base_seconds": 0.01,
            "forward_backoff_max_seconds": 0.02,
        }
    ],
)
async def test_attempts_run_out_into_the_dead_letter_state(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path, settings_overrides: dict[str, Any]
) -> None:
    pacs = ScriptedPacs([unavailable("0"), unavailable("0"), unavailable("0")])
    await _queued(app, client, tmp_path, pacs)
    await _run_once(app)
    await _run_once(app)
    job = await _job(app)
    assert job.state.value == "dead" and job.attempts == 2
    assert "attempts exhausted" in (job.last_error or "")


async def test_verification_resends_what_the_pacs_does_not_hold(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    pacs = ScriptedPacs([])
    _, _, uids = await _queued(app, client, tmp_path, pacs)
    pacs.lose_once = {uids[-1]}
    await _run_once(app)  # all stored, it says; QIDO then finds one missing
    job = await _job(app)
    assert job.state.value == "pending" and "not found" in (job.last_error or "")
    await _run_once(app)
    assert pacs.posted[-1] == [uids[-1]]
    assert (await _job(app)).state.value == "delivered"
    # The first check found fewer than sent, so it looked the instances up; the second
    # found exactly as many as sent: one study-level query was enough.
    assert pacs.queries.count("instances") == 1


async def test_verification_by_count_alone_when_the_study_holds_exactly_what_was_sent(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    pacs = ScriptedPacs([])
    await _queued(app, client, tmp_path, pacs)
    await _run_once(app)
    assert (await _job(app)).state.value == "delivered"
    assert "instances" not in pacs.queries and "studies" in pacs.queries


async def test_a_study_with_instances_from_elsewhere_is_verified_instance_by_instance(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """The study holds instances from elsewhere, and one of ours was lost: the count is
    not the job's, so every instance is looked up and the lost one goes out again."""
    pacs = ScriptedPacs([])
    _, _, uids = await _queued(app, client, tmp_path, pacs)
    pacs.foreign = 2
    pacs.lose_once = {uids[0]}
    await _run_once(app)
    job = await _job(app)
    assert job.state.value == "pending" and "1 of" in (job.last_error or ""), job.last_error
    assert pacs.queries.count("instances") == 1
    await _run_once(app)
    assert pacs.posted[-1] == [uids[0]]
    assert (await _job(app)).state.value == "delivered"


def test_a_job_held_by_a_dead_process_of_this_host_is_recognised() -> None:
    import os

    from relaypacs.pacs.outbox import _holder_is_dead, holder_id

    me = holder_id()
    host, namespace, pid, _ = me.split(":")
    dead_pid = os.getpid() + 100_000
    assert _holder_is_dead(f"{host}:{namespace}:{dead_pid}:abcd1234", me) is True
    assert _holder_is_dead(f"{host}:{namespace}:{pid}:00000000", me) is True  # my earlier run
    assert _holder_is_dead(me, me) is False
    assert _holder_is_dead(f"{host}:{namespace}:1:abcd1234", me) is False  # alive
    # Same host name, other PID namespace (containers): only the lease can tell.
    assert _holder_is_dead(f"{host}:4026531999:{dead_pid}:abcd1234", me) is False
    assert _holder_is_dead(f"{host}:4026531999:{pid}:abcd1234", me) is False
    assert _holder_is_dead(f"other-host:{namespace}:{dead_pid}:abcd1234", me) is False


async def test_two_jobs_finishing_at_once_leave_the_upload_forwarded(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path, database_url: str
) -> None:
    """ACTIVE_PACS=both: the two destinations' jobs finish in overlapping transactions.
    Without a lock on the upload, each transaction saw the other job still sending and the
    upload stayed `forwarding` for ever (and never got its report)."""
    import asyncio

    from sqlalchemy import update

    from relaypacs.flows import delivery
    from relaypacs.pacs.handoff import JobChange
    from relaypacs.pacs.models import JobRole, JobState
    from relaypacs.uploads.models import Upload, UploadState

    pacs = ScriptedPacs([])
    upload_id, _, _ = await _queued(app, client, tmp_path, pacs)
    database = app.state.database
    async with database.sessionmaker() as session:
        first = await _job(app)
        second = await outbox.create_job(
            session,
            upload_id=first.upload_id,
            destination="dcm4chee",
            role=JobRole.primary,
            instance_ids=[],
        )
        await session.execute(update(ForwardJob).values(state=JobState.sending))
        await session.commit()
        second_id = second.id

    async def finish(job_id: uuid.UUID, hold: asyncio.Event | None) -> UploadState:
        async with database.sessionmaker() as session:
            await session.execute(
                update(ForwardJob).where(ForwardJob.id == job_id).values(state=JobState.delivered)
            )
            change = JobChange(
                job_id=job_id,
                upload_id=first.upload_id,
                destination="orthanc",
                state=JobState.delivered,
            )
            await delivery.job_changed(session, change)
            upload = await session.get(Upload, first.upload_id)
            assert upload is not None
            state = upload.state
            if hold is not None:
                await hold.wait()
            await session.commit()
            return state

    if database_url.startswith("sqlite"):
        # SQLite serialises writers (one forwarding worker there): run them one by one.
        await finish(first.id, None)
        assert await finish(second_id, None) is UploadState.forwarded
    else:
        release = asyncio.Event()
        a = asyncio.create_task(finish(first.id, release))
        await asyncio.sleep(0.3)  # a holds its transaction open after deriving the state
        b = asyncio.create_task(finish(second_id, None))
        await asyncio.sleep(0.3)
        release.set()
        states = await asyncio.gather(a, b)
        assert states[1] is UploadState.forwarded
    async with database.sessionmaker() as session:
        upload = await session.get(Upload, uuid.UUID(upload_id))
        assert upload is not None and upload.state is UploadState.forwarded


async def test_an_error_after_delivery_is_retried_as_an_attempt_then_dead_lettered(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """A bug in what follows a delivery (here: the hand-off upwards fails every time) must
    not keep the job claimed and re-sent at every lease expiry for ever."""
    from relaypacs.flows import delivery
    from relaypacs.pacs.handoff import JobChange
    from relaypacs.pacs.models import JobState

    async def failing(session: Any, change: JobChange) -> Any:
        if change.state is JobState.delivered:
            raise RuntimeError("hand-off broken")
        return await delivery.job_changed(session, change)

    app.state.forwarder.on_change = failing
    pacs = ScriptedPacs([])
    await _queued(app, client, tmp_path, pacs)
    limit = app.state.settings.forward_max_attempts
    runs = 0
    while await _run_once(app):
        runs += 1
        job = await _job(app)
        assert job.state in (JobState.pending, JobState.dead), job.state
        assert job.locked_by is None
        assert runs <= limit, "the job kept coming back"
    job = await _job(app)
    assert job.state is JobState.dead
    assert job.last_error == "internal error: RuntimeError"
    assert job.attempts >= limit


async def test_a_worker_that_lost_its_lease_cannot_overwrite_the_new_owners_job(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    from sqlalchemy import func, update

    from relaypacs.pacs.delivery import Attempt, Outcome
    from relaypacs.pacs.models import JobState
    from relaypacs.reports.models import Report

    pacs = ScriptedPacs([])
    upload_id, headers, _ = await _queued(app, client, tmp_path, pacs)
    forwarder = app.state.forwarder
    real_send = forwarder.sender.send

    async def send_then_lose_the_lease(*args: Any) -> Attempt:
        attempt = await real_send(*args)
        assert attempt.outcome is Outcome.delivered
        # Meanwhile this worker's lease ran out and another worker claimed the job.
        async with app.state.database.sessionmaker() as other:
            await other.execute(update(ForwardJob).values(locked_by="other-host:1:2:feedbeef"))
            await other.commit()
        return attempt

    forwarder.sender.send = send_then_lose_the_lease
    assert await _run_once(app)
    job = await _job(app)
    assert (job.state, job.locked_by) == (JobState.sending, "other-host:1:2:feedbeef")
    assert job.delivered_at is None
    async with app.state.database.sessionmaker() as session:
        reports = await session.scalar(select(func.count()).select_from(Report))
    assert reports == 0, "the new owner decides; the old one wrote nothing"
    detail = (await client.get(f"/api/upload/{upload_id}", headers=headers)).json()
    assert detail["state"] == "forwarding"


async def test_a_study_uid_that_is_a_path_is_refused_at_completion_and_never_sent(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """A StudyInstanceUID like `../../tools/shutdown` would have gone into the STOW URL."""
    from tests.upload_client import init_body, send_all

    pacs = ScriptedPacs([])
    seen: list[str] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return pacs(request)

    app.state.forwarder.clients["orthanc"].client = httpx.AsyncClient(
        base_url="http://pacs.test/dicom-web", transport=httpx.MockTransport(recording)
    )
    headers = await auth_headers(app, client)
    study = write_study(tmp_path / "evil", count=2, study_uid="../../tools/shutdown")
    init = await client.post("/api/upload/init", json=init_body(study.paths), headers=headers)
    assert init.status_code == 201, init.text
    await send_all(client, init.json(), study.paths, headers)
    upload_id = init.json()["upload_id"]

    done = await client.post(f"/api/upload/{upload_id}/complete", headers=headers)

    assert done.status_code == 422, done.text
    error = done.json()["error"]
    assert error["code"] == "invalid_dicom"
    assert {f["reason"] for f in error["files"]} == {
        "not a valid DICOM UID (digits and dots, no leading zeros, at most 64 characters): "
        "StudyInstanceUID"
    }
    assert await _run_once(app) is False, "nothing was queued"
    assert pacs.posted == [] and not any("tools" in path for path in seen)


async def test_readyz_does_not_probe_the_pacs_for_every_anonymous_caller(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    import asyncio

    probes: list[str] = []

    def pacs(request: httpx.Request) -> httpx.Response:
        probes.append(request.url.path)
        return httpx.Response(200, json=[])

    app.state.forwarder.clients["orthanc"].client = httpx.AsyncClient(
        base_url="http://pacs.test/dicom-web", transport=httpx.MockTransport(pacs)
    )
    answers = await asyncio.gather(*(client.get("/readyz") for _ in range(20)))
    assert all(a.json()["destinations"]["orthanc"]["ok"] for a in answers)
    assert probes == ["/dicom-web/studies"], "20 concurrent callers share one probe"
    for _ in range(5):
        assert (await client.get("/readyz")).status_code == 200
    assert len(probes) == 1, "a recent answer is reused"
