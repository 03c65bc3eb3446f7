"""Without a built frontend, `/` says so in JSON instead of crashing; the API keeps working."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from relaypacs.core.config import REPO_FRONTEND_DIST
from relaypacs.settings import Settings


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    return {"frontend_dist": tmp_path / "not-built"}


@pytest.mark.parametrize("path", ["/", "/upload"])
async def test_unbuilt_frontend_answers_503_json(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 503
    body = r.json()["error"]
    assert body["code"] == "frontend_not_built"
    assert "npm run build" in body["message"]


async def test_unbuilt_frontend_leaves_the_api_alone(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/api/nope")).status_code == 404


def test_frontend_dist_defaults_to_the_repository_build() -> None:
    assert Settings.model_validate({"frontend_dist": ""}).frontend_dist_dir == REPO_FRONTEND_DIST
    assert Path(__file__).resolve().parents[2] / "frontend" / "dist" == REPO_FRONTEND_DIST
