"""Settings that point the forwarder at the harness's Orthanc instances."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import httpx
from fastapi import FastAPI

from tests.servers import OrthancServer


def destination(orthanc: OrthancServer, **extra: Any) -> dict[str, Any]:
    return {
        "type": "dicomweb",
        "url": orthanc.dicomweb_url,
        "auth": "basic",
        "username": orthanc.username,
        "password": orthanc.password,
        "host": "127.0.0.1",
        "port": orthanc.dicom_port,
        "called_aet": orthanc.aet,
        "batch_max_instances": 4,
        "timeout_seconds": 20,
    } | extra


FAST_RETRIES = {
    "forward_workers": 1,
    "forward_poll_seconds": 0.2,
    "forward_backoff_base_seconds": 0.2,
    "forward_backoff_max_seconds": 1.0,
    "fallback_after_seconds": 3600,
}


async def wait_for_state(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    upload_id: str,
    states: set[str],
    timeout: float = 60,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        detail: dict[str, Any] = (
            await client.get(f"/api/upload/{upload_id}", headers=headers)
        ).json()
        if detail["state"] in states:
            return detail
        assert time.monotonic() < deadline, f"still {detail['state']}: {detail['forwarding']}"
        await asyncio.sleep(0.2)


def orthanc_instances(orthanc: OrthancServer, study_uid: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{orthanc.dicomweb_url}/studies/{study_uid}/instances",
        auth=(orthanc.username, orthanc.password),
        headers={"Accept": "application/dicom+json"},
        timeout=30,
    )
    if response.status_code == 204 or not response.content:
        return []
    response.raise_for_status()
    rows: list[dict[str, Any]] = response.json()
    return rows


def wado_instance_sha256(orthanc: OrthancServer, study: str, series: str, sop: str) -> str:
    """WADO-RS retrieve of one instance (multipart/related), hashed."""
    response = httpx.get(
        f"{orthanc.dicomweb_url}/studies/{study}/series/{series}/instances/{sop}",
        auth=(orthanc.username, orthanc.password),
        headers={"Accept": 'multipart/related; type="application/dicom"'},
        timeout=30,
    )
    response.raise_for_status()
    content_type = response.headers["content-type"]
    boundary = content_type.split("boundary=")[1].split(";")[0].strip('"')
    body = response.content
    part = body.split(f"--{boundary}".encode())[1]
    payload = part.split(b"\r\n\r\n", 1)[1]
    payload = payload[:-2] if payload.endswith(b"\r\n") else payload
    return hashlib.sha256(payload).hexdigest()


def app_forwarder(app: FastAPI) -> Any:
    return app.state.forwarder
