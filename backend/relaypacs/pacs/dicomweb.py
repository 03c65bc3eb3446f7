"""DICOMweb over httpx: STOW-RS streamed from storage, QIDO-RS, WADO-RS, a health probe.

httpx rather than dicomweb-client here because STOW must stream instances from storage
(dicomweb-client's store_instances holds every dataset of a batch in memory) and these
calls must not block the event loop.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol
from urllib.parse import quote

import anyio
import anyio.to_thread
import httpx
from pydicom.uid import UID

from relaypacs.pacs.config import DestinationSettings, PacsAuth
from relaypacs.pacs.stow import StowResult, parse_response

READ_BLOCK = 1024 * 1024


class InstanceSource(Protocol):
    size: int
    sop_instance_uid: str

    def open(self) -> BinaryIO:
        """A Part 10 byte stream of the instance (called in a worker thread)."""


class OidcClientCredentials(httpx.Auth):
    """OAuth2 client-credentials (e.g. dcm4chee-arc behind Keycloak), refreshed as needed."""

    def __init__(
        self, token_url: str, client_id: str, client_secret: str, verify: bool | str = True
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.verify = verify
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = anyio.Lock()

    async def _fetch(self) -> str:
        async with httpx.AsyncClient(verify=self.verify, timeout=30) as client:
            response = await client.post(
                self.token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                },
            )
            response.raise_for_status()
            body = response.json()
        self._token = str(body["access_token"])
        self._expires_at = time.monotonic() + float(body.get("expires_in", 300)) - 30
        return self._token

    async def token(self, *, force: bool = False) -> str:
        async with self._lock:
            if force or self._token is None or time.monotonic() >= self._expires_at:
                return await self._fetch()
            return self._token

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("OIDC auth is async-only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = f"Bearer {await self.token()}"
        response = yield request
        if response.status_code == 401:
            # A streamed STOW body cannot be replayed: fetch a fresh token for the
            # next attempt, which the outbox schedules anyway.
            self._token = None


def build_auth(dest: DestinationSettings) -> httpx.Auth | None:
    if dest.auth is PacsAuth.basic:
        return httpx.BasicAuth(dest.username, dest.password.get_secret_value())
    if dest.auth is PacsAuth.oidc:
        return OidcClientCredentials(
            dest.oidc_token_url,
            dest.oidc_client_id,
            dest.oidc_client_secret.get_secret_value(),
            verify=dest.ca_bundle or dest.verify_tls,
        )
    return None


def build_client(dest: DestinationSettings) -> httpx.AsyncClient:
    headers = {}
    if dest.auth is PacsAuth.bearer:
        headers["Authorization"] = f"Bearer {dest.token.get_secret_value()}"
    return httpx.AsyncClient(
        base_url=dest.url,
        auth=build_auth(dest),
        headers=headers,
        verify=dest.ca_bundle or dest.verify_tls,
        timeout=httpx.Timeout(dest.timeout_seconds, connect=10.0),
        limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
    )


@dataclass(frozen=True, slots=True)
class Multipart:
    boundary: str
    parts: Sequence[InstanceSource]

    def _head(self) -> bytes:
        return f"--{self.boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()

    @property
    def content_type(self) -> str:
        return f'multipart/related; type="application/dicom"; boundary={self.boundary}'

    @property
    def length(self) -> int:
        tail = len(f"--{self.boundary}--\r\n")
        return sum(len(self._head()) + p.size + 2 for p in self.parts) + tail

    async def stream(self) -> AsyncIterator[bytes]:
        """Yield the body one block at a time: memory stays flat whatever the batch size."""
        for part in self.parts:
            yield self._head()
            handle = await anyio.to_thread.run_sync(part.open)
            try:
                sent = 0
                while True:
                    block = await anyio.to_thread.run_sync(handle.read, READ_BLOCK)
                    if not block:
                        break
                    sent += len(block)
                    yield block
                if sent != part.size:
                    raise OSError(f"instance {part.sop_instance_uid}: {sent} bytes of {part.size}")
            finally:
                await anyio.to_thread.run_sync(handle.close)
            yield b"\r\n"
        yield f"--{self.boundary}--\r\n".encode()


class UnsafeIdentifier(ValueError):
    """An identifier that is not a DICOM UID: it never goes into a URL."""


_SUFFIXES = frozenset({"", "/series", "/instances", "/metadata"})


def resource_path(
    study_uid: str, series_uid: str | None = None, sop_uid: str | None = None, suffix: str = ""
) -> str:
    """The one way to name a DICOMweb resource: `/studies/{study}[/series/{series}
    [/instances/{sop}]]{suffix}`, each UID checked (PS3.5 §9) and quoted as one segment."""
    if suffix not in _SUFFIXES:
        raise ValueError(f"unknown DICOMweb resource suffix {suffix!r}")
    path = ""
    for name, uid in (("studies", study_uid), ("series", series_uid), ("instances", sop_uid)):
        if uid is None:
            break
        path += f"/{name}/{quote(checked_uid(uid), safe='')}"
    return path + suffix


def checked_uid(uid: str) -> str:
    """`uid` if it is a DICOM UID (PS3.5 §9), else UnsafeIdentifier: for paths and queries."""
    if not UID(uid).is_valid:
        raise UnsafeIdentifier(f"not a DICOM UID: {uid[:80]!r}")
    return uid


class DicomWeb:
    """One destination's DICOMweb endpoints."""

    def __init__(self, name: str, settings: DestinationSettings) -> None:
        self.name = name
        self.settings = settings
        self.client = build_client(settings)

    async def close(self) -> None:
        await self.client.aclose()

    async def ping(self) -> None:
        """A cheap QIDO: raises when the PACS cannot answer."""
        response = await self.client.get(
            "/studies",
            params={"limit": "1"},
            headers={"Accept": "application/dicom+json"},
            timeout=10.0,
        )
        if response.status_code not in (200, 204):
            raise httpx.HTTPStatusError(
                f"QIDO answered {response.status_code}", request=response.request, response=response
            )

    async def store(self, study_uid: str, parts: Sequence[InstanceSource]) -> StowResult:
        body = Multipart(boundary=f"relaypacs-{uuid.uuid4().hex}", parts=parts)
        try:
            response = await self.client.post(
                resource_path(study_uid),
                content=body.stream(),
                headers={
                    "Content-Type": body.content_type,
                    "Content-Length": str(body.length),
                    "Accept": "application/dicom+json",
                },
            )
        except httpx.HTTPError as exc:
            return StowResult(http_status=None, error=f"{type(exc).__name__}: {exc}"[:300])
        try:
            payload: Any = response.json() if response.content else None
        except ValueError:
            payload = None
        return parse_response(
            response.status_code, payload, {k.lower(): v for k, v in response.headers.items()}
        )

    async def study_instance_count(self, study_uid: str) -> int | None:
        """QIDO-RS: the study's NumberOfStudyRelatedInstances (0 when the PACS does not
        hold it); None when the PACS does not say (then ask for the instances)."""
        rows = await self._qido(
            "/studies", {"StudyInstanceUID": checked_uid(study_uid), "includefield": "00201208"}
        )
        counts = [_value(row, "00201208") for row in rows if _value(row, "0020000D") == study_uid]
        if not rows:
            return 0
        try:
            # One row per patient the study is held under (see study_patient_ids).
            return sum(int(count) for count in counts) if counts else None
        except (TypeError, ValueError):
            return None

    async def study_instance_uids(self, study_uid: str) -> set[str]:
        """QIDO-RS: every SOP Instance UID of the study the PACS holds (paged)."""
        found: set[str] = set()
        offset, page = 0, 1000
        while True:
            response = await self.client.get(
                resource_path(study_uid, suffix="/instances"),
                params={"includefield": "00080018", "limit": str(page), "offset": str(offset)},
                headers={"Accept": "application/dicom+json"},
            )
            if response.status_code == 204 or (response.status_code == 404 and offset == 0):
                return found
            response.raise_for_status()
            rows = response.json() or []
            for row in rows:
                uid = ((row.get("00080018") or {}).get("Value") or [None])[0]
                if uid:
                    found.add(str(uid))
            if len(rows) < page:
                return found
            offset += page

    async def search_studies(self, **params: str) -> list[dict[str, Any]]:
        """QIDO-RS study search (for other domains, e.g. the reports sync)."""
        response = await self.client.get(
            "/studies", params=params, headers={"Accept": "application/dicom+json"}
        )
        if response.status_code == 204:
            return []
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json() or []
        return result

    async def study_patient_ids(self, study_uid: str) -> set[str]:
        """QIDO-RS: the PatientIDs the PACS holds this StudyInstanceUID under ("" for an
        empty one); an empty set when it does not hold the study."""
        rows = await self._qido(
            "/studies", {"StudyInstanceUID": checked_uid(study_uid), "includefield": "00100020"}
        )
        found: set[str] = set()
        for row in rows:
            # A PACS that ignored the filter must not make another study a conflict.
            if _value(row, "0020000D") not in (None, study_uid):
                continue
            found.add(str(_value(row, "00100020") or "").strip())
        return found

    async def study_metadata(self, study_uid: str) -> list[dict[str, Any]]:
        """WADO-RS study metadata (DICOM JSON, no bulk data)."""
        response = await self.client.get(
            resource_path(study_uid, suffix="/metadata"),
            headers={"Accept": "application/dicom+json"},
        )
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json() or []
        return result

    async def search_series(self, study_uid: str, **params: str) -> list[dict[str, Any]]:
        """QIDO-RS: the series of a study (DICOM JSON); [] when the PACS has none."""
        return await self._qido(resource_path(study_uid, suffix="/series"), params)

    async def search_instances(
        self, study_uid: str, series_uid: str, **params: str
    ) -> list[dict[str, Any]]:
        """QIDO-RS: the instances of one series (DICOM JSON)."""
        return await self._qido(resource_path(study_uid, series_uid, suffix="/instances"), params)

    async def _qido(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        response = await self.client.get(
            path, params=params, headers={"Accept": "application/dicom+json"}
        )
        if response.status_code in (204, 404):
            return []
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json() if response.content else []
        return result or []

    async def retrieve_instance(self, study_uid: str, series_uid: str, sop_uid: str) -> bytes:
        """WADO-RS: one instance as Part 10 bytes (the first part of the multipart reply)."""
        response = await self.client.get(
            resource_path(study_uid, series_uid, sop_uid),
            headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'},
        )
        response.raise_for_status()
        parts = multipart_parts(response.headers.get("content-type", ""), response.content)
        if not parts:
            raise httpx.DecodingError(
                "WADO-RS reply without a DICOM part", request=response.request
            )
        return parts[0]


def _value(row: dict[str, Any], tag: str) -> Any:
    """The first value of a DICOM JSON attribute (None when absent or empty)."""
    values = (row.get(tag) or {}).get("Value") or [None]
    return values[0]


def multipart_parts(content_type: str, body: bytes) -> list[bytes]:
    """The payloads of a multipart/related body (headers dropped)."""
    boundary = ""
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip().strip('"')
    if not boundary:
        return []
    delimiter = b"--" + boundary.encode()
    parts = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        _headers, separator, payload = chunk.partition(b"\r\n\r\n")
        if not separator:
            continue
        parts.append(payload[:-2] if payload.endswith(b"\r\n") else payload)
    return parts
