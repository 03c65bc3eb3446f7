"""The admin console with the keyboard alone, at phone size (frontend/e2e/admin-keyboard.mjs):
every control named, reached by Tab with a visible focus ring."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from relaypacs.core.permissions import Role
from tests.e2e.harness import Browser
from tests.e2e.test_admin_console import _seed
from tests.factories import DEFAULT_PASSWORD
from tests.live_server import LiveServer

pytestmark = pytest.mark.slow


def test_every_admin_screen_is_named_reachable_by_tab_and_shows_focus(
    browser: Browser, gateway: LiveServer, tmp_path: Path
) -> None:
    users = asyncio.run(_seed(gateway, tmp_path / "seed", target={"role": Role.radiographer}))

    result = browser.run_scenario(
        "admin-keyboard",
        E2E_ADMIN=users["admin"].username,
        E2E_TARGET=users["target"].username,
        E2E_PASSWORD=DEFAULT_PASSWORD,
    )

    assert set(result["screens"]) == {
        "/admin/users",
        "/admin/facilities",
        "/admin/audit",
        "/admin/pacs",
    }
    for screen in result["screens"].values():
        assert screen["expected"] > 0 and screen["reached"] == screen["expected"]
        assert screen["noRing"] == []
    assert result["detail"]["reached"] == result["detail"]["expected"]
    assert result["openedWithKeyboard"] is True and result["facilityCreated"] is True
