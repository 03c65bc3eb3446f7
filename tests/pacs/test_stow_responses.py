"""How STOW-RS answers are read and acted on. Orthanc cannot be made to return every
code, so these use a local responder (httpx.MockTransport) in place of the PACS."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from relaypacs.core.database import utcnow
from relaypacs.pacs.stow import failure_is_retryable, parse_response, parse_retry_after


def stow_body(referenced: list[str], failed: list[tuple[str, int]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"00081190": {"vr": "UR", "Value": ["http://pacs/studies/1.2"]}}
    if referenced:
        body["00081199"] = {
            "vr": "SQ",
            "Value": [{"00081155": {"vr": "UI", "Value": [u]}} for u in referenced],
        }
    if failed:
        body["00081198"] = {
            "vr": "SQ",
            "Value": [
                {"00081155": {"vr": "UI", "Value": [u]}, "00081197": {"vr": "US", "Value": [r]}}
                for u, r in failed
            ],
        }
    return body


def test_200_all_stored() -> None:
    result = parse_response(200, stow_body(["1", "2"]), {})
    assert result.referenced == ["1", "2"] and result.failed == []
    assert result.retrieve_url == "http://pacs/studies/1.2"
    assert result.error is None


def test_202_partial_lists_failures_with_reasons() -> None:
    result = parse_response(202, stow_body(["1"], [("2", 0xA700), ("3", 0xC000)]), {})
    assert result.referenced == ["1"]
    assert [(f.sop_instance_uid, f.retryable) for f in result.failed] == [("2", True), ("3", False)]
    assert result.failed[0].describe()["reason"] == "A700"


@pytest.mark.parametrize(
    ("reason", "retryable"),
    [
        (0xA700, True),
        (0xA7FF, True),  # out of resources: later may work
        (0xA900, False),
        (0xA9FF, False),  # data set does not match SOP class
        (0xC000, False),
        (0xCFFF, False),  # cannot understand
        (0x0122, False),
        (0x0124, False),  # SOP class not supported / not authorised
        (None, False),
    ],
)
def test_failure_reason_classes(reason: int | None, retryable: bool) -> None:
    assert failure_is_retryable(reason) is retryable


def test_409_with_failures_is_per_instance() -> None:
    result = parse_response(409, stow_body([], [("1", 0xA900)]), {})
    assert result.failed[0].retryable is False and result.error is None


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (400, False),
        (404, False),
        (408, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
    ],
)
def test_http_errors_without_a_body(status: int, retryable: bool) -> None:
    result = parse_response(status, None, {})
    assert result.error == f"HTTP {status}"
    assert result.transport_retryable is retryable


def test_retry_after_in_seconds_and_as_a_date() -> None:
    assert parse_response(503, None, {"retry-after": "120"}).retry_after == 120
    when = format_datetime(utcnow() + timedelta(seconds=90), usegmt=True)
    seconds = parse_retry_after(when)
    assert seconds is not None and 80 < seconds <= 90
    assert parse_retry_after("soon") is None
