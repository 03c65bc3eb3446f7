"""Settings, account part, in real Chromium against a real gateway: 2FA, sessions, password,
screenshots at phone and desktop sizes, and keyboard access."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.harness import Browser
from tests.e2e.test_app_shell import png_size

pytestmark = pytest.mark.slow

# A notification stream re-checks its sign-in session this often (60 s by default): short here,
# so a browser whose session was revoked elsewhere is seen signing out within the test.
SSE_SESSION_CHECK_SECONDS = 2


@pytest.fixture
def gateway_env_overrides() -> dict[str, str]:
    return {"SSE_SESSION_CHECK_SECONDS": str(SSE_SESSION_CHECK_SECONDS)}


def test_enable_2fa_from_settings_then_sign_in_with_a_code(browser: Browser) -> None:
    result = browser.run_scenario("settings-2fa")

    assert result["qrRendered"] is True
    assert result["backupCodes"] == 10
    assert result["download"] == {"name": "relaypacs-backup-codes.txt", "codesInFile": 10}
    assert result["backupCodesLeft"] == 10
    # Shown once: gone after "I have saved my codes", and not back after a reload.
    assert result["codesStillShown"] == 0
    assert result["codesAfterReload"] == 0
    # Back where the sign-out happened (Settings), or the landing page.
    assert result["signedInWithCode"] in {"/settings/security", "/upload"}


def test_revoking_another_session_signs_that_browser_out(browser: Browser) -> None:
    result = browser.run_scenario("settings-sessions")

    assert result["sessionsListed"] == 2
    assert result["thisDeviceMarked"] == 1
    assert result["otherShowsBrowser"] is True
    assert result["otherShowsIp"] is True
    assert result["secondBrowser"] == "/login"
    assert result["firstBrowserAfterReload"] == {"path": "/settings/sessions", "sessions": 1}


def test_change_password_then_sign_in_again_with_the_new_one(browser: Browser) -> None:
    result = browser.run_scenario("settings-password")

    assert result["weakDisabled"] is True
    assert result["wrongCurrent"] == "The current password is wrong."
    assert "Sign in with your new password" in result["notice"]
    assert result["oldPasswordRefused"] is True
    assert result["signedInWithNew"] == "/upload"


def test_settings_screenshots_at_phone_and_desktop_viewports(browser: Browser) -> None:
    result = browser.run_scenario("settings-screenshots")

    seen = set()
    for shot in result["shots"]:
        path = Path(shot["file"])
        assert path.stat().st_size > 1000, f"{path} is (nearly) empty"
        width, height = png_size(path)
        assert width == shot["width"] and height > 0
        seen.add((shot["screen"], shot["label"]))
    screens = {"profile", "security", "security-enrolment", "sessions", "data"}
    assert seen == {(screen, label) for screen in screens for label in ("phone", "desktop")}


def test_settings_screens_are_labelled_keyboard_reachable_and_show_focus(
    browser: Browser,
) -> None:
    result = browser.run_scenario("settings-keyboard")

    assert set(result["screens"]) == {
        "/settings/profile",
        "/settings/security",
        "/settings/sessions",
        "/settings/data",
        "/settings/security (enrolment)",
    }
    for screen, checked in result["screens"].items():
        assert checked["named"] is True, screen
        assert checked["tabStops"] > 5, screen
    assert result["focusAfterNavigation"] == "main"
