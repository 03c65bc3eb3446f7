"""The completion's question to the PACS (`PacsStudyIndex.holders`) never fails the upload:
a destination that errors, times out or was just found down is "unanswered" (the forwarder
asks again before sending), and the others' answers still count. Fake PACS here; the real
one is in tests/reports/test_sync_integrity.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

from relaypacs.core.database import utcnow
from relaypacs.pacs import conflicts
from relaypacs.pacs.config import PacsSettings
from relaypacs.pacs.dicomweb import DicomWeb
from relaypacs.pacs.health import DestinationHealth

STUDY = "1.2.826.0.1.3680043.8.498.1"


def _client(name: str, answer: Callable[[httpx.Request], httpx.Response], seen: list[str]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(name)
        return answer(request)

    client = DicomWeb(name, PacsSettings().destinations[name])
    client.client = httpx.AsyncClient(
        base_url="http://pacs.test", transport=httpx.MockTransport(handler)
    )
    return client


def _held_by(*patient_ids: str) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.params["StudyInstanceUID"] == STUDY
        rows = [
            {"0020000D": {"vr": "UI", "Value": [STUDY]}, "00100020": {"vr": "LO", "Value": [p]}}
            for p in patient_ids
        ]
        return httpx.Response(200, json=rows)

    return answer


@pytest.fixture
def settings() -> PacsSettings:
    return PacsSettings(active_pacs="both", environment="test", secret_key="x" * 40)


async def test_an_erroring_or_known_down_pacs_is_unanswered_and_the_other_still_counts(
    settings: PacsSettings,
) -> None:
    seen: list[str] = []
    health = {name: DestinationHealth() for name in settings.destinations}
    clients = {
        "orthanc": _client("orthanc", _held_by("PID-OTHER"), seen),
        "dcm4chee": _client("dcm4chee", lambda _: httpx.Response(500), seen),
    }
    index = conflicts.PacsStudyIndex(settings=settings, clients=clients, health=health)

    found = await index.holders(STUDY)

    assert found.patient_ids == {"PID-OTHER"}
    assert found.unanswered == ("dcm4chee",)

    health["orthanc"] = DestinationHealth(up=False, since=utcnow(), last_checked=utcnow())
    seen.clear()

    found = await index.holders(STUDY)

    assert found.patient_ids == frozenset() and set(found.unanswered) == {"orthanc", "dcm4chee"}
    assert seen == ["dcm4chee"]  # a PACS found down a moment ago is not asked again
    for client in clients.values():
        await client.close()


async def test_a_pacs_that_does_not_answer_in_time_is_unanswered(
    settings: PacsSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conflicts, "COMPLETION_TIMEOUT", 0.2)

    async def slow(_request: httpx.Request) -> httpx.Response:
        await anyio.sleep(5)
        return httpx.Response(200, json=[])

    client = DicomWeb("orthanc", settings.destinations["orthanc"])
    client.client = httpx.AsyncClient(
        base_url="http://pacs.test", transport=httpx.MockTransport(slow)
    )
    index = conflicts.PacsStudyIndex(
        settings=PacsSettings(environment="test", secret_key="x" * 40),
        clients={"orthanc": client},
        health={},
    )
    try:
        found = await index.holders(STUDY)
    finally:
        await client.close()
    assert found.patient_ids == frozenset() and found.unanswered == ("orthanc",)
