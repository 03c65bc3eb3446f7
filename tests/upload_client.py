"""A small client for the resumable upload protocol, used by the tests."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from pathlib import Path
from typing import Any

import httpx

from tests import phi_scan


def content_md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def init_body(paths: list[Path], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "patient_name": "Doe^Jane",
        "study_date": "2026-01-15",
        "modality": "CT",
        "service_level": "ROUTINE",
        "files": [{"name": p.name, "size": p.stat().st_size} for p in paths],
    }
    body.update(fields)
    phi_scan.register_person_name(body["patient_name"])
    return body


def chunk_of(path: Path, index: int, chunk_size: int) -> bytes:
    with path.open("rb") as f:
        f.seek(index * chunk_size)
        return f.read(chunk_size)


async def put_chunk(
    client: httpx.AsyncClient,
    upload_id: str,
    file: int,
    index: int,
    data: bytes,
    headers: dict[str, str],
    md5: str | None = None,
) -> httpx.Response:
    return await client.put(
        f"/api/upload/{upload_id}/chunk",
        params={"file": file, "index": index},
        content=data,
        headers=headers
        | {
            "Content-MD5": md5 if md5 is not None else content_md5(data),
            "Content-Type": "application/octet-stream",
        },
    )


async def send_all(
    client: httpx.AsyncClient,
    created: dict[str, Any],
    paths: list[Path],
    headers: dict[str, str],
    *,
    concurrency: int = 8,
    order: str = "forward",
) -> None:
    """Send every chunk (optionally in reverse order), `concurrency` at a time."""
    jobs = [(f["index"], i) for f in created["files"] for i in range(f["total_chunks"])]
    if order == "reverse":
        jobs.reverse()
    semaphore = asyncio.Semaphore(concurrency)

    async def one(file: int, index: int) -> None:
        async with semaphore:
            data = chunk_of(paths[file], index, created["chunk_size"])
            response = await put_chunk(client, created["upload_id"], file, index, data, headers)
            assert response.status_code == 200, response.text

    await asyncio.gather(*(one(f, i) for f, i in jobs))


async def upload_study(
    client: httpx.AsyncClient, headers: dict[str, str], paths: list[Path], **fields: Any
) -> dict[str, Any]:
    """init → all chunks → complete; returns the complete response body."""
    init = await client.post("/api/upload/init", json=init_body(paths, **fields), headers=headers)
    assert init.status_code == 201, init.text
    created = init.json()
    await send_all(client, created, paths, headers)
    done = await client.post(f"/api/upload/{created['upload_id']}/complete", headers=headers)
    assert done.status_code == 202, done.text
    body: dict[str, Any] = done.json()
    return body
