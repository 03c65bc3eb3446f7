"""The monitoring proven against reality: a real Prometheus (the Debian package) runs the
checked-in prometheus.yml and rules, scraping a real gateway process that has just
uploaded a study and forwarded it to the Orthanc fixture, plus the PostgreSQL and Redis
exporters against the suite's servers. Then every recording rule's and alert's expression
is evaluated through Prometheus's HTTP API (each must parse, each recording rule must
record a series, no rule may fail to evaluate) and every dashboard panel's queries too
(each must parse and return data: no typo'd metric name, no empty panel)."""

from __future__ import annotations

import asyncio
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import fresh_database_url
from tests.dicom_factory import write_study
from tests.live_server import LiveServer, server_env
from tests.ops.monitoring import (
    PROMETHEUS_YML,
    RULE_FILES,
    as_prometheus_sees_it,
    binary,
    dashboard,
    panels,
    rules,
)
from tests.pacs.test_processes import (
    FAST_FORWARDING,
    create_admin_with_cli,
    login,
    orthanc_env,
    wait_until_settled,
)
from tests.servers import (
    OrthancServer,
    PostgresServer,
    RedisServer,
    _spawn,
    _terminate,
    _wait_ready,
    free_port,
)
from tests.upload_client import chunk_of, init_body, put_chunk, upload_study

pytestmark = pytest.mark.slow

PATIENT = "Scrapewell^Quintessa"
READY_TIMEOUT = 30.0


class Exporters:
    """prometheus, prometheus-postgres-exporter and prometheus-redis-exporter processes."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, argv: list[str], port: int, path: str) -> str:
        log = self.workdir / f"{name}.log"
        proc = _spawn(argv, log, cwd=self.workdir)
        self.procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        _wait_ready(name, lambda: _answers(url + path), proc, log, READY_TIMEOUT)
        return f"127.0.0.1:{port}"

    def stop(self) -> None:
        for proc in self.procs:
            _terminate(proc)


def _answers(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return bool(response.status == 200)


def prometheus_config(gateway: str, postgres: str, redis: str) -> dict[str, Any]:
    """The checked-in prometheus.yml with this machine's targets and a 1 s scrape."""
    config: dict[str, Any] = yaml.safe_load(PROMETHEUS_YML.read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s", scrape_timeout="1s")
    config["rule_files"] = [str(path) for path in RULE_FILES]
    targets = {"relaypacs": gateway, "postgres": postgres, "redis": redis}
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == set(targets)
    for name, job in jobs.items():
        job.pop("dns_sd_configs", None)
        job["static_configs"] = [{"targets": [targets[name]]}]
    return config


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database_url(request, "postgresql", tmp_path)


@pytest.fixture
def pacs(orthanc: OrthancServer) -> Iterator[OrthancServer]:
    if not orthanc.running:
        orthanc.start()
    orthanc.clear()
    yield orthanc


async def query(client: httpx.AsyncClient, expr: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/query", params={"query": expr})
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", f"{expr}: {body}"
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


async def wait_for(client: httpx.AsyncClient, expr: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not await query(client, expr):
        assert time.monotonic() < deadline, f"no data for {expr}"
        await asyncio.sleep(0.25)


async def test_every_rule_and_panel_evaluates_on_a_real_prometheus_scraping_a_real_stack(
    postgres_url: str,
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    pacs: OrthancServer,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    prometheus, postgres_exporter, redis_exporter = (
        binary("prometheus"),
        binary("prometheus-postgres-exporter"),
        binary("prometheus-redis-exporter"),
    )
    env = server_env(
        postgres_url,
        tmp_path / "data",
        REDIS_URL=redis_server.url,
        FORWARD_WORKERS="1",
        PACS_HEALTH_PROBE_SECONDS="1",
        REPORT_SYNC_INTERVAL_MINUTES="0.02",  # a scheduled job that succeeds at once
        **FAST_FORWARDING,
        **orthanc_env(pacs.dicomweb_url, pacs.username, pacs.password),
    )
    gateway = LiveServer(env, tmp_path / "gateway")
    processes = Exporters(tmp_path)
    try:
        await asyncio.gather(
            asyncio.to_thread(create_admin_with_cli, env, tmp_path / "cli"),
            gateway.start_and_wait(),
        )
        database = postgres_url.rsplit("/", 1)[1]
        pg_port, redis_port, prom_port = free_port(), free_port(), free_port()
        pg_target = processes.start(
            "postgres-exporter",
            [
                "env",
                f"DATA_SOURCE_NAME={postgres_server.dsn(database)}?sslmode=disable",
                postgres_exporter,
                f"--web.listen-address=127.0.0.1:{pg_port}",
            ],
            pg_port,
            "/metrics",
        )
        redis_target = processes.start(
            "redis-exporter",
            [
                redis_exporter,
                "-redis.addr",
                redis_server.url,
                "-web.listen-address",
                f"127.0.0.1:{redis_port}",
            ],
            redis_port,
            "/metrics",
        )
        config = tmp_path / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(prometheus_config(gateway.base_url[7:], pg_target, redis_target))
        )
        processes.start(
            "prometheus",
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            prom_port,
            "/-/ready",
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{prom_port}", timeout=10) as prom:
            for job in ("relaypacs", "postgres", "redis"):
                await wait_for(prom, f'up{{job="{job}"}} == 1')

            # A study uploaded (one chunk refused first) and forwarded while scraped.
            bearer = await login(gateway)
            study = write_study(tmp_path / "study", count=2)
            async with httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as api:
                body = init_body(study.paths, patient_name=PATIENT, force_upload=True)
                created = (await api.post("/api/upload/init", json=body, headers=bearer)).json()
                data = chunk_of(study.paths[0], 0, created["chunk_size"])
                bad = await put_chunk(
                    api, created["upload_id"], 0, 0, data, bearer, md5="A" * 22 + "=="
                )
                assert bad.status_code == 400
                done = await upload_study(
                    api, bearer, study.paths, patient_name=PATIENT, force_upload=True
                )
            detail = await wait_until_settled(gateway, bearer, done["upload_id"], timeout=30)
            assert detail is not None and detail["state"] == "forwarded", detail

            # Scraped after the delivery, and the rules evaluated on it.
            await wait_for(prom, 'sum(relaypacs_uploads_finished_total{outcome="forwarded"}) >= 1')
            await wait_for(prom, "relaypacs:upload_success_rate:ratio_1h == 1")
            await wait_for(prom, "relaypacs:scheduled_job_since_success_seconds")
            # rate() needs two samples in its window, and the series this upload created (a
            # labelled counter appears at its first increment) may have been scraped once only.
            last_scrape = (await query(prom, 'timestamp(up{job="relaypacs"})'))[0]["value"][1]
            await wait_for(prom, f'timestamp(up{{job="relaypacs"}}) > {last_scrape}')

            for rule in rules():
                await query(prom, rule["expr"])  # parses and evaluates
                if "record" in rule:
                    assert await query(prom, rule["record"]), f"{rule['record']} recorded nothing"
            evaluated = (await prom.get("/api/v1/rules")).json()["data"]["groups"]
            for group in evaluated:
                for rule in group["rules"]:
                    assert rule["health"] == "ok", f"{rule['name']}: {rule.get('lastError')}"
            assert sum(len(g["rules"]) for g in evaluated) == len(rules())

            empty = []
            for panel in panels(dashboard()):
                for target in panel["targets"]:
                    if not await query(prom, as_prometheus_sees_it(target["expr"])):
                        empty.append(f"{panel['title']} / {target['refId']}: {target['expr']}")
            assert not empty, "panels without data:\n" + "\n".join(empty)

            # What the numbers say about this run.
            forwarded = await query(prom, "relaypacs:pacs_connectivity")
            assert {r["metric"]["destination"]: r["value"][1] for r in forwarded} == {
                "orthanc": "1"
            }
            rejected = await query(prom, "sum by (reason) (relaypacs_upload_chunks_rejected_total)")
            assert {r["metric"]["reason"] for r in rejected} == {"checksum_mismatch"}
            alerts = (await prom.get("/api/v1/alerts")).json()["data"]["alerts"]
            firing = {a["labels"]["alertname"] for a in alerts if a["state"] == "firing"}
            assert firing == {"BackupTooOld"}, alerts  # there has been no backup

            # No patient data in any series the gateway exported.
            series = await prom.get("/api/v1/series", params={"match[]": '{job="relaypacs"}'})
            assert "Scrapewell" not in series.text and "Quintessa" not in series.text
    finally:
        processes.stop()
        gateway.close()
    assert time.monotonic() - started < 60
