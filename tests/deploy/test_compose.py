"""The docker-compose stack and the image stay in step with the settings the app reads.

There is no Docker engine on the test machines, so this checks the files themselves:
every variable the gateway service sets is a real setting (a typo would silently fall
back to a default), and the values that must be production-grade are.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from test_env_example import _env_names

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, object]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def _gateway_env() -> dict[str, str]:
    services = _compose()["services"]
    assert isinstance(services, dict)
    return {str(k): str(v) for k, v in services["gateway"]["environment"].items()}


def test_every_gateway_variable_is_a_setting() -> None:
    unknown = set(_gateway_env()) - set(_env_names())
    assert not unknown, f"not settings the app reads: {sorted(unknown)}"


def test_the_stack_runs_scaled_out_parts_in_production_mode() -> None:
    env = _gateway_env()
    assert env["ENVIRONMENT"] == "production"
    assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert env["REDIS_URL"].startswith("redis://")
    assert env["STORAGE_BACKEND"] == "s3"
    # Secrets have no default: compose refuses to start without them.
    assert re.fullmatch(r"\$\{SECRET_KEY:\?.+\}", env["SECRET_KEY"])
    services = _compose()["services"]
    assert isinstance(services, dict)
    assert {"gateway", "postgres", "redis", "minio", "orthanc"} <= set(services)
    for dependency in ("postgres", "redis", "minio"):
        assert services["gateway"]["depends_on"][dependency]["condition"] == "service_healthy"


def test_the_image_builds_the_frontend_and_installs_the_pinned_backend() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "npm ci" in dockerfile and "npm run build" in dockerfile
    assert "-c backend/requirements.lock" in dockerfile
    assert "FRONTEND_DIST=/app/frontend/dist" in dockerfile
    assert re.search(r"^USER relaypacs$", dockerfile, re.M), "the app must not run as root"
    for variable in re.findall(
        r"\b([A-Z_]+)=", dockerfile.split("ENV HOST=", 1)[1].split("\n\n")[0]
    ):
        assert variable in _env_names() or variable in {"PYTHONDONTWRITEBYTECODE"}, variable
