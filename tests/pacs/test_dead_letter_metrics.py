"""The dead-letter gauge: a job given up shows as 1 for its destination until an admin
retries it, and every destination's forwarding series exist at 0 from the start (so
Prometheus's increase() sees a first dead letter)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from relaypacs.core import metrics
from relaypacs.core.permissions import Role
from tests.factories import auth_headers
from tests.pacs.test_outbox import ScriptedPacs, _job, _queued, _run_once, refuse_first


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "pacs_orthanc": {"url": "http://pacs.test/dicom-web", "auth": "none"},
        "forward_backoff_base_seconds": 0.01,
        "forward_backoff_max_seconds": 0.02,
    }


def dead_letters(destination: str) -> float:
    return metrics.PACS_DEAD_LETTERS.labels(destination)._value.get()


async def test_a_dead_lettered_job_is_counted_until_it_is_retried(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    text = (await client.get("/metrics")).text
    for destination in ("orthanc", "dcm4chee"):
        assert f'relaypacs_pacs_dead_letters{{destination="{destination}"}} 0.0' in text
        for outcome in metrics.FORWARD_OUTCOMES:
            series = (
                f'relaypacs_forward_jobs_total{{destination="{destination}",outcome="{outcome}"}}'
            )
            assert series in text

    pacs = ScriptedPacs([refuse_first(0xC000)])
    await _queued(app, client, tmp_path, pacs)
    await _run_once(app)
    job = await _job(app)
    assert job.state.value == "dead"
    await app.state.forwarder._update_queue_gauge()  # what an idle worker does every poll
    assert dead_letters("orthanc") == 1
    assert dead_letters("dcm4chee") == 0

    admin = await auth_headers(app, client, role=Role.admin)
    retried = await client.post(f"/api/pacs/jobs/{job.id}/retry", headers=admin)
    assert retried.status_code == 200
    await app.state.forwarder._update_queue_gauge()
    assert dead_letters("orthanc") == 0
