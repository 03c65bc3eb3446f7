"""GET /api/client-config: the web app's error-reporting settings, public and secret-free."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

BROWSER_DSN = "https://browserkey@o1.ingest.example.org/7"


async def test_without_a_browser_dsn_reporting_is_off(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/client-config")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    assert response.json() == {
        "sentry": {"dsn": None, "environment": "test", "traces_sample_rate": 0.0}
    }


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {
            "sentry_browser_dsn": BROWSER_DSN,
            "sentry_environment": "staging",
            "sentry_browser_traces_sample_rate": 0.25,
        }
    ],
)
async def test_the_browser_dsn_is_handed_out_without_signing_in(
    client: httpx.AsyncClient, settings_overrides: dict[str, Any]
) -> None:
    response = await client.get("/api/client-config")

    assert response.status_code == 200
    assert response.json()["sentry"] == {
        "dsn": BROWSER_DSN,
        "environment": "staging",
        "traces_sample_rate": 0.25,
    }
