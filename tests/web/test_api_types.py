"""The web app's API types are generated from the backend's OpenAPI document, and kept current."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FRONTEND = REPO / "frontend"
STALE = "the committed API types are stale: run `make api-types` and commit the result"


@pytest.fixture(scope="module")
def openapi_json() -> str:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "dump_openapi.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_openapi_document_is_current(openapi_json: str) -> None:
    committed = (FRONTEND / "openapi.json").read_text(encoding="utf-8")
    assert openapi_json == committed, f"frontend/openapi.json: {STALE}"


def test_generated_typescript_is_current(openapi_json: str, tmp_path: Path) -> None:
    npx = shutil.which("npx")
    assert npx, "npx is not installed (make installs Node.js)"
    assert (FRONTEND / "node_modules" / ".bin" / "openapi-typescript").exists(), (
        "frontend/node_modules is missing: run `make frontend-test` (npm ci) first"
    )
    source = tmp_path / "openapi.json"
    source.write_text(openapi_json, encoding="utf-8")
    output = tmp_path / "api.gen.ts"
    result = subprocess.run(
        [
            npx,
            "--no-install",
            "openapi-typescript",
            str(source),
            "-o",
            str(output),
            "--enum-values",
        ],
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    committed = (FRONTEND / "src" / "types" / "api.gen.ts").read_text(encoding="utf-8")
    assert output.read_text(encoding="utf-8") == committed, (
        f"frontend/src/types/api.gen.ts: {STALE}"
    )
