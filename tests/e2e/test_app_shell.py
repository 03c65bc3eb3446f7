"""The web app in real Chromium against a real gateway and Orthanc: sign-up to PACS, PWA, layout."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pydicom
import pytest

from tests.dicom_factory import write_study
from tests.e2e.harness import Browser
from tests.pacs.conftest import orthanc_instances, wado_instance_sha256
from tests.servers import OrthancServer

pytestmark = pytest.mark.slow

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_register_verify_login_upload_reaches_forwarded_and_orthanc(
    browser: Browser, pacs: OrthancServer, tmp_path: Path
) -> None:
    study = write_study(tmp_path / "study", count=6, pixel_bytes=96 * 1024)

    result = browser.run_scenario(
        "signup-upload-forwarded", E2E_STUDY_DIR=str(study.paths[0].parent)
    )

    assert result["state"] == "forwarded"
    assert result["files"] == 6
    held = orthanc_instances(pacs, study.study_uid)
    assert len(held) == len(study.paths), f"Orthanc holds {len(held)} of {len(study.paths)}"
    source = {}
    for path in study.paths:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        source[ds.SOPInstanceUID] = (
            ds.SeriesInstanceUID,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
    stored = {row["00080018"]["Value"][0] for row in held}
    assert stored == set(source)
    for sop, (series, sha256) in source.items():
        assert wado_instance_sha256(pacs, study.study_uid, series, sop) == sha256, sop


def test_manifest_service_worker_and_offline_app_shell(browser: Browser) -> None:
    result = browser.run_scenario("pwa-offline-shell")

    assert result["manifestUrl"] == "/manifest.webmanifest"
    assert result["display"] == "standalone"
    assert result["startUrl"] == "/" and result["scope"] == "/"
    assert result["serviceWorker"] == "/sw.js"
    purposes = {(icon["sizes"], icon["purpose"]) for icon in result["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= purposes
    assert result["offlineTitle"] == "RelayPACS Gateway"
    assert result["cachedListShown"] is True


def test_upload_screen_screenshots_at_phone_and_desktop_viewports(browser: Browser) -> None:
    result = browser.run_scenario("upload-screenshots")

    widths = {}
    for shot in result["shots"]:
        path = Path(shot["file"])
        assert path.stat().st_size > 1000, f"{path} is (nearly) empty"
        width, height = png_size(path)
        assert height > 0
        widths[shot["label"]] = width
    assert widths == {"phone": 390, "desktop": 1366}


def test_forms_are_labelled_keyboard_operable_and_show_focus(browser: Browser) -> None:
    result = browser.run_scenario("a11y-keyboard")

    assert result["checked"] == {"/login": "named", "/register": "named", "/upload": "named"}
    assert "login" in result["tabOrder"]
    assert result["focusAfterNavigation"] == "main"


def test_signed_in_across_a_browser_restart_until_signing_out(browser: Browser) -> None:
    result = browser.run_scenario("session-restart")

    assert result == {"afterRestart": "/history", "afterSignOut": "/login", "tokenInUrl": False}


def test_two_step_sign_in_with_totp_then_a_single_use_backup_code(browser: Browser) -> None:
    result = browser.run_scenario("login-2fa")

    assert result["totp"] == result["backup"] == "accepted"
    assert result["reuse"]["path"] == "/login"
    assert result["reuse"]["refusal"]
