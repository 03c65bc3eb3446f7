"""The scaled-out stack of the fault tests and the soak: three `relaypacs serve` replicas on
one PostgreSQL, one Redis and one S3 (moto), behind a real nginx running the deployment's
own config (deploy/nginx/relaypacs.conf.template) with the replicas as a plain round-robin
upstream group: no stickiness. The PACS (the Orthanc fixture) is reached through a fault
proxy, and so may a client reach the balancer (`client_proxy`).

PostgreSQL and Redis are the stack's own servers, so a test may restart them (same data,
same port) without touching the rest of the suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from relaypacs.core import migrate
from tests.cluster.faultproxy import FaultProxy
from tests.conftest import make_settings
from tests.deploy.nginx_server import NginxServer
from tests.live_server import LiveServer, server_env
from tests.pacs.test_processes import (
    ADMIN,
    FAST_FORWARDING,
    PASSWORD,
    create_admin_with_cli,
    orthanc_env,
)
from tests.servers import LOOPBACK, MotoS3Server, OrthancServer, PostgresServer, RedisServer

REPLICAS = 3
UPSTREAM = "relaypacs_replicas"
DATABASE = "relaypacs"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Cluster:
    base: Path
    postgres: PostgresServer
    redis: RedisServer
    s3: MotoS3Server
    orthanc: OrthancServer
    extra_env: Mapping[str, str] = field(default_factory=dict)
    size: int = REPLICAS  # how many replicas
    replicas: list[LiveServer] = field(default_factory=list)
    pacs_proxy: FaultProxy | None = None
    client_proxy: FaultProxy | None = None
    nginx: NginxServer | None = None

    # --- addresses ----------------------------------------------------------------

    @property
    def database_url(self) -> str:
        return self.postgres.url(DATABASE)

    @property
    def url(self) -> str:
        """The balancer, as a client reaches it."""
        assert self.nginx is not None
        return self.nginx.base_url

    @property
    def faulty_url(self) -> str:
        """The balancer through the client-side fault proxy."""
        assert self.client_proxy is not None
        return self.client_proxy.url

    # --- life cycle ---------------------------------------------------------------

    def env(self, index: int) -> dict[str, str]:
        assert self.pacs_proxy is not None
        pacs = f"{self.pacs_proxy.url}/dicom-web"
        return server_env(
            self.database_url,
            self.base / f"replica-{index}" / "data",
            REDIS_URL=self.redis.url,
            STORAGE_BACKEND="s3",
            S3_BUCKET="relaypacs-cluster",
            S3_PREFIX=f"{self.base.name}/",
            S3_ENDPOINT_URL=self.s3.endpoint_url,
            S3_ACCESS_KEY_ID="testing",
            S3_SECRET_ACCESS_KEY="testing",
            S3_CREATE_BUCKET="true",
            FORWARDED_ALLOW_IPS=LOOPBACK,
            FORWARD_WORKERS="2",
            PACS_HEALTH_PROBE_SECONDS="1",
            SSE_PING_SECONDS="5",
            FORWARD_LEASE_SECONDS="6",  # a dead replica's forward job is taken over within 6 s
            UPLOAD_COMPLETE_STALE_SECONDS="6",  # and its `complete` after 6 s
            REPORT_SYNC_INTERVAL_MINUTES=str(2 / 60),  # every 2 s: the jobs test counts runs
            DATABASE_POOL_SIZE="10",
            **FAST_FORWARDING,
            # Fast retries (FAST_FORWARDING: back-off 0.2 s doubling to 1 s) would spend the
            # default 12 attempts within seconds of a flapping PACS and dead-letter the study;
            # production's back-off (5 s doubling to 15 min) takes about 80 minutes of failures
            # to do that. As many attempts as the longest soak flaps the PACS.
            FORWARD_MAX_ATTEMPTS="1000",
            **orthanc_env(pacs, self.orthanc.username, self.orthanc.password),
        ) | dict(self.extra_env)

    async def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.postgres.create_database(DATABASE)
        await asyncio.to_thread(
            migrate.upgrade, make_settings(self.database_url, self.base / "migrate")
        )
        orthanc_port = int(self.orthanc.http_url.rsplit(":", 1)[1])
        self.pacs_proxy = FaultProxy(LOOPBACK, orthanc_port)
        self.pacs_proxy.start()
        await asyncio.to_thread(create_admin_with_cli, self.env(0), self.base / "cli")
        self.replicas = [
            LiveServer(self.env(i), self.base / f"replica-{i}", preload=True)
            for i in range(self.size)
        ]
        await asyncio.gather(*(replica.start_and_wait() for replica in self.replicas))
        web_root = self.base / "web"
        web_root.mkdir(exist_ok=True)
        (web_root / "index.html").write_text("<!doctype html><title>RelayPACS</title>")
        self.nginx = NginxServer(
            self.base / "nginx",
            gateway=UPSTREAM,
            web_root=web_root,
            replicas=[replica.base_url[len("http://") :] for replica in self.replicas],
        )
        self.nginx.start()
        self.client_proxy = FaultProxy(LOOPBACK, self.nginx.port)
        self.client_proxy.start()

    def close(self) -> None:
        for part in (self.client_proxy, self.nginx):
            if part is not None:
                part.stop()
        for replica in self.replicas:
            replica.close()
        if self.pacs_proxy is not None:
            self.pacs_proxy.stop()

    # --- faults -------------------------------------------------------------------

    def kill(self, index: int) -> None:
        self.replicas[index].kill()

    async def restart(self, index: int) -> None:
        replica = self.replicas[index]
        if replica.is_running():
            replica.kill()
        replica.start()
        await replica.wait_ready()

    def restart_postgres(self, gap: float = 0.0) -> None:
        """A fast shutdown (open sessions are ended), `gap` seconds down, and a start on the
        same data and port, as `systemctl restart postgresql` does."""
        self.stop_postgres()
        time.sleep(gap)
        self.start_postgres()

    def start_postgres(self) -> None:
        self.postgres._pg_ctl_start()

    def stop_postgres(self) -> None:
        server = self.postgres
        subprocess.run(
            [
                *server._run_as,
                str(server._bindir / "pg_ctl") if server._bindir else "pg_ctl",
                "-D",
                str(server.data_dir),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def restart_redis(self, gap: float = 0.0) -> None:
        """redis-server stopped (its data is in memory only: everything in it is lost) and
        started again on the same port."""
        self.redis.stop()
        time.sleep(gap)
        self.redis.start()

    # --- what the replicas wrote --------------------------------------------------

    def log_lines(self, pattern: str) -> list[str]:
        regex = re.compile(pattern)
        lines = []
        for replica in self.replicas:
            with contextlib.suppress(OSError):
                text = replica.log_path.read_text(errors="replace")
                lines += [line for line in text.splitlines() if regex.search(line)]
        return lines

    def replica_of(self, response: httpx.Response) -> str | None:
        """Which replica answered, from the upstream address nginx logged for the request."""
        request_id = response.headers.get("x-request-id")
        assert self.nginx is not None and request_id
        deadline = time.monotonic() + 5  # nginx logs a request just after it answered
        while True:
            for line in self.nginx.access_log.read_text(errors="replace").splitlines():
                if f"request_id={request_id}" in line:
                    match = re.search(r"upstream=(\S+)", line)
                    return match.group(1) if match else None
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)


async def sign_in(base_url: str, within: float = 10.0) -> dict[str, str]:
    """The admin's bearer header; a 502/503/504 (a restart under way) is retried `within`."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        while True:
            r = await client.post("/api/auth/login", json={"login": ADMIN, "password": PASSWORD})
            if r.status_code not in {502, 503, 504} or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def orthanc_sha256s(orthanc: OrthancServer, study_uid: str) -> dict[str, str]:
    """SOP Instance UID → SHA-256 of the file Orthanc stored, for every instance of the study."""
    found = orthanc.request("POST", "/tools/find", _find(study_uid))
    hashes: dict[str, str] = {}
    for instance_id in found:
        tags: dict[str, Any] = orthanc.request("GET", f"/instances/{instance_id}/simplified-tags")
        data = _orthanc_file(orthanc, instance_id)
        hashes[str(tags["SOPInstanceUID"])] = sha256(data)
    return hashes


def _find(study_uid: str) -> bytes:
    return json.dumps(
        {"Level": "Instance", "Query": {"StudyInstanceUID": study_uid}, "Expand": False}
    ).encode()


def _orthanc_file(orthanc: OrthancServer, instance_id: str) -> bytes:
    response = httpx.get(
        f"{orthanc.http_url}/instances/{instance_id}/file",
        auth=(orthanc.username, orthanc.password),
        timeout=30,
    )
    response.raise_for_status()
    return response.content
