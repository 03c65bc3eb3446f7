"""The soak of issue 16 (tests/cluster/soak.py), bounded for `make test`: ≈1 minute of
uploads by a few clients through the balancer while replicas are SIGKILLed every 15–25 s,
Redis and PostgreSQL are restarted once each and the PACS flaps; then every study must be
delivered intact, once, with no 5xx other than 502/503/504.

The same test runs long with environment variables (bench/soak.py sets them):
SOAK_SECONDS (60), SOAK_STUDIES (12), SOAK_CLIENTS (4), SOAK_MAX_INSTANCES (12),
SOAK_MAX_PIXEL_KIB (256), SOAK_KILL_EVERY ("15,25": min,max seconds), SOAK_SEED (random),
SOAK_DRAIN_SECONDS (300), SOAK_REPORT (a path to write the JSON report to, besides the
test's tmp dir).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cluster.soak import soak
from tests.cluster.stack import Cluster

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="package")]


def _env(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


async def test_soak_under_chaos_loses_nothing_and_delivers_once(
    whole: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kill_min, kill_max = (float(v) for v in os.environ.get("SOAK_KILL_EVERY", "15,25").split(","))
    seconds = _env("SOAK_SECONDS", 60)
    seed = os.environ.get("SOAK_SEED")
    report = await soak(
        whole,
        tmp_path / "soak",
        studies=int(_env("SOAK_STUDIES", 12)),
        clients=int(_env("SOAK_CLIENTS", 4)),
        seconds=seconds,
        kill_every=(kill_min, kill_max),
        restart_redis_once=True,
        restart_postgres_once=True,
        flap_pacs=True,
        max_instances=int(_env("SOAK_MAX_INSTANCES", 12)),
        max_pixel_bytes=int(_env("SOAK_MAX_PIXEL_KIB", 256) * 1024),
        drain_timeout=_env("SOAK_DRAIN_SECONDS", 300),
        seed=int(seed) if seed else None,
    )
    text = report.to_json()
    paths = [tmp_path / "soak-report.json"]
    if os.environ.get("SOAK_REPORT"):
        paths.append(Path(os.environ["SOAK_REPORT"]))
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    with capsys.disabled():  # shown with or without -s
        print(f"\nsoak report ({paths[-1]}):\n{text}")

    evidence = "\n".join(
        [
            *report.failures(),
            *report.lost_studies[:10],
            *report.not_accepted[:10],
            *report.unexpected_5xx[:10],
            *report.duplicate_details[:10],
        ]
    )
    assert report.kills >= 1 and report.redis_restarts == 1 and report.postgres_restarts == 1
    assert report.not_accepted == [], evidence
    assert report.lost == 0, evidence
    assert report.sha_mismatches == 0, evidence
    assert report.duplicate_deliveries == 0, evidence
    assert report.unexpected_5xx == [], evidence
    assert report.delivered == report.sent >= report.studies_requested, evidence
    assert report.failures() == [], evidence
