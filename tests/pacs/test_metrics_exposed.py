"""/metrics after a real upload and a real forward to Orthanc: every upload, chunk, forward,
PACS, queue and SSE series is there with its labels, and no patient data is. The stats
count the delivery in the very next response (the forwarder moves the generation on)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from relaypacs.core.permissions import Role
from tests.dicom_factory import write_study
from tests.factories import auth_headers
from tests.pacs.conftest import FAST_RETRIES, destination, wait_for_state
from tests.servers import OrthancServer
from tests.upload_client import chunk_of, init_body, put_chunk, upload_study

pytestmark = pytest.mark.slow

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
PATIENT = "Metricsonly^Patricia"


@pytest.fixture
def pacs_a(orthanc: OrthancServer) -> Iterator[OrthancServer]:
    if not orthanc.running:
        orthanc.start()
    orthanc.clear()
    yield orthanc


@pytest.fixture
def settings_overrides(pacs_a: OrthancServer) -> dict[str, Any]:
    return FAST_RETRIES | {"pacs_orthanc": destination(pacs_a), "stats_cache_seconds": 600}


async def scrape(client: httpx.AsyncClient) -> tuple[str, Samples]:
    text = (await client.get("/metrics")).text
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_expose_every_series_after_an_upload_and_a_forward(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    headers = await auth_headers(app, client, role=Role.admin)
    before_stats = (await client.get("/api/upload/stats", headers=headers)).json()  # cached
    assert before_stats["by_outcome"]["forwarded"] == 0
    _, before = await scrape(client)

    study = write_study(tmp_path / "study", count=3, pixel_bytes=16 * 1024)
    # One chunk refused (bad checksum) before the real upload.
    init = await client.post(
        "/api/upload/init",
        json=init_body(study.paths, patient_name=PATIENT, force_upload=True),
        headers=headers,
    )
    created = init.json()
    data = chunk_of(study.paths[0], 0, created["chunk_size"])
    bad = await put_chunk(client, created["upload_id"], 0, 0, data, headers, md5="A" * 22 + "==")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "checksum_mismatch"
    done = await upload_study(
        client, headers, study.paths, patient_name=PATIENT, service_level="STAT", force_upload=True
    )
    detail = await wait_for_state(client, headers, done["upload_id"], {"forwarded", "failed"})
    assert detail["state"] == "forwarded"
    stats = (await client.get("/api/upload/stats", headers=headers)).json()
    assert stats["by_outcome"]["forwarded"] == 1
    assert stats["avg_delivery_seconds"] is not None

    deadline = time.monotonic() + 20
    while True:  # the idle forwarder refreshes the queue gauges
        text, after = await scrape(client)
        if (
            "relaypacs_pacs_queue_depth",
            frozenset({("destination", "orthanc")}),
        ) in after and value(after, "relaypacs_pacs_queue_depth", destination="orthanc") == 0:
            break
        assert time.monotonic() < deadline, "queue gauges never refreshed"
        await asyncio.sleep(0.2)

    def grew(name: str, by: float = 1, **labels: str) -> bool:
        return value(after, name, **labels) - value(before, name, **labels) >= by

    size = sum(p.stat().st_size for p in study.paths)
    assert grew("relaypacs_uploads_started_total", service_level="ROUTINE")
    assert grew("relaypacs_uploads_started_total", service_level="STAT")
    assert grew("relaypacs_uploads_completed_total", outcome="queued", service_level="STAT")
    assert grew("relaypacs_uploads_finished_total", outcome="forwarded", service_level="STAT")
    assert grew("relaypacs_upload_bytes_total", size)
    assert grew("relaypacs_upload_chunks_total", len(study.paths), outcome="stored")
    assert grew("relaypacs_upload_chunks_rejected_total", reason="checksum_mismatch")
    assert grew("relaypacs_forward_jobs_total", destination="orthanc", outcome="delivered")
    assert value(after, "relaypacs_pacs_up", destination="orthanc") == 1
    assert (
        "relaypacs_pacs_queue_oldest_age_seconds",
        frozenset({("destination", "orthanc")}),
    ) in after
    assert value(after, "relaypacs_pacs_queue_oldest_age_seconds", destination="orthanc") == 0
    assert ("relaypacs_sse_connections", frozenset()) in after
    assert "Metricsonly" not in text and "Patricia" not in text
