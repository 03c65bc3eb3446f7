"""A client that behaves like the PWA's uploader on a bad network: every request is retried
(with a short back-off) on a transport error, a timeout or a 502/503/504, until a deadline;
`complete` is retried the same way (it is idempotent). It records what it saw, for the
tests' and the soak's verdicts: every status code, chunk latencies, and any 5xx that was
not a 502/503/504 from a restart."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.upload_client import chunk_of, content_md5, init_body

RETRYABLE = {502, 503, 504}
BACKOFF = (0.1, 0.2, 0.5, 1.0)


class GaveUp(AssertionError):
    pass


@dataclass
class Observed:
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    chunk_seconds: list[float] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)  # 5xx other than 502/503/504
    acknowledged: set[tuple[str, int, int]] = field(default_factory=set)  # upload, file, chunk

    def merge(self, other: Observed) -> None:
        self.statuses += other.statuses
        self.transport_errors += other.transport_errors
        self.chunk_seconds += other.chunk_seconds
        self.unexpected += other.unexpected
        self.acknowledged |= other.acknowledged


class Client:
    def __init__(
        self,
        base_url: str,
        bearer: dict[str, str],
        *,
        observed: Observed | None = None,
        timeout: float = 30.0,
        deadline: float = 120.0,
        retry_unexpected: bool = False,
    ) -> None:
        """With `retry_unexpected`, a 5xx other than 502/503/504 is still recorded (a verdict
        fails on it) but then retried like a 503, as the PWA's uploader would, so that one
        wrong status does not hide what the rest of a soak would find."""
        self.base_url = base_url
        self.bearer = bearer
        self.observed = observed or Observed()
        self.timeout = timeout
        self.deadline = deadline
        self.retry_unexpected = retry_unexpected

    async def request(
        self, client: httpx.AsyncClient, method: str, url: str, *, ok: set[int], **kwargs: Any
    ) -> httpx.Response:
        """`method url` until its status is in `ok` (or not retryable)."""
        give_up = time.monotonic() + self.deadline
        attempt = 0
        while True:
            try:
                response = await client.request(method, url, **kwargs)
            except httpx.TransportError:
                self.observed.transport_errors += 1
            else:
                self.observed.statuses[response.status_code] += 1
                if response.status_code >= 500 and response.status_code not in RETRYABLE:
                    self.observed.unexpected.append(
                        f"{method} {url} → {response.status_code}: {response.text[:200]}"
                    )
                retry = response.status_code in RETRYABLE or (
                    self.retry_unexpected and response.status_code >= 500
                )
                if response.status_code in ok or not retry:
                    return response
            if time.monotonic() > give_up:
                raise GaveUp(f"{method} {url}: no answer in {ok} within {self.deadline} s")
            await asyncio.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
            attempt += 1

    async def upload(
        self, paths: list[Path], *, concurrency: int = 4, **fields: Any
    ) -> dict[str, Any]:
        """init → every chunk → complete, each retried; returns the complete answer."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout) as client:
            init = await self.request(
                client,
                "POST",
                "/api/upload/init",
                ok={201},
                json=init_body(paths, **fields),
                headers=self.bearer,
            )
            assert init.status_code == 201, init.text
            created: dict[str, Any] = init.json()
            await self.send_chunks(client, created, paths, concurrency=concurrency)
            return await self.complete(client, created["upload_id"])

    async def send_chunks(
        self,
        client: httpx.AsyncClient,
        created: dict[str, Any],
        paths: list[Path],
        *,
        concurrency: int = 4,
    ) -> None:
        upload_id, size = created["upload_id"], created["chunk_size"]
        jobs = [(f["index"], i) for f in created["files"] for i in range(f["total_chunks"])]
        semaphore = asyncio.Semaphore(concurrency)

        async def one(file: int, index: int) -> None:
            data = chunk_of(paths[file], index, size)
            async with semaphore:
                started = time.monotonic()
                response = await self.request(
                    client,
                    "PUT",
                    f"/api/upload/{upload_id}/chunk",
                    ok={200},
                    params={"file": file, "index": index},
                    content=data,
                    headers=self.bearer
                    | {
                        "Content-MD5": content_md5(data),
                        "Content-Type": "application/octet-stream",
                    },
                )
                self.observed.chunk_seconds.append(time.monotonic() - started)
            assert response.status_code == 200, f"chunk {file}/{index}: {response.text}"
            assert response.json()["md5"] == hashlib.md5(data).hexdigest()
            self.observed.acknowledged.add((upload_id, file, index))

        await asyncio.gather(*(one(f, i) for f, i in jobs))

    async def complete(self, client: httpx.AsyncClient, upload_id: str) -> dict[str, Any]:
        """`complete` until it is accepted; 202 with state `processing` means another replica
        still runs it, so ask again."""
        give_up = time.monotonic() + self.deadline
        while True:
            response = await self.request(
                client, "POST", f"/api/upload/{upload_id}/complete", ok={202}, headers=self.bearer
            )
            assert response.status_code == 202, response.text
            body: dict[str, Any] = response.json()
            if body["state"] != "processing":
                return body
            assert time.monotonic() < give_up, f"complete of {upload_id} never finished"
            await asyncio.sleep(0.5)

    async def detail(self, upload_id: str) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout) as client:
            response = await self.request(
                client, "GET", f"/api/upload/{upload_id}", ok={200}, headers=self.bearer
            )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait_settled(self, upload_id: str, timeout: float = 120.0) -> dict[str, Any]:
        give_up = time.monotonic() + timeout
        while True:
            detail = await self.detail(upload_id)
            if detail["state"] in {"forwarded", "failed"}:
                return detail
            assert time.monotonic() < give_up, f"{upload_id} still {detail['state']}"
            await asyncio.sleep(0.3)
