"""Small helpers for the tus tests: open an upload with init, then speak tus to one file."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import httpx
import pytest

from tests import phi_scan

CHUNK = 256 * 1024
TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_STREAM = {"Content-Type": "application/offset+octet-stream"}


def s3_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    s3 = request.getfixturevalue("s3_server")
    return {
        "storage_backend": "s3",
        "s3_endpoint_url": s3.endpoint_url,
        "s3_bucket": f"relaypacs-{uuid.uuid4().hex[:12]}",
        "s3_access_key_id": "test",
        "s3_secret_access_key": "test",
        "s3_create_bucket": True,
    }


def metadata(**values: object) -> str:
    return ",".join(
        f"{key} {base64.b64encode(str(value).encode()).decode()}" for key, value in values.items()
    )


def pattern(size: int, seed: int = 0) -> bytes:
    """Deterministic bytes that differ at every offset class (so misplaced bytes show)."""
    block = hashlib.sha256(f"tus-{seed}".encode()).digest() * 64
    return (block * (size // len(block) + 1))[:size]


async def open_upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    sizes: list[int],
    *,
    chunk_size: int = CHUNK,
) -> dict[str, Any]:
    name = phi_scan.registered_name(f"Quillfeather^Ysolde{uuid.uuid4().hex[:6]}")
    r = await client.post(
        "/api/upload/init",
        json={
            "patient_name": name,
            "study_date": "2026-01-15",
            "modality": "CT",
            "service_level": "ROUTINE",
            "files": [{"name": f"f{i}.dcm", "size": s} for i, s in enumerate(sizes)],
            "chunk_size": chunk_size,
            "force_upload": True,
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def token(created: dict[str, Any]) -> dict[str, str]:
    return {"X-Upload-Token": created["upload_token"]}


async def create(
    client: httpx.AsyncClient,
    created: dict[str, Any],
    file_index: int,
    *,
    length: int | None = None,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    size = created["files"][file_index]["size"] if length is None else length
    sent = (
        TUS
        | token(created)
        | {
            "Upload-Length": str(size),
            "Upload-Metadata": metadata(upload_id=created["upload_id"], file_index=file_index),
        }
        | (headers or {})
    )
    if content is not None:
        sent |= OFFSET_STREAM
    return await client.post("/api/tus/", headers=sent, content=content)


async def patch(
    client: httpx.AsyncClient,
    url: str,
    created: dict[str, Any],
    offset: int,
    data: bytes,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    sent = TUS | token(created) | OFFSET_STREAM | {"Upload-Offset": str(offset)} | (headers or {})
    return await client.patch(url, headers=sent, content=data)


async def head(client: httpx.AsyncClient, url: str, created: dict[str, Any]) -> httpx.Response:
    return await client.head(url, headers=TUS | token(created))


async def status(client: httpx.AsyncClient, created: dict[str, Any]) -> dict[str, Any]:
    r = await client.get(f"/api/upload/{created['upload_id']}/status", headers=token(created))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body
