"""STOW-RS requests of one job overlap (PACS_<NAME>__STOW_IN_FLIGHT, default 2): the PACS
stores one batch while the next is read and sent. Answers are recorded in order; a batch
the PACS could not take stops new sends, but the requests already out keep their answers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.pacs.test_outbox import ScriptedPacs, _job, _queued, _run_once, ok, unavailable


class SlowPacs:
    """Holds every STOW 0.2 s and counts how many are open at once."""

    def __init__(self, inner: ScriptedPacs) -> None:
        self.inner = inner
        self.open = 0
        self.peak = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST":
            return self.inner(request)
        await request.aread()
        self.open += 1
        self.peak = max(self.peak, self.open)
        try:
            await asyncio.sleep(0.2)
            return self.inner(request)
        finally:
            self.open -= 1


def _settings(in_flight: int) -> dict[str, Any]:
    return {
        "pacs_orthanc": {
            "url": "http://pacs.test/dicom-web",
            "auth": "none",
            "batch_max_instances": 2,
            "stow_in_flight": in_flight,
        },
        "forward_backoff_base_seconds": 0.01,
        "forward_backoff_max_seconds": 0.02,
    }


async def _slow_queued(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path, pacs: ScriptedPacs
) -> tuple[SlowPacs, list[str]]:
    _, _, uids = await _queued(app, client, tmp_path, pacs, count=6)
    slow = SlowPacs(pacs)
    app.state.forwarder.clients["orthanc"].client = httpx.AsyncClient(
        base_url="http://pacs.test/dicom-web", transport=httpx.MockTransport(slow)
    )
    return slow, uids


@pytest.mark.parametrize(
    ("settings_overrides", "expected_peak"),
    [(_settings(1), 1), (_settings(2), 2), (_settings(3), 3)],
    ids=["one", "two", "three"],
)
async def test_up_to_stow_in_flight_requests_are_open_at_once_and_all_are_recorded(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path, expected_peak: int
) -> None:
    pacs = ScriptedPacs([])
    slow, uids = await _slow_queued(app, client, tmp_path, pacs)
    await _run_once(app)
    assert slow.peak == expected_peak
    assert (await _job(app)).state.value == "delivered"
    assert sorted(u for batch in pacs.posted for u in batch) == sorted(uids)
    assert all(len(batch) == 2 for batch in pacs.posted)


@pytest.mark.parametrize("settings_overrides", [_settings(2)])
async def test_a_batch_the_pacs_could_not_take_stops_new_sends_and_keeps_the_others_answers(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    pacs = ScriptedPacs([])
    _, uids = await _slow_queued(app, client, tmp_path, pacs)
    first_batch = set(uids[:2])  # the files' order is the instances' order
    busy = unavailable("1")
    pacs.replies = [
        lambda batch: busy(batch) if set(batch) == first_batch else ok(batch),
        lambda batch: busy(batch) if set(batch) == first_batch else ok(batch),
    ]
    await _run_once(app)
    first_attempt = [sorted(batch) for batch in pacs.posted]
    # The first batch's 503 is recorded first: the third batch is never started.
    assert len(first_attempt) == 2, first_attempt
    refused = next(b for b in first_attempt if set(b) == first_batch)
    stored = next(b for b in first_attempt if set(b) != first_batch)
    assert (await _job(app)).state.value == "pending"
    assert pacs.stored == set(stored)
    await _run_once(app)
    second_attempt = sorted(u for batch in pacs.posted[2:] for u in batch)
    # Only what was not stored goes again: the refused batch and the one never sent.
    assert second_attempt == sorted(set(uids) - set(stored))
    assert set(refused) <= set(second_attempt)
    assert (await _job(app)).state.value == "delivered"


@pytest.mark.parametrize("settings_overrides", [_settings(2)])
async def test_a_failure_in_one_request_keeps_the_answers_of_those_already_out(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Not a PACS answer but an error (here one the transport raises; stored data gone
    would do the same): the other request's stored batch is recorded before the attempt
    fails, so the next attempt does not send it again."""
    pacs = ScriptedPacs([])
    _, uids = await _slow_queued(app, client, tmp_path, pacs)
    first_batch = set(uids[:2])

    def broken(batch: list[str]) -> httpx.Response:
        if set(batch) == first_batch:
            raise RuntimeError("the request could not be made")
        return ok(batch)

    pacs.replies = [broken, broken]
    await _run_once(app)
    job = await _job(app)
    assert job.state.value == "pending"
    stored_first = set(pacs.stored)
    assert len(stored_first) == 2 and not stored_first & first_batch
    await _run_once(app)
    assert (await _job(app)).state.value == "delivered"
    again = [u for batch in pacs.posted[2:] for u in batch]
    assert not set(again) & stored_first  # what was stored never went again
    assert sorted(set(again) | stored_first) == sorted(uids)
