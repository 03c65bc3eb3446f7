"""Stock tus clients in real Chromium against the tus endpoint (docs/tus.md): tus-js-client
(its shipped dist/tus.min.js; the second file as two parallel partial uploads joined by a final
one) and Uppy (@uppy/core + @uppy/tus as they ship). Each sends a study file by file, goes
offline mid-file and back, resumes from the server's offset (not from zero), and the study
reaches Orthanc intact (SHA-256 of every instance over WADO-RS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.harness import Browser
from tests.e2e.test_upload_resilience import (
    ISO_DATE,
    PATIENT,
    assert_in_pacs_intact,
    make_study,
    wait_forwarded,
)
from tests.live_server import LiveServer
from tests.servers import OrthancServer

CHUNK_SIZE = 256 * 1024
PATCH_SIZE = 100_000  # never on a chunk boundary


@pytest.mark.parametrize("client", ["tus-js-client", "uppy"])
def test_a_stock_tus_client_resumes_after_going_offline_and_the_study_arrives_intact(
    browser: Browser, gateway: LiveServer, pacs: OrthancServer, tmp_path: Path, client: str
) -> None:
    study = make_study(tmp_path / "study", count=4, pixel_bytes=700 * 1024)
    result = browser.run_scenario(
        "tus-clients",
        E2E_CLIENT=client,
        E2E_FILES=json_list(study.paths),
        E2E_PATIENT=PATIENT,
        E2E_STUDY_DATE=ISO_DATE,
        E2E_CHUNK_SIZE=CHUNK_SIZE,
        E2E_PATCH_SIZE=PATCH_SIZE,
    )
    assert result["sent"]["sent"] == len(study.paths), result
    assert 0 < result["patchesAtOffline"] < result["expectedPatches"], str(result)
    # It really was cut off: tus-js-client fails offline and is started again once online;
    # Uppy pauses by itself while offline and resumes (asking HEAD) when back online.
    assert result["sent"]["restarts"] >= 1 or result["heads"] >= 1, str(result)
    # Resumed where the server stood, not from zero: an upload cut off by going offline goes on
    # past its first byte once back online, no tus upload was sent from offset 0 twice, and
    # the study cost well under twice its PATCHes.
    assert result["resumedOffsets"] and min(result["resumedOffsets"]) > 0, str(result)
    assert result["maxPatchesAtZero"] == 1, str(result)
    assert result["patchCount"] * PATCH_SIZE < 2 * result["total"] + 8 * PATCH_SIZE, result
    detail = wait_forwarded(gateway, result["user"], result["uploadId"])
    assert detail["state"] == "forwarded", detail
    assert_in_pacs_intact(pacs, study)


def json_list(paths: list[Path]) -> str:
    import json

    return json.dumps([str(p) for p in paths])
