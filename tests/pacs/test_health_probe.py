"""Idle health probes: a forwarding process keeps `relaypacs_pacs_up` current for its
active and fallback destinations without anything to send, so PacsDown can fire on an
idle gateway; destinations not in use are not probed."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import httpx

from relaypacs.core import metrics
from relaypacs.pacs.clients import dicomweb_clients
from relaypacs.pacs.health import HealthMonitor
from tests.conftest import make_settings


def pacs_up(destination: str) -> float:
    return metrics.PACS_UP.labels(destination)._value.get()


async def wait_until(destination: str, value: float, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while pacs_up(destination) != value:
        assert time.monotonic() < deadline, f"{destination} up is not {value}"
        await asyncio.sleep(0.05)


async def test_the_watched_destinations_are_probed_while_nothing_is_sent(tmp_path: Path) -> None:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
        tmp_path,
        active_pacs="orthanc",
        pacs_orthanc={"url": "http://pacs.test/dicom-web", "auth": "none"},
        pacs_dcm4chee={"url": "http://other.test/dicom-web", "auth": "none"},
    )
    assert settings.watched_destinations == ["orthanc"]
    answering = True
    probed: list[str] = []

    def pacs(request: httpx.Request) -> httpx.Response:
        probed.append(request.url.host)
        return httpx.Response(200 if answering else 503, json=[])

    clients = dicomweb_clients(settings)
    for client in clients.values():
        client.client = httpx.AsyncClient(
            base_url=str(client.client.base_url), transport=httpx.MockTransport(pacs)
        )
    monitor = HealthMonitor(settings, clients)
    task = asyncio.create_task(monitor.probe_forever(settings.watched_destinations, 0.1))
    try:
        await wait_until("orthanc", 1)
        answering = False
        await wait_until("orthanc", 0)
        answering = True
        await wait_until("orthanc", 1)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for client in clients.values():
            await client.client.aclose()
    assert set(probed) == {"pacs.test"}, "only the destination in use is probed"
