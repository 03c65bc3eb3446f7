"""Conformance with the tus 1.0.0 specification (tus/tus-resumable-upload-protocol,
protocol.md): one test per MUST of the core protocol and of each extension this server
announces (creation, creation-with-upload, expiration, checksum, termination,
concatenation), each named after its MUST. Run in process, on SQLite and local storage
(test_tail.py runs the byte placement on every database and storage)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import fresh_database_url
from tests.factories import auth_headers
from tests.tus.tus_helpers import (
    CHUNK,
    OFFSET_STREAM,
    TUS,
    create,
    head,
    metadata,
    open_upload,
    patch,
    pattern,
    token,
)

SIZE = CHUNK + 1000
_INTEGER = re.compile(r"[0-9]+")


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database_url(request, "sqlite", tmp_path)


@pytest.fixture
async def upload(app: FastAPI, client: httpx.AsyncClient) -> dict[str, Any]:
    return await open_upload(client, await auth_headers(app, client), [SIZE, 5000])


@pytest.fixture
async def url(client: httpx.AsyncClient, upload: dict[str, Any]) -> str:
    r = await create(client, upload, 0)
    assert r.status_code == 201, r.text
    return r.headers["Location"]


async def options(client: httpx.AsyncClient, **headers: str) -> httpx.Response:
    return await client.options("/api/tus/", headers=headers)


async def offset_of(client: httpx.AsyncClient, url: str, upload: dict[str, Any]) -> int:
    return int((await head(client, url, upload)).headers["Upload-Offset"])


def extensions(response: httpx.Response) -> list[str]:
    return response.headers["Tus-Extension"].split(",")


# --- core protocol ------------------------------------------------------------------


async def test_upload_offset_must_be_a_non_negative_integer(
    client: httpx.AsyncClient, upload: dict[str, Any], url: str
) -> None:
    assert _INTEGER.fullmatch((await head(client, url, upload)).headers["Upload-Offset"])
    for bad in ("-1", "abc", "1.5", ""):
        r = await patch(client, url, upload, 0, b"x", headers={"Upload-Offset": bad})
        assert r.status_code == 400, bad
        assert r.json()["error"]["code"] == "invalid_tus_header"
    assert await offset_of(client, url, upload) == 0


async def test_upload_length_must_be_a_non_negative_integer(
    client: httpx.AsyncClient, upload: dict[str, Any], url: str
) -> None:
    assert (await head(client, url, upload)).headers["Upload-Length"] == str(SIZE)
    for bad in ("-1", "ten"):
        r = await create(client, upload, 1, headers={"Upload-Length": bad})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_tus_header"


async def test_tus_version_must_list_the_supported_versions_by_preference(
    client: httpx.AsyncClient,
) -> None:
    r = await options(client)
    assert r.headers["Tus-Version"].split(",") == ["1.0.0"]


async def test_tus_resumable_must_be_in_every_response(
    client: httpx.AsyncClient, upload: dict[str, Any], url: str
) -> None:
    answers = [
        await options(client),
        await head(client, url, upload),
        await patch(client, url, upload, 0, b"abc"),
        await patch(client, url, upload, 0, b"abc"),  # 409
        await client.head(url, headers=TUS),  # 401
        await client.post("/api/tus/", headers=TUS),  # 400
        await client.head(
            "/api/tus/00000000-0000-4000-8000-000000000000/0", headers=TUS | token(upload)
        ),
        await client.patch(url, headers={"Upload-Offset": "3"}),  # 412
    ]
    assert [r.headers.get("Tus-Resumable") for r in answers] == ["1.0.0"] * len(answers)
    assert {r.status_code for r in answers} == {204, 200, 409, 401, 400, 404, 412}


async def test_unsupported_version_must_be_412_with_tus_version_and_not_processed(
    client: httpx.AsyncClient, upload: dict[str, Any], url: str
) -> None:
    r = await patch(client, url, upload, 0, b"abc", headers={"Tus-Resumable": "0.2.2"})
    assert r.status_code == 412
    assert r.headers["Tus-Version"] == "1.0.0"
    assert r.json()["error"]["code"] == "tus_version_unsupported"
    assert await offset_of(client, url, upload) == 0
    r = await create(client, upload, 1, headers={"Tus-Resumable": "2.0.0"})
    assert r.status_code == 412 and "Location" not in r.headers


async def test_tus_extension_must_list_the_supported_extensions(
    client: httpx.AsyncClient,
) -> None:
    assert set(extensions(await options(client))) == {
        "creation",
        "creation-with-upload",
        "expiration",
        "checksum",
        "termination",
        "concatenation",
    }


async def test_tus_max_size_must_be_a_non_negative_integer(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    value = (await options(client)).headers["Tus-Max-Size"]
    assert _INTEGER.fullmatch(value)
    assert int(value) == app.state.settings.upload_max_total_bytes


async def test_x_http_method_override_must_be_taken_as_the_method(
    client: httpx.AsyncClient, upload: dict[str, Any], url: str
) -> None:
    sent = TUS | token(upload) | OFFSET_STREAM | {"Upload-Offset": "0"}
    r = await client.post(url, headers=sent | {"X-HTTP-Method-Override": "PATCH"}, content=b"ab")
    assert r.status_code == 204 and r.headers["Upload-Offset"] == "2"
    r = await client.post(url, headers=TUS | token(upload) | {"X-HTTP-Method-Override": "DELETE"})
    assert r.status_code == 204
    assert (await head(client, url, upload)).status_code == 404


async def test_head_must_always_include_upload_offset_even_zero_or_complete(
    client: httpx.AsyncClient, upload: dict[str, Any], url: str
) -> None:
    assert (await head(client, url, upload)).headers["Upload-Offset"] == "0"
    assert (await patch(client, url, upload, 0, pattern(SIZE))).status_code == 204
    assert (await head(client, url, upload)).headers["Upload-Offset"] == str(SIZE)


async def test_head_must_include_upload_length_when_the_size_is_known(
    client: httpx.AsyncClient, upload: dict[str, Any], url: str
) -> None:
    assert (await head(client, url, upload)).headers["Upload-Length"] == str(SIZE)


async def test_head_must_prevent_caching_with_cache_control_no_store(
    client: httpx.AsyncClient, upload: dict[str, Any], url: str
) -> None:
    assert (await head(client, url, upload)).headers["Cache-Control"] == "no-store"


async def test_patch_must_use_offset_octet_stream_else_415(
    client: httpx.AsyncClient, upload: dict[str, Any], url: str
) -> None:
    r = await patch(
        client, url, upload, 0, b"abc", headers={"Content-Type": "application/octet-stream"}
    )
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    assert await offset_of(client, url, upload) == 0


async def test_patch_offset_must_match_else_409_without_modifying(
    client: httpx.AsyncClient, upload: dict[str, Any], url: str
) -> None:
    assert (await patch(client, url, upload, 0, b"abcd")).status_code == 204
    for wrong in (0, 3, 5, SIZE):
        r = await patch(client, url, upload, wrong, b"zz")
        assert r.status_code == 409 and r.json()["error"]["code"] == "offset_mismatch"
    assert await offset_of(client, url, upload) == 4


async def test_patch_must_answer_204_with_the_new_offset(
    client: httpx.AsyncClient, upload: dict[str, Any], url: str
) -> None:
    r = await patch(client, url, upload, 0, pattern(SIZE)[:300])
    assert r.status_code == 204 and r.headers["Upload-Offset"] == "300"
    r = await patch(client, url, upload, 300, pattern(SIZE)[300:])
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(SIZE)


async def test_options_must_contain_tus_version_and_ignore_tus_resumable(
    client: httpx.AsyncClient,
) -> None:
    r = await options(client, **{"Tus-Resumable": "0.0.1"})
    assert r.status_code == 204 and r.headers["Tus-Version"] == "1.0.0"


# --- creation -----------------------------------------------------------------------


async def test_creation_must_be_announced(client: httpx.AsyncClient) -> None:
    assert "creation" in extensions(await options(client))


async def test_creation_must_answer_201_with_a_location(
    client: httpx.AsyncClient, upload: dict[str, Any]
) -> None:
    r = await create(client, upload, 1)
    assert r.status_code == 201
    assert r.headers["Location"] == f"/api/tus/{upload['upload_id']}/1"


async def test_head_must_return_the_metadata_given_at_creation(
    client: httpx.AsyncClient, upload: dict[str, Any]
) -> None:
    sent = metadata(upload_id=upload["upload_id"], file_index=1, filename="scan.dcm") + ",flag"
    r = await create(client, upload, 1, headers={"Upload-Metadata": sent})
    h = await head(client, r.headers["Location"], upload)
    assert h.headers["Upload-Metadata"] == sent


async def test_length_over_the_maximum_must_be_413(
    app: FastAPI, client: httpx.AsyncClient, upload: dict[str, Any]
) -> None:
    too_big = app.state.settings.upload_max_total_bytes + 1
    r = await create(client, upload, 1, length=too_big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "upload_too_large"


async def test_metadata_must_be_key_space_base64_pairs(
    client: httpx.AsyncClient, upload: dict[str, Any]
) -> None:
    good = metadata(upload_id=upload["upload_id"], file_index=1)
    for bad in (good + ",upload_id eA==", good + ",name not*base64", good + ",,", "a b c"):
        r = await create(client, upload, 1, headers={"Upload-Metadata": bad})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_tus_metadata", bad


# --- creation-with-upload -----------------------------------------------------------


async def test_creation_with_upload_must_be_announced_with_creation(
    client: httpx.AsyncClient,
) -> None:
    announced = extensions(await options(client))
    assert "creation-with-upload" in announced and "creation" in announced


async def test_creation_with_upload_must_answer_the_offset_after_the_body(
    client: httpx.AsyncClient, upload: dict[str, Any]
) -> None:
    r = await create(client, upload, 1, content=pattern(5000)[:1234])
    assert r.status_code == 201 and r.headers["Upload-Offset"] == "1234"
    assert await offset_of(client, r.headers["Location"], upload) == 1234


# --- expiration ---------------------------------------------------------------------


async def test_expiration_must_be_announced(client: httpx.AsyncClient) -> None:
    assert "expiration" in extensions(await options(client))


async def test_upload_expires_must_be_in_the_creation_and_every_patch_response(
    client: httpx.AsyncClient, upload: dict[str, Any]
) -> None:
    created = await create(client, upload, 0)
    patched = await patch(client, created.headers["Location"], upload, 0, b"abc")
    expected = parsedate_to_datetime(created.headers["Upload-Expires"])
    assert abs(expected.timestamp() - _timestamp(upload["expires_at"])) < 1
    assert patched.headers["Upload-Expires"] == created.headers["Upload-Expires"]


async def test_upload_expires_must_be_an_http_date(
    client: httpx.AsyncClient, upload: dict[str, Any]
) -> None:
    value = (await create(client, upload, 0)).headers["Upload-Expires"]
    assert re.fullmatch(
        r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
        r" \d{4} \d\d:\d\d:\d\d GMT",
        value,
    ), value


def _timestamp(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


# --- checksum -----------------------------------------------------------------------


def _checksum(algorithm: str, data: bytes) -> str:
    digest = hashlib.new(algorithm, data).digest()
    return f"{algorithm} {base64.b64encode(digest).decode()}"


async def test_checksum_must_be_announced_with_its_algorithms_in_options(
    client: httpx.AsyncClient,
) -> None:
    r = await options(client)
    assert "checksum" in extensions(r)
    algorithms = r.headers["Tus-Checksum-Algorithm"].split(",")
    assert "sha1" in algorithms  # the one every server MUST support
    assert all(re.fullmatch(r"[\x21-\x40\x5b-\x7e]+", a) for a in algorithms)  # no capitals


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256"])
async def test_checksum_must_be_verified_and_a_match_stored(
    client: httpx.AsyncClient, upload: dict[str, Any], url: str, algorithm: str
) -> None:
    data = pattern(SIZE)[: CHUNK + 10]
    r = await patch(
        client, url, upload, 0, data, headers={"Upload-Checksum": _checksum(algorithm, data)}
    )
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(len(data))


async def test_checksum_mismatch_must_be_460_and_discarded(
    client: httpx.AsyncClient, upload: dict[str, Any], url: str
) -> None:
    data = pattern(SIZE)[: CHUNK + 10]
    r = await patch(
        client, url, upload, 0, data, headers={"Upload-Checksum": _checksum("sha1", b"other")}
    )
    assert r.status_code == 460 and r.json()["error"]["code"] == "checksum_mismatch"
    assert await offset_of(client, url, upload) == 0
    status = await client.get(f"/api/upload/{upload['upload_id']}/status", headers=token(upload))
    assert status.json()["files"][0]["received"] == 0


async def test_unsupported_checksum_algorithm_must_be_400_and_discarded(
    client: httpx.AsyncClient, upload: dict[str, Any], url: str
) -> None:
    r = await patch(client, url, upload, 0, b"abc", headers={"Upload-Checksum": "crc32 AAAAAA=="})
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_checksum_algorithm"
    assert await offset_of(client, url, upload) == 0


# --- termination --------------------------------------------------------------------


async def test_termination_must_be_announced(client: httpx.AsyncClient) -> None:
    assert "termination" in extensions(await options(client))


async def test_delete_must_answer_204_and_the_url_then_404(
    client: httpx.AsyncClient, upload: dict[str, Any], url: str
) -> None:
    await patch(client, url, upload, 0, b"abc")
    r = await client.delete(url, headers=TUS | token(upload))
    assert r.status_code == 204
    assert (await head(client, url, upload)).status_code == 404
    assert (await patch(client, url, upload, 0, b"abc")).status_code == 404


# --- concatenation ------------------------------------------------------------------


async def _partials(
    client: httpx.AsyncClient, upload: dict[str, Any], data: bytes, cut: int
) -> list[str]:
    urls = []
    for part in (data[:cut], data[cut:]):
        r = await create(client, upload, 0, length=len(part), headers={"Upload-Concat": "partial"})
        assert r.status_code == 201, r.text
        assert (await patch(client, r.headers["Location"], upload, 0, part)).status_code == 204
        urls.append(r.headers["Location"])
    return urls


async def _final(client: httpx.AsyncClient, upload: dict[str, Any], urls: list[str]) -> str:
    concat = "final;" + " ".join(urls)
    r = await client.post("/api/tus/", headers=TUS | token(upload) | {"Upload-Concat": concat})
    assert r.status_code == 201, r.text
    return r.headers["Location"]


async def test_concatenation_must_be_announced(client: httpx.AsyncClient) -> None:
    assert "concatenation" in extensions(await options(client))


async def test_final_length_must_be_the_sum_of_its_partials(
    client: httpx.AsyncClient, upload: dict[str, Any]
) -> None:
    data = pattern(SIZE, seed=1)
    final = await _final(client, upload, await _partials(client, upload, data, 70_000))
    assert (await head(client, final, upload)).headers["Upload-Length"] == str(SIZE)


async def test_patch_against_a_final_must_be_403_and_modify_nothing(
    client: httpx.AsyncClient, upload: dict[str, Any]
) -> None:
    data = pattern(SIZE, seed=2)
    final = await _final(client, upload, await _partials(client, upload, data, CHUNK))
    r = await patch(client, final, upload, SIZE, b"more")
    assert r.status_code == 403 and r.json()["error"]["code"] == "final_upload"
    r = await patch(client, final, upload, 0, b"other")
    assert r.status_code == 403
    assert (await head(client, final, upload)).headers["Upload-Offset"] == str(SIZE)


async def test_final_head_after_concatenation_must_have_equal_offset_and_length(
    client: httpx.AsyncClient, upload: dict[str, Any]
) -> None:
    data = pattern(SIZE, seed=4)
    final = await _final(client, upload, await _partials(client, upload, data, 1))
    h = await head(client, final, upload)
    assert h.headers["Upload-Offset"] == h.headers["Upload-Length"] == str(SIZE)


async def test_partial_head_must_contain_upload_offset(
    client: httpx.AsyncClient, upload: dict[str, Any]
) -> None:
    r = await create(client, upload, 0, length=500, headers={"Upload-Concat": "partial"})
    await patch(client, r.headers["Location"], upload, 0, b"x" * 120)
    assert (await head(client, r.headers["Location"], upload)).headers["Upload-Offset"] == "120"


async def test_head_must_include_upload_concat_as_received(
    client: httpx.AsyncClient, upload: dict[str, Any]
) -> None:
    data = pattern(SIZE, seed=6)
    urls = await _partials(client, upload, data, 9000)
    for url in urls:
        assert (await head(client, url, upload)).headers["Upload-Concat"] == "partial"
    absolute = ["http://testserver" + urls[0], urls[1]]  # MAY be absolute or relative
    final = await _final(client, upload, absolute)
    assert (await head(client, final, upload)).headers["Upload-Concat"] == "final;" + " ".join(
        absolute
    )
