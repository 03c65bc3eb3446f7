"""ACTIVE_PACS=both, one of the two PACS stalled (a black hole that keeps its connections)
or crawling at 256 kB/s: the other destination still gets every study at once. The
forward workers are shared by the destinations, so without a bound on how many one
destination may hold, a stuck PACS would take them all."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.client import Client
from tests.cluster.faultproxy import FaultProxy
from tests.cluster.stack import orthanc_sha256s, sign_in
from tests.cluster.test_replica_faults import _init
from tests.cluster.test_scale_out import source_sha256s, study_of
from tests.conftest import fresh_database_url
from tests.live_server import LiveServer, server_env
from tests.pacs.test_processes import FAST_FORWARDING, create_admin_with_cli, orthanc_env
from tests.servers import LOOPBACK, OrthancServer

pytestmark = pytest.mark.slow

STUDIES = 4  # more than the two forward workers


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database_url(request, "postgresql", tmp_path)


# The stall is the harder case (a stuck PACS holds its worker for as long as it likes, a
# slow one only for a while); FAULTS=stall,throttle runs both.
@pytest.mark.parametrize("fault", os.environ.get("FAULTS", "stall").split(","))
async def test_a_stuck_pacs_does_not_hold_up_the_other_destination(
    postgres_url: str,
    orthanc: OrthancServer,
    orthanc_b: OrthancServer,
    tmp_path: Path,
    fault: str,
) -> None:
    for pacs in (orthanc, orthanc_b):
        if not pacs.running:
            pacs.start()
    with FaultProxy(LOOPBACK, int(orthanc.http_url.rsplit(":", 1)[1])) as slow:
        env = server_env(
            postgres_url,
            tmp_path / "data",
            FORWARD_WORKERS="2",
            PACS_HEALTH_PROBE_SECONDS="1",
            **(FAST_FORWARDING | {"ACTIVE_PACS": "both"}),
            **orthanc_env(f"{slow.url}/dicom-web", orthanc.username, orthanc.password),
            PACS_DCM4CHEE__URL=orthanc_b.dicomweb_url,
            PACS_DCM4CHEE__AUTH="basic",
            PACS_DCM4CHEE__USERNAME=orthanc_b.username,
            PACS_DCM4CHEE__PASSWORD=orthanc_b.password,
        )
        create_admin_with_cli(env, tmp_path / "cli")
        with LiveServer(env, tmp_path / "gateway") as gateway:
            await gateway.start_and_wait()
            bearer = await sign_in(gateway.base_url)
            if fault == "stall":
                slow.stall()
            else:
                slow.throttle(256_000)
            studies = [study_of(tmp_path, f"{fault}-{n}", count=3) for n in range(STUDIES)]
            client = Client(gateway.base_url, bearer)
            sent_at = time.monotonic()
            accepted = await asyncio.gather(
                *(
                    client.upload(s.paths, **_init(s, f"Slowwell^{fault}{n}"))
                    for n, s in enumerate(studies)
                )
            )
            for study in studies:  # the healthy PACS: every study, soon
                deadline = time.monotonic() + 30
                while orthanc_sha256s(orthanc_b, study.study_uid) != source_sha256s(study):
                    assert time.monotonic() < deadline, (
                        f"the healthy PACS waited on the {fault}ed one "
                        f"({time.monotonic() - sent_at:.0f} s)"
                    )
                    await asyncio.sleep(0.2)
            slow.passthrough()
            for study, done in zip(studies, accepted, strict=True):
                detail = await client.wait_settled(done["upload_id"], timeout=90)
                assert detail["state"] == "forwarded", detail
                assert orthanc_sha256s(orthanc, study.study_uid) == source_sha256s(study)
