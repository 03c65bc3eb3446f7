"""Events across replicas, and bad networks on both sides of the gateway.

- SSE: a stream on one replica gets what uploads through the others cause, and resumes
  exactly (Last-Event-ID, through the balancer) after its replica is SIGKILLed.
- The PACS behind a fault proxy that resets mid-body, stalls, throttles to 256 kB/s and
  flaps: every study is delivered once it recovers, byte-identical.
- A client behind a fault proxy to the balancer (resets mid-chunk, stalls, 256 kB/s):
  uploads finish, and a chunk whose body was cut is never acknowledged.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from relaypacs.core.database import Database
from relaypacs.pacs.models import ForwardJob, JobState
from tests.cluster.client import Client, Observed
from tests.cluster.stack import Cluster, orthanc_sha256s, sign_in
from tests.cluster.test_replica_faults import _init
from tests.cluster.test_scale_out import CHUNK, source_sha256s, study_of
from tests.conftest import make_settings
from tests.notifications.sse_client import STREAM_PATH, SseEvent, SseStream, open_stream
from tests.notifications.test_stream import connected
from tests.upload_client import chunk_of, content_md5, init_body

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="package")]


async def _ticket(base_url: str, bearer: dict[str, str]) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=15) as client:
        response = await Client(base_url, bearer).request(
            client, "POST", "/api/notifications/stream-ticket", ok={201}, headers=bearer
        )
    assert response.status_code == 201, response.text
    ticket: str = response.json()["ticket"]
    return ticket


async def _event_for(stream: SseStream, upload_id: str, timeout: float = 30) -> SseEvent:
    """The next event about `upload_id` (others, e.g. of earlier tests' uploads, skipped)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        event = await stream.next_event(max(0.1, left))
        if event.event != "ready" and upload_id in event.data:
            return event


async def test_sse_gets_events_from_other_replicas_and_resumes_exactly_after_a_kill(
    whole: Cluster, tmp_path: Path
) -> None:
    cluster = whole
    bearer = await sign_in(cluster.url)
    watched, others = cluster.replicas[0], cluster.replicas[1:]
    first = study_of(tmp_path, "sse-1", count=2)
    second = study_of(tmp_path, "sse-2", count=2)

    async with httpx.AsyncClient(
        base_url=watched.base_url, timeout=httpx.Timeout(10, read=60)
    ) as direct:
        ticket = await _ticket(others[0].base_url, bearer)  # tickets are shared (Redis)
        async with open_stream(direct, STREAM_PATH, params={"ticket": ticket}) as stream:
            await connected(stream)
            done = await Client(others[1].base_url, bearer).upload(
                first.paths, **_init(first, "Streamwell^One")
            )
            seen = await _event_for(stream, done["upload_id"])
            assert seen.id is not None
            await stream.quiet_for(2.0)  # the rest of that upload's events, if any
            resume_from = stream.last_event_id
            assert resume_from is not None
            cluster.kill(0)  # the stream's replica dies under it

    # Caused while the client has no stream at all.
    missed = await Client(cluster.url, bearer).upload(
        second.paths, **_init(second, "Streamwell^Two")
    )
    await Client(cluster.url, bearer).wait_settled(missed["upload_id"])

    async with httpx.AsyncClient(
        base_url=cluster.url, timeout=httpx.Timeout(10, read=60)
    ) as balanced:
        ticket = await _ticket(cluster.url, bearer)
        async with open_stream(
            balanced, STREAM_PATH, params={"ticket": ticket}, last_event_id=resume_from
        ) as resumed:
            # What happened while it was gone is replayed first, from just after the resume
            # point: ids ascending, none at or before it, the first upload's not again.
            replayed: list[SseEvent] = []
            while not any(missed["upload_id"] in e.data for e in replayed):
                replayed.append(await resumed.next_event(30))
            replayed += await resumed.quiet_for(1.0)
            ids = [int(e.id) for e in replayed if e.id is not None]
            assert ids and ids == sorted(set(ids)) and ids[0] > int(resume_from), ids
            assert done["upload_id"] not in json.dumps([e.data for e in replayed])


async def test_a_faulty_pacs_gets_every_study_once_it_recovers(
    whole: Cluster, tmp_path: Path
) -> None:
    cluster = whole
    proxy = cluster.pacs_proxy
    assert proxy is not None
    bearer = await sign_in(cluster.url)
    faults = {
        "reset": lambda: proxy.reset_after(200_000),  # every STOW cut mid-body
        "stall": proxy.stall,
        "slow": lambda: proxy.throttle(256_000),
        "flap": lambda: proxy.flap(1.0, 1.5),
    }
    studies = {name: study_of(tmp_path, f"pacs-{name}", count=2) for name in faults}
    accepted: dict[str, dict[str, Any]] = {}
    for name, fault in faults.items():
        fault()
        accepted[name] = await Client(cluster.url, bearer).upload(
            studies[name].paths, **_init(studies[name], f"Faultwell^{name.title()}")
        )
        await asyncio.sleep(3)  # the forwarders meet the fault
        if name != "slow":  # a slow PACS still gets the study; the others must recover first
            proxy.passthrough()
    proxy.passthrough()
    for name, study in studies.items():
        detail = await Client(cluster.url, bearer).wait_settled(accepted[name]["upload_id"])
        assert detail["state"] == "forwarded", (name, detail)
        assert orthanc_sha256s(cluster.orthanc, study.study_uid) == source_sha256s(study), name
        assert await _delivered_jobs(cluster, accepted[name]["upload_id"]) == 1, name


async def test_a_client_on_a_bad_network_finishes_and_a_cut_chunk_is_never_acknowledged(
    whole: Cluster, tmp_path: Path
) -> None:
    cluster = whole
    proxy = cluster.client_proxy
    assert proxy is not None
    bearer = await sign_in(cluster.url)
    study = study_of(tmp_path, "client-net", count=3)
    async with httpx.AsyncClient(base_url=cluster.faulty_url, timeout=10) as api:
        created = (
            await api.post(
                "/api/upload/init",
                json=init_body(study.paths, **_init(study, "Netwell^Client")),
                headers=bearer,
            )
        ).json()
        upload_id = created["upload_id"]
        data = chunk_of(study.paths[0], 0, CHUNK)
        proxy.reset_after(100_000)  # the connection dies 100 kB into the chunk
        with pytest.raises(httpx.TransportError):
            await api.put(
                f"/api/upload/{upload_id}/chunk",
                params={"file": 0, "index": 0},
                content=data,
                headers=bearer | {"Content-MD5": content_md5(data)},
            )
        proxy.passthrough()
    async with httpx.AsyncClient(base_url=cluster.url, timeout=10) as api:
        status = (await api.get(f"/api/upload/{upload_id}/status", headers=bearer)).json()
    assert 0 in status["files"][0]["missing"], "a half-received chunk was acknowledged"

    # The rest over a link that stalls for a moment, then runs at 256 kB/s.
    observed = Observed()
    client = Client(cluster.faulty_url, bearer, observed=observed, timeout=20)
    proxy.stall()
    asyncio.get_running_loop().call_later(1.5, proxy.throttle, 256_000)
    async with httpx.AsyncClient(base_url=cluster.faulty_url, timeout=20) as api:
        await client.send_chunks(api, created, study.paths, concurrency=2)
        done = await client.complete(api, upload_id)
    proxy.passthrough()
    assert done["instances"] == len(study.paths)
    detail = await Client(cluster.url, bearer).wait_settled(upload_id)
    assert detail["state"] == "forwarded"
    assert orthanc_sha256s(cluster.orthanc, study.study_uid) == source_sha256s(study)
    assert observed.unexpected == []


async def _delivered_jobs(cluster: Cluster, upload_id: str) -> int:
    database = Database(make_settings(cluster.database_url, cluster.base / "probe"))
    try:
        async with database.sessionmaker() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(ForwardJob)
                .where(ForwardJob.upload_id == upload_id, ForwardJob.state == JobState.delivered)
            )
    finally:
        await database.dispose()
    return int(count or 0)
