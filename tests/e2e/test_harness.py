"""The browser harness reports results, failures and artifacts as tests/e2e/README.md says."""

from __future__ import annotations

import pytest

from tests.e2e.harness import Browser, ScenarioFailed

pytestmark = pytest.mark.slow


def test_a_scenario_returns_its_last_stdout_line_as_json(browser: Browser) -> None:
    result = browser.run_scenario("harness-selftest", E2E_SELFTEST="ok", E2E_EXTRA=42)

    assert result == {"baseUrl": browser.server.base_url, "path": "/login", "extra": "42"}


def test_a_failing_scenario_fails_with_its_stderr_and_leaves_a_screenshot(browser: Browser) -> None:
    with pytest.raises(ScenarioFailed) as failure:
        browser.run_scenario("harness-selftest", E2E_SELFTEST="fail")

    assert "asked to fail (harness self-test)" in str(failure.value)
    assert "exited with 1" in str(failure.value)
    screenshot = browser.artifacts / "failure-1.png"
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "asked to fail" in (browser.artifacts / "failure.txt").read_text()
