"""The cluster for this package's tests: started once (three replicas take a while), shared
by the tests, each of which leaves it whole again (replicas restarted, faults cleared)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.cluster.stack import Cluster
from tests.conftest import start_or_skip
from tests.deploy.nginx_server import nginx_binary
from tests.servers import MotoS3Server, OrthancServer, PostgresServer, RedisServer


@pytest.fixture(scope="package")
def cluster_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = PostgresServer(tmp_path_factory.mktemp("cluster-pg"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def cluster_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("cluster-redis"))
    server.start()
    yield server
    server.stop()


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    cluster_postgres: PostgresServer,
    cluster_redis: RedisServer,
    s3_server: MotoS3Server,
    orthanc: OrthancServer,
) -> AsyncIterator[Cluster]:
    start_or_skip(nginx_binary)
    if not orthanc.running:
        orthanc.start()
    stack = Cluster(
        base=Path(tmp_path_factory.mktemp("cluster")),
        postgres=cluster_postgres,
        redis=cluster_redis,
        s3=s3_server,
        orthanc=orthanc,
    )
    try:
        await stack.start()
        yield stack
    finally:
        stack.close()


@pytest_asyncio.fixture(loop_scope="package")
async def whole(cluster: Cluster) -> AsyncIterator[Cluster]:
    """The cluster, made whole again after the test: every replica up, no fault left on."""
    yield cluster
    for proxy in (cluster.pacs_proxy, cluster.client_proxy):
        assert proxy is not None
        proxy.passthrough()
    for index, replica in enumerate(cluster.replicas):
        if not replica.is_running():
            await cluster.restart(index)
