"""The test harness starts real servers: prove each one works end to end."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import asyncpg
import boto3
import pydicom
import pytest
import redis
import requests
from dicomweb_client.api import DICOMwebClient

from tests.dicom_factory import pydicom_file
from tests.servers import (
    MotoS3Server,
    OrthancServer,
    PostgresServer,
    RedisServer,
    ServerUnavailable,
)

S = TypeVar("S", PostgresServer, RedisServer, MotoS3Server, OrthancServer)

STUDY_TAG = "0020000D"


def _started(server: S) -> Iterator[S]:
    try:
        server.start()
    except ServerUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def _pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    yield from _started(PostgresServer(tmp_path_factory.mktemp("pg")))


@pytest.fixture(scope="module")
def _redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    yield from _started(RedisServer(tmp_path_factory.mktemp("redis")))


@pytest.fixture(scope="module")
def _s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3Server]:
    yield from _started(MotoS3Server(tmp_path_factory.mktemp("s3")))


@pytest.fixture(scope="module")
def _orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancServer]:
    yield from _started(OrthancServer(tmp_path_factory.mktemp("orthanc"), "harness-pacs"))


@contextlib.contextmanager
def _dicomweb(orthanc: OrthancServer) -> Iterator[DICOMwebClient]:
    with requests.Session() as session:
        session.auth = (orthanc.username, orthanc.password)
        yield DICOMwebClient(url=orthanc.dicomweb_url, session=session)


def _study_uids(orthanc: OrthancServer, study_uid: str) -> list[str]:
    with _dicomweb(orthanc) as client:
        found = client.search_for_studies(search_filters={"StudyInstanceUID": study_uid})
    return [study[STUDY_TAG]["Value"][0] for study in found]


@pytest.fixture
def _stored_study(_orthanc: OrthancServer) -> str:
    """STOW-RS CT_small.dcm into Orthanc (idempotent); return its StudyInstanceUID."""
    dataset = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    with _dicomweb(_orthanc) as client:
        client.store_instances(datasets=[dataset])
    return str(dataset.StudyInstanceUID)


def test_orthanc_stow_then_qido(_orthanc: OrthancServer, _stored_study: str) -> None:
    assert _study_uids(_orthanc, _stored_study) == [_stored_study]
    assert _orthanc.aet == "HARNESS_PACS"


def test_orthanc_requires_auth(_orthanc: OrthancServer) -> None:
    assert requests.get(_orthanc.http_url + "/system", timeout=5).status_code == 401


def test_orthanc_restart_keeps_studies(_orthanc: OrthancServer, _stored_study: str) -> None:
    ports = (_orthanc.http_port, _orthanc.dicom_port)
    _orthanc.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(_orthanc.http_url + "/system", timeout=2)
    _orthanc.start()
    assert (_orthanc.http_port, _orthanc.dicom_port) == ports
    assert _study_uids(_orthanc, _stored_study) == [_stored_study]

    _orthanc.kill()
    _orthanc.start()
    assert _study_uids(_orthanc, _stored_study) == [_stored_study]


def test_orthanc_clear(_orthanc: OrthancServer, _stored_study: str) -> None:
    _orthanc.clear()
    assert _study_uids(_orthanc, _stored_study) == []
    assert _orthanc.request("GET", "/patients") == []


def test_redis_round_trip(_redis: RedisServer) -> None:
    value = secrets.token_hex(8)
    client = redis.Redis.from_url(_redis.url)
    try:
        client.set("harness:key", value)
        assert client.get("harness:key") == value.encode()
    finally:
        client.close()


def test_s3_round_trip(_s3: MotoS3Server) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=_s3.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    body = secrets.token_bytes(64)
    s3.create_bucket(Bucket="harness")
    s3.put_object(Bucket="harness", Key="a/b.bin", Body=body)
    assert s3.get_object(Bucket="harness", Key="a/b.bin")["Body"].read() == body


def test_postgres_create_query_drop(_pg: PostgresServer) -> None:
    _pg.create_database("harness_db")
    _pg.create_database("harness_copy", template="harness_db")
    assert _pg.url("harness_db") == f"postgresql+asyncpg://relay@127.0.0.1:{_pg.port}/harness_db"

    async def version() -> str:
        conn = await asyncpg.connect(_pg.dsn("harness_copy"))
        try:
            return str(await conn.fetchval("SELECT version()"))
        finally:
            await conn.close()

    assert asyncio.run(version()).startswith("PostgreSQL 15")
    _pg.drop_database("harness_copy")
    _pg.drop_database("harness_db")
    assert "harness_db" not in _pg.psql("SELECT datname FROM pg_database")


def test_servers_use_temporary_dirs(_pg: PostgresServer, _redis: RedisServer) -> None:
    assert _pg.data_dir.is_dir() and (_pg.data_dir / "PG_VERSION").read_text().strip() == "15"
    assert Path(_redis.log_path).is_file()
