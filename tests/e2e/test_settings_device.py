"""Settings of this device in real Chromium against the real backend: upload preferences used by
the upload screen (the chunk PUTs carry the chosen size), "Clear local data" with a queued
upload, the app badge from the page and the service worker, keyboard use of the screens, and
screenshots at phone and desktop sizes (see tests/e2e/README.md)."""

from __future__ import annotations

import asyncio
import math
import struct
from pathlib import Path

from tests.dicom_factory import write_study
from tests.e2e.harness import Browser
from tests.e2e.test_notifications import _seed
from tests.factories import DEFAULT_PASSWORD
from tests.live_server import LiveServer
from tests.servers import OrthancServer

CHOSEN = 512 * 1024


def png_width(path: Path) -> int:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    return int(struct.unpack(">I", header[16:20])[0])


def test_upload_preferences_drive_the_upload_and_clear_local_data_asks_first(
    browser: Browser, gateway: LiveServer, pacs: OrthancServer, tmp_path: Path
) -> None:
    # Files of ~1.3 MB: three chunks each at 512 KiB, two at the 1 MiB default.
    study = write_study(
        tmp_path / "study",
        count=2,
        pixel_bytes=1300 * 1024,
        patient_name="PREFERENCE^PAT",
        study_date="20260302",
    )
    result = browser.run_scenario("settings-device", E2E_STUDY_DIR=str(study.paths[0].parent))

    # The server's bounds are what the screen offers.
    assert min(result["options"]) == 256 * 1024 and max(result["options"]) == 16 * 1024 * 1024
    assert result["initChunkSize"] == CHOSEN
    sizes = [p.stat().st_size for p in study.paths]
    expected = sorted(
        (i, n, min(CHOSEN, size - n * CHOSEN))
        for i, size in enumerate(sizes)
        for n in range(math.ceil(size / CHOSEN))
    )
    seen = sorted({(s["file"], s["index"], s["bytes"]) for s in result["sizes"]})
    assert seen == expected, (seen, expected)

    # Clear local data: the confirmation counts the queued upload; Cancel keeps it and its file.
    assert "1 queued upload has not been fully sent and would be lost" in result["warning"]
    assert "1 queued upload not sent yet" in result["storage"]["queue"]
    assert result["storage"]["used"] not in ("", "unknown", "…")
    assert result["storage"]["build"]
    assert result["pendingId"] in result["afterCancel"]["ids"]
    assert result["afterCancel"]["blobs"] == len(study.paths)
    assert result["afterClear"] == {"entries": 0, "blobs": 0}

    widths = {shot["label"]: 0 for shot in result["shots"]}
    for shot in result["shots"]:
        path = browser.artifacts / shot["name"]
        assert path.stat().st_size > 1000, path
        widths[shot["label"]] = png_width(path)
    assert widths == {"phone": 390, "desktop": 1366}
    assert len(result["shots"]) == 6


def test_the_page_and_the_service_worker_set_the_app_badge_to_the_unread_count(
    browser: Browser, gateway: LiveServer, tmp_path: Path
) -> None:
    clinician, radiologist, report = asyncio.run(_seed(gateway, tmp_path / "seed"))
    result = browser.run_scenario(
        "app-badge",
        E2E_CLINICIAN=clinician.username,
        E2E_RADIOLOGIST=radiologist.username,
        E2E_PASSWORD=DEFAULT_PASSWORD,
        E2E_REPORT_ID=str(report.id),
    )
    # Signed in: the badge shows what is unread already (the seeded report's notice), 0 clears it.
    at_start = result["unreadAtStart"]
    assert result["atStart"][-1] == (["set", at_start] if at_start else ["clear"])
    # A notification arrives live: the page shows the server's unread count.
    assert result["serverUnread"] >= 1
    assert result["afterNotification"][-1] == ["set", result["serverUnread"]]
    assert result["afterReadAll"][-1] == ["clear"]
    # The worker: the count a push carries, then one fewer when its notification is clicked.
    assert ["set", 3] in result["afterPush"]
    assert f"report-{report.id}" in result["shown"]
    assert result["afterClick"][-1] == ["set", 2]


def test_settings_screens_are_labelled_and_keyboard_operable(browser: Browser) -> None:
    result = browser.run_scenario("settings-a11y-keyboard")

    prefs = result["/settings/preferences"]["reached"]
    # A radio group is one Tab stop: its checked level.
    assert any(label.startswith(("Stat", "Emergency", "Routine")) for label in prefs), prefs
    assert "Advanced: chunk size" in prefs
    notifications = result["/settings/notifications"]["reached"]
    assert "Report ready: Push" in notifications and "Upload failed: Email" in notifications
    assert "Clear local data…" in result["/settings/device"]["reached"]
    assert result["chunkSizeFocus"] == "Chunk size"
    assert result["dialogFocus"] == "Cancel, keep everything"
    assert result["afterEscape"] == result["afterCancel"] == "Clear local data…"
