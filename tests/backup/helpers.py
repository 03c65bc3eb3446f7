"""What the backup tests check independently of the code under test: every table's row
count (read with sqlite3 or psql) and every stored object's SHA-256 (read from the
directory or with boto3), and the `relaypacs` command run as an operator runs it."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3

import relaypacs
from tests.servers import MotoS3Server, PostgresServer

BACKEND = Path(relaypacs.__file__).resolve().parents[1]
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


def s3_client(server: MotoS3Server) -> Any:
    return boto3.client(
        "s3", endpoint_url=server.endpoint_url, region_name="us-east-1", **CREDENTIALS
    )


def sqlite_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        names = [
            n
            for (n,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}  # noqa: S608
    finally:
        conn.close()


def postgres_counts(server: PostgresServer, dbname: str) -> dict[str, int]:
    names = server.psql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'", dbname
    ).split()
    union = " UNION ALL ".join(f"SELECT '{n}', count(*) FROM \"{n}\"" for n in names)  # noqa: S608
    rows = server.psql(union, dbname).splitlines()
    return {name: int(count) for name, count in (row.split("|") for row in rows)}


def local_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def bucket_hashes(client: Any, bucket: str) -> dict[str, str]:
    hashes = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            hashes[item["Key"]] = hashlib.sha256(body).hexdigest()
    return hashes


def drop_bucket(client: Any, bucket: str) -> None:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=item["Key"])
    client.delete_bucket(Bucket=bucket)


def relaypacs_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`relaypacs …` in a child process, configured only by its environment."""
    return subprocess.run(
        [sys.executable, "-c", "from relaypacs.cli import main; main()", *args],
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        | {"PYTHONPATH": str(BACKEND), "ENVIRONMENT": "test", "LOG_FORMAT": "console"}
        | env,
        capture_output=True,
        text=True,
        timeout=300,
    )
