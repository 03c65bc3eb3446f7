"""The tus endpoint's byte placement: PATCH sizes that do not fall on chunk boundaries,
the durable tail, partial uploads joined by a final one, lengths and ranges, and who may
send (local and S3 storage; SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

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
    s3_overrides,
    status,
    token,
)


@pytest.fixture(params=["local", "s3"])
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {} if request.param == "local" else s3_overrides(request)


def stored_bytes(app: FastAPI, created: dict[str, Any], index: int) -> bytes:
    f = created["files"][index]
    with app.state.storage.open_file(
        created["upload_id"].replace("-", ""), index, f["size"], CHUNK, f["total_chunks"]
    ) as stream:
        data: bytes = stream.read()
    return data


async def test_unaligned_patches_land_every_byte_in_place_and_count_the_tail(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    size = 3 * CHUNK + 1234
    data = pattern(size)
    created = await open_upload(client, await auth_headers(app, client), [size])
    r = await create(client, created, 0)
    assert r.status_code == 201, r.text
    url = r.headers["Location"]
    assert url == f"/api/tus/{created['upload_id']}/0"
    offset = 0
    # 100 KiB pieces: most PATCHes end inside a chunk and the next completes it.
    for step in (100_000, 1, CHUNK, CHUNK - 1, 100_000, size):
        piece = data[offset : offset + step]
        r = await patch(client, url, created, offset, piece)
        assert r.status_code == 204, r.text
        offset += len(piece)
        assert int(r.headers["Upload-Offset"]) == offset
        assert int((await head(client, url, created)).headers["Upload-Offset"]) == offset
        stored = sum(f["received"] for f in (await status(client, created))["files"])
        assert stored == offset // CHUNK + (offset == size)
        if offset == size:
            break
    assert stored_bytes(app, created, 0) == data
    r = await client.post(f"/api/upload/{created['upload_id']}/complete", headers=token(created))
    # Not DICOM: but complete sees every chunk (no upload_incomplete).
    assert r.status_code == 422, r.text


async def test_status_lists_the_chunks_a_tus_patch_completed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    size = 2 * CHUNK + 10
    created = await open_upload(client, await auth_headers(app, client), [size])
    url = (await create(client, created, 0)).headers["Location"]
    r = await patch(client, url, created, 0, pattern(size)[: CHUNK + 5])
    assert r.status_code == 204
    files = (await status(client, created))["files"]
    assert files[0]["received"] == 1 and files[0]["missing"] == [1, 2]


async def test_a_body_past_the_files_end_is_413_before_anything_is_stored(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    created = await open_upload(client, await auth_headers(app, client), [1000])
    url = (await create(client, created, 0)).headers["Location"]
    r = await patch(client, url, created, 0, b"x" * 1001)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert (await head(client, url, created)).headers["Upload-Offset"] == "0"

    async def chunked() -> Any:  # no Content-Length: refused while streaming
        yield b"y" * 1001

    r = await client.patch(
        url,
        headers=TUS | token(created) | OFFSET_STREAM | {"Upload-Offset": "0"},
        content=chunked(),
    )
    assert r.status_code == 413, r.text
    assert (await head(client, url, created)).headers["Upload-Offset"] == "0"


async def test_an_upload_length_other_than_the_declared_size_is_400(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    created = await open_upload(client, await auth_headers(app, client), [1000])
    r = await create(client, created, 0, length=999)
    assert r.status_code == 400 and r.json()["error"]["code"] == "upload_length_mismatch"
    r = await create(client, created, 1, length=1000)
    assert r.status_code == 400 and r.json()["error"]["code"] == "file_out_of_range"


async def test_another_users_token_is_404_and_the_upload_token_or_owner_works(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await auth_headers(app, client)
    stranger = await auth_headers(app, client)
    created = await open_upload(client, owner, [500])
    meta = metadata(upload_id=created["upload_id"], file_index=0)
    base = TUS | {"Upload-Length": "500", "Upload-Metadata": meta}
    r = await client.post("/api/tus/", headers=base | stranger)
    assert r.status_code == 404 and r.json()["error"]["code"] == "upload_not_found"
    r = await client.post("/api/tus/", headers=base | {"X-Upload-Token": "not-the-token"})
    assert r.status_code == 404
    r = await client.post("/api/tus/", headers=base)
    assert r.status_code == 401
    r = await client.post("/api/tus/", headers=base | owner)
    assert r.status_code == 201, r.text
    url = r.headers["Location"]
    assert (await client.head(url, headers=TUS | stranger)).status_code == 404
    r = await client.patch(
        url, headers=TUS | stranger | OFFSET_STREAM | {"Upload-Offset": "0"}, content=b"z"
    )
    assert r.status_code == 404
    assert (await client.delete(url, headers=TUS | stranger)).status_code == 404
    r = await client.patch(
        url, headers=TUS | owner | OFFSET_STREAM | {"Upload-Offset": "0"}, content=b"z" * 500
    )
    assert r.status_code == 204 and r.headers["Upload-Offset"] == "500"


async def test_repeated_creation_is_the_same_file_at_its_current_offset(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    size = CHUNK + 100
    created = await open_upload(client, await auth_headers(app, client), [size])
    url = (await create(client, created, 0)).headers["Location"]
    await patch(client, url, created, 0, pattern(size)[:777])
    again = await create(client, created, 0)
    assert again.status_code == 201 and again.headers["Location"] == url
    assert again.headers["Upload-Offset"] == "777"
    r = await patch(client, url, created, 0, pattern(size)[:10])
    assert r.status_code == 409 and r.json()["error"]["offset"] == 777


async def test_partial_uploads_sent_in_parallel_are_joined_into_the_file(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    size = 2 * CHUNK + 999
    data = pattern(size, seed=3)
    created = await open_upload(client, await auth_headers(app, client), [size])
    cuts = [0, 1000, CHUNK + 5000, size]  # boundaries nowhere near the chunks'
    urls = []
    for start, end in itertools.pairwise(cuts):
        r = await create(
            client, created, 0, length=end - start, headers={"Upload-Concat": "partial"}
        )
        assert r.status_code == 201, r.text
        url = r.headers["Location"]
        # Two PATCHes each, the first ending mid-piece.
        middle = start + (end - start) // 3
        assert (await patch(client, url, created, 0, data[start:middle])).status_code == 204
        r = await patch(client, url, created, middle - start, data[middle:end])
        assert r.status_code == 204 and int(r.headers["Upload-Offset"]) == end - start
        h = await head(client, url, created)
        assert h.headers["Upload-Concat"] == "partial"
        urls.append(url)
    final = "final;" + " ".join(urls)
    r = await client.post("/api/tus/", headers=TUS | token(created) | {"Upload-Concat": final})
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == f"/api/tus/{created['upload_id']}/0"
    h = await head(client, r.headers["Location"], created)
    assert h.headers["Upload-Offset"] == h.headers["Upload-Length"] == str(size)
    assert h.headers["Upload-Concat"] == final
    assert stored_bytes(app, created, 0) == data
    assert hashlib.sha256(stored_bytes(app, created, 0)).digest() == hashlib.sha256(data).digest()
    files = (await status(client, created))["files"]
    assert files[0]["missing"] == []
    r = await patch(client, r.headers["Location"], created, size, b"")
    assert r.status_code == 403


async def test_a_final_whose_partials_do_not_add_up_is_400_and_stores_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    size = 5000
    created = await open_upload(client, await auth_headers(app, client), [size])
    r = await create(client, created, 0, length=4000, headers={"Upload-Concat": "partial"})
    url = r.headers["Location"]
    assert (await patch(client, url, created, 0, pattern(4000))).status_code == 204
    r = await client.post(
        "/api/tus/", headers=TUS | token(created) | {"Upload-Concat": f"final;{url}"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "concat_length_mismatch"
    r = await create(client, created, 0, length=1000, headers={"Upload-Concat": "partial"})
    unfinished = r.headers["Location"]
    r = await client.post(
        "/api/tus/",
        headers=TUS | token(created) | {"Upload-Concat": f"final;{url} {unfinished}"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "partial_incomplete"
    assert (await status(client, created))["files"][0]["received"] == 0


async def test_a_zero_byte_file_is_complete_on_creation(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    created = await open_upload(client, await auth_headers(app, client), [0, 10])
    r = await create(client, created, 0)
    assert r.status_code == 201 and r.headers["Upload-Offset"] == "0"
    assert (await status(client, created))["files"][0]["missing"] == []


async def test_creation_with_upload_stores_the_body_and_answers_its_offset(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    size = CHUNK + 300
    data = pattern(size, seed=5)
    created = await open_upload(client, await auth_headers(app, client), [size])
    r = await create(client, created, 0, content=data[: CHUNK + 7])
    assert r.status_code == 201, r.text
    assert r.headers["Upload-Offset"] == str(CHUNK + 7)
    r = await patch(client, r.headers["Location"], created, CHUNK + 7, data[CHUNK + 7 :])
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(size)
    assert stored_bytes(app, created, 0) == data


async def test_termination_discards_the_file_and_it_can_be_sent_again(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    size = CHUNK + 50
    created = await open_upload(client, await auth_headers(app, client), [size])
    url = (await create(client, created, 0)).headers["Location"]
    await patch(client, url, created, 0, pattern(size)[: CHUNK + 10])
    r = await client.delete(url, headers=TUS | token(created))
    assert r.status_code == 204
    assert (await head(client, url, created)).status_code == 404
    assert (await status(client, created))["files"][0]["received"] == 0
    url = (await create(client, created, 0)).headers["Location"]
    assert (await head(client, url, created)).headers["Upload-Offset"] == "0"
    r = await patch(client, url, created, 0, pattern(size, seed=9))
    assert r.status_code == 204
    assert stored_bytes(app, created, 0) == pattern(size, seed=9)


async def test_an_empty_patch_at_the_end_of_a_finished_file_is_204(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    size = CHUNK + 46_000
    created = await open_upload(client, await auth_headers(app, client), [size])
    url = (await create(client, created, 0)).headers["Location"]
    assert (await patch(client, url, created, 0, pattern(size)[:200_000])).status_code == 204
    r = await patch(client, url, created, 200_000, pattern(size)[200_000:])
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(size)
    r = await patch(client, url, created, size, b"")
    assert r.status_code == 204, r.text
    assert r.headers["Upload-Offset"] == str(size)


@pytest.mark.parametrize(
    "concat",
    [
        "final;",
        "final",
        "final;/api/tus/not-a-uuid/0/partials/0123456789abcdef",
        "final;/api/tus/--------------------------------/0/partials/0123456789abcdef",
        "final;http://[::1/api/tus/x",
        "partial;x",
        "final;/api/tus/00000000-0000-4000-8000-000000000000/0/partials/0123456789abcdef",
    ],
)
async def test_a_malformed_or_foreign_upload_concat_is_a_4xx_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, concat: str
) -> None:
    created = await open_upload(client, await auth_headers(app, client), [100])
    meta = metadata(upload_id=created["upload_id"], file_index=0)
    r = await client.post(
        "/api/tus/",
        headers=TUS | token(created) | {"Upload-Concat": concat, "Upload-Metadata": meta},
    )
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]["code"] in {"invalid_upload_concat", "partial_not_found"}
    assert (await status(client, created))["files"][0]["received"] == 0


async def test_memory_stays_bounded_while_one_patch_streams_a_48_mib_file(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    import tracemalloc

    size = 48 * 1024 * 1024 + 777
    created = await open_upload(
        client, await auth_headers(app, client), [size], chunk_size=1024 * 1024
    )
    url = (await create(client, created, 0)).headers["Location"]
    block = pattern(64 * 1024, seed=11)

    async def body() -> Any:
        for start in range(0, size, len(block)):
            yield block[: min(len(block), size - start)]

    tracemalloc.start()
    try:
        r = await client.patch(
            url,
            headers=TUS | token(created) | OFFSET_STREAM | {"Upload-Offset": "0"},
            content=body(),
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(size)
    # About a chunk (1 MiB) held at a time, never the file.
    assert peak < 12 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a 48 MiB PATCH"


@pytest.mark.parametrize("index", ["²", "١", "0x1", "-1", "1 "])
async def test_a_file_index_that_is_not_ascii_digits_is_a_clean_4xx_in_metadata_and_url(
    app: FastAPI, client: httpx.AsyncClient, index: str
) -> None:
    """str.isdigit() accepts "²" (int() then fails) and "١" (one resource, two URLs)."""
    created = await open_upload(client, await auth_headers(app, client), [1000])
    sent = (
        TUS
        | token(created)
        | {
            "Upload-Length": "1000",
            "Upload-Metadata": metadata(upload_id=created["upload_id"], file_index=index),
        }
    )
    r = await client.post("/api/tus/", headers=sent)
    assert 400 <= r.status_code < 500, r.text
    r = await client.head(f"/api/tus/{created['upload_id']}/{index}", headers=TUS | token(created))
    assert r.status_code == 404
    assert (await status(client, created))["files"][0]["received"] == 0


async def test_partial_uploads_per_file_are_bounded_and_a_final_names_each_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Each partial may hold up to the file's size: their number bounds what one upload
    token can put in storage."""
    created = await open_upload(client, await auth_headers(app, client), [1000])
    urls = []
    for _ in range(32):
        r = await create(client, created, 0, length=1000, headers={"Upload-Concat": "partial"})
        assert r.status_code == 201, r.text
        urls.append(r.headers["Location"])
    r = await create(client, created, 0, length=1000, headers={"Upload-Concat": "partial"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "too_many_partials"
    assert (await patch(client, urls[0], created, 0, pattern(1000))).status_code == 204
    r = await client.post(
        "/api/tus/",
        headers=TUS | token(created) | {"Upload-Concat": f"final;{urls[0]} {urls[0]}"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_upload_concat"
    assert (await status(client, created))["files"][0]["received"] == 0


def racing_request_stores(
    monkeypatch: pytest.MonkeyPatch, app: FastAPI, created: dict[str, Any], name: str, data: bytes
) -> None:
    """Make a racing request store `name` just after the next PATCH has read its offset."""
    from relaypacs.uploads.tus import service

    real = service.position

    async def position_then_race(*args: Any, **kwargs: Any) -> Any:
        where = await real(*args, **kwargs)
        monkeypatch.setattr(service, "position", real)
        assert await app.state.storage.write_tail(created["upload_id"].replace("-", ""), name, data)
        return where

    monkeypatch.setattr(service, "position", position_then_race)


async def test_a_racing_patch_never_replaces_a_partial_piece_another_request_stored(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = CHUNK + 10
    created = await open_upload(client, await auth_headers(app, client), [size])
    r = await create(client, created, 0, length=size, headers={"Upload-Concat": "partial"})
    url = r.headers["Location"]
    partial = url.rsplit("/", 1)[1]
    theirs, ours = pattern(size, seed=1), pattern(size, seed=2)
    racing_request_stores(monkeypatch, app, created, f"p0-{partial}.k0", theirs[:CHUNK])

    r = await patch(client, url, created, 0, ours)
    assert r.status_code == 409 and r.json()["error"]["code"] == "chunk_conflict", r.text
    storage_id = created["upload_id"].replace("-", "")
    assert await app.state.storage.read_tail(storage_id, f"p0-{partial}.k0") == theirs[:CHUNK]
    assert (await head(client, url, created)).headers["Upload-Offset"] == str(CHUNK)
    # The racing request's own bytes again (a retry) are no conflict.
    r = await patch(client, url, created, CHUNK, theirs[CHUNK:])
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(size)


async def test_a_racing_patch_never_replaces_a_tail_another_request_stored(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = CHUNK + 100
    created = await open_upload(client, await auth_headers(app, client), [size])
    url = (await create(client, created, 0)).headers["Location"]
    theirs, ours = pattern(500, seed=1), pattern(500, seed=2)
    racing_request_stores(monkeypatch, app, created, "f0.c0.t500", theirs)

    r = await patch(client, url, created, 0, ours)
    assert r.status_code == 409 and r.json()["error"]["code"] == "chunk_conflict", r.text
    storage_id = created["upload_id"].replace("-", "")
    assert await app.state.storage.read_tail(storage_id, "f0.c0.t500") == theirs
    assert (await head(client, url, created)).headers["Upload-Offset"] == "500"
    racing_request_stores(monkeypatch, app, created, "f0.c0.t600", theirs + b"x" * 100)
    r = await patch(client, url, created, 500, b"x" * 100)  # the same bytes: a retry
    assert r.status_code == 204 and r.headers["Upload-Offset"] == "600"


async def test_creating_a_joined_file_again_keeps_what_it_joined(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    size = 3000
    data = pattern(size, seed=4)
    created = await open_upload(client, await auth_headers(app, client), [size])
    urls = []
    for start, end in ((0, 1000), (1000, size)):
        r = await create(
            client, created, 0, length=end - start, headers={"Upload-Concat": "partial"}
        )
        assert (await patch(client, r.headers["Location"], created, 0, data[start:end])).is_success
        urls.append(r.headers["Location"])
    final = "final;" + " ".join(urls)
    r = await client.post("/api/tus/", headers=TUS | token(created) | {"Upload-Concat": final})
    assert r.status_code == 201, r.text
    again = await create(client, created, 0)
    assert again.status_code == 201 and again.headers["Upload-Offset"] == str(size)
    h = await head(client, again.headers["Location"], created)
    assert h.headers["Upload-Concat"] == final
    assert stored_bytes(app, created, 0) == data


async def test_a_file_created_plainly_then_joined_from_partials_is_the_final_upload(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    size = 2000
    data = pattern(size, seed=5)
    created = await open_upload(client, await auth_headers(app, client), [size])
    url = (await create(client, created, 0)).headers["Location"]  # created, no bytes sent
    r = await create(client, created, 0, length=size, headers={"Upload-Concat": "partial"})
    assert (await patch(client, r.headers["Location"], created, 0, data)).status_code == 204
    final = f"final;{r.headers['Location']}"
    r = await client.post("/api/tus/", headers=TUS | token(created) | {"Upload-Concat": final})
    assert r.status_code == 201 and r.headers["Location"] == url, r.text
    h = await head(client, url, created)
    assert h.headers["Upload-Concat"] == final and h.headers["Upload-Offset"] == str(size)
    assert (await patch(client, url, created, size, b"")).status_code == 403  # read-only
    assert stored_bytes(app, created, 0) == data
