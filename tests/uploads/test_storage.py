"""The storage contract, run over both backends: a local directory and S3 (a real moto server)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import random
import threading
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from relaypacs.uploads.dicom import inspect_file
from relaypacs.uploads.storage import (
    LocalStorage,
    S3Storage,
    Storage,
    StorageError,
    StoredDataMissing,
    create_storage,
)
from tests.dicom_factory import pydicom_file
from tests.servers import MotoS3Server

KIB = 1024
MIB = 1024 * KIB
CREDENTIALS: dict[str, Any] = {"access_key": "test", "secret_key": "test", "region": "us-east-1"}


def make_s3(server: MotoS3Server, bucket: str, prefix: str = "relay/") -> S3Storage:
    return S3Storage(bucket=bucket, prefix=prefix, endpoint_url=server.endpoint_url, **CREDENTIALS)


@pytest.fixture
async def s3_storage(s3_server: MotoS3Server) -> AsyncIterator[S3Storage]:
    """S3 storage on the shared moto server, in a fresh bucket."""
    s3 = make_s3(s3_server, f"relay-{uuid.uuid4().hex[:12]}")
    await s3.ensure_bucket()
    try:
        yield s3
    finally:
        s3.close()


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """Each backend in turn: every test using it runs on both."""
    if request.param == "local":
        return LocalStorage(tmp_path / "store")
    s3: S3Storage = request.getfixturevalue("s3_storage")
    return s3


def new_upload_id() -> str:
    return uuid.uuid4().hex


def chunks_of(data: bytes, chunk_size: int) -> list[bytes]:
    return [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] or [b""]


async def store_file(
    storage: Storage,
    upload_id: str,
    file_index: int,
    data: bytes,
    chunk_size: int,
    order: list[int],
) -> None:
    parts = chunks_of(data, chunk_size)
    for index in order:
        await storage.write_chunk(
            upload_id, file_index, index, index * chunk_size, parts[index], len(data)
        )


def read_all(
    storage: Storage, upload_id: str, file_index: int, size: int, chunk_size: int
) -> bytes:
    total = max(1, -(-size // chunk_size))
    with storage.open_file(upload_id, file_index, size, chunk_size, total) as stream:
        return stream.read()


# --- assembling ---------------------------------------------------------------------


async def test_out_of_order_chunk_writes_assemble_a_byte_identical_file(storage: Storage) -> None:
    data = random.Random(1).randbytes(10 * KIB + 123)
    order = list(range(11))
    random.Random(2).shuffle(order)
    upload_id = new_upload_id()

    await store_file(storage, upload_id, 0, data, KIB, order)

    assert await anyio.to_thread.run_sync(read_all, storage, upload_id, 0, len(data), KIB) == data


async def test_concurrent_chunk_writes_do_not_corrupt_each_other(storage: Storage) -> None:
    chunk_size = 64 * KIB
    files = [random.Random(10 + i).randbytes(16 * chunk_size - 7) for i in range(2)]
    upload_id = new_upload_id()
    jobs = [
        (file_index, index, part)
        for file_index, data in enumerate(files)
        for index, part in enumerate(chunks_of(data, chunk_size))
    ]
    random.Random(3).shuffle(jobs)

    async with anyio.create_task_group() as tg:
        for file_index, index, part in jobs:  # 32 writes in flight at once
            tg.start_soon(
                storage.write_chunk,
                upload_id,
                file_index,
                index,
                index * chunk_size,
                part,
                len(files[file_index]),
            )

    for file_index, data in enumerate(files):
        assembled = await anyio.to_thread.run_sync(
            read_all, storage, upload_id, file_index, len(data), chunk_size
        )
        assert hashlib.sha256(assembled).hexdigest() == hashlib.sha256(data).hexdigest()


async def test_writing_the_same_chunk_twice_keeps_one_copy(storage: Storage) -> None:
    data = random.Random(4).randbytes(3 * KIB)
    upload_id = new_upload_id()
    await store_file(storage, upload_id, 0, data, KIB, [0, 1, 2, 1, 1])

    assert await storage.read_chunk(upload_id, 0, 1, KIB, KIB) == data[KIB : 2 * KIB]
    assert await anyio.to_thread.run_sync(read_all, storage, upload_id, 0, len(data), KIB) == data


async def test_write_chunk_runs_its_blocking_work_in_a_worker_thread(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[threading.Thread] = []
    original = storage._write_chunk

    def spy(*args: Any) -> None:
        seen.append(threading.current_thread())
        original(*args)

    monkeypatch.setattr(storage, "_write_chunk", spy)
    await storage.write_chunk(new_upload_id(), 0, 0, 0, b"abc", 3)

    assert seen and seen[0] is not threading.main_thread()


async def test_a_chunk_past_the_declared_size_is_refused(storage: Storage) -> None:
    with pytest.raises(ValueError, match="past the declared file size"):
        await storage.write_chunk(new_upload_id(), 0, 1, KIB, b"x" * KIB, KIB + 10)


@pytest.mark.parametrize("bad_id", ["../etc", "a/b", "", ".hidden", "x" * 129])
async def test_unsafe_upload_ids_are_refused(storage: Storage, bad_id: str) -> None:
    with pytest.raises(ValueError, match="upload id"):
        await storage.write_chunk(bad_id, 0, 0, 0, b"x", 1)


# --- reading back -------------------------------------------------------------------


async def test_read_chunk_returns_exactly_the_stored_bytes(storage: Storage) -> None:
    data = random.Random(5).randbytes(2 * KIB + 10)
    upload_id = new_upload_id()
    await store_file(storage, upload_id, 3, data, KIB, [2, 0, 1])

    assert await storage.read_chunk(upload_id, 3, 0, 0, KIB) == data[:KIB]
    assert await storage.read_chunk(upload_id, 3, 2, 2 * KIB, 10) == data[2 * KIB :]


async def test_reading_a_chunk_never_stored_raises_stored_data_missing(storage: Storage) -> None:
    with pytest.raises(StoredDataMissing):
        await storage.read_chunk(new_upload_id(), 0, 0, 0, KIB)


async def test_hash_pass_matches_hashlib_over_the_source(storage: Storage) -> None:
    chunk_size = 4 * KIB
    data = random.Random(6).randbytes(9 * chunk_size + 1)
    upload_id = new_upload_id()
    await store_file(storage, upload_id, 1, data, chunk_size, list(range(10))[::-1])

    sha256, md5s = await storage.file_sha256_and_chunk_md5s(upload_id, 1, len(data), chunk_size, 10)

    assert sha256 == hashlib.sha256(data).hexdigest()
    assert md5s == [hashlib.md5(part).hexdigest() for part in chunks_of(data, chunk_size)]


async def test_s3_hash_pass_over_a_file_with_a_missing_chunk_raises(s3_storage: S3Storage) -> None:
    data = random.Random(7).randbytes(4 * KIB)
    upload_id = new_upload_id()
    await store_file(s3_storage, upload_id, 0, data, KIB, [0, 1, 3])

    with pytest.raises(StoredDataMissing):
        await s3_storage.file_sha256_and_chunk_md5s(upload_id, 0, len(data), KIB, 4)


async def test_a_hole_in_a_local_file_shows_up_as_a_wrong_chunk_md5(tmp_path: Path) -> None:
    local = LocalStorage(tmp_path)
    data = random.Random(8).randbytes(4 * KIB)
    upload_id = new_upload_id()
    await store_file(local, upload_id, 0, data, KIB, [0, 1, 3])

    _, md5s = await local.file_sha256_and_chunk_md5s(upload_id, 0, len(data), KIB, 4)

    expected = [hashlib.md5(part).hexdigest() for part in chunks_of(data, KIB)]
    assert [a == b for a, b in zip(md5s, expected, strict=True)] == [True, True, False, True]


async def test_a_zero_byte_file_reads_and_hashes_as_empty(storage: Storage) -> None:
    upload_id = new_upload_id()
    await storage.write_chunk(upload_id, 0, 0, 0, b"", 0)

    assert await anyio.to_thread.run_sync(read_all, storage, upload_id, 0, 0, KIB) == b""
    sha256, md5s = await storage.file_sha256_and_chunk_md5s(upload_id, 0, 0, KIB, 1)
    assert (sha256, md5s) == (hashlib.sha256(b"").hexdigest(), [hashlib.md5(b"").hexdigest()])


async def test_a_layout_that_does_not_describe_the_file_is_refused(storage: Storage) -> None:
    with pytest.raises(ValueError, match="chunks"):
        await storage.file_sha256_and_chunk_md5s(new_upload_id(), 0, 10 * KIB, KIB, 9)


def _seek_and_read_checks(storage: Storage, upload_id: str, data: bytes, chunk_size: int) -> None:
    total = -(-len(data) // chunk_size)
    rng = random.Random(9)
    with storage.open_file(upload_id, 0, len(data), chunk_size, total) as stream:
        assert stream.seekable()
        assert stream.read(10) == data[:10]
        assert stream.tell() == 10
        # Reads that cross one and several chunk boundaries.
        stream.seek(chunk_size - 5)
        assert stream.read(10) == data[chunk_size - 5 : chunk_size + 5]
        stream.seek(chunk_size // 2)
        assert (
            stream.read(3 * chunk_size) == data[chunk_size // 2 : chunk_size // 2 + 3 * chunk_size]
        )
        # Backwards, relative and from-the-end seeks, as pydicom does.
        stream.seek(-20, io.SEEK_CUR)
        position = stream.tell()
        assert stream.read(20) == data[position : position + 20]
        assert stream.seek(-7, io.SEEK_END) == len(data) - 7
        assert stream.read() == data[-7:]
        assert stream.read(5) == b""
        for _ in range(50):
            start = rng.randrange(len(data))
            length = rng.randrange(1, 3 * chunk_size)
            stream.seek(start)
            assert stream.read(length) == data[start : start + length]
        stream.seek(0)
        assert stream.read() == data


async def test_open_file_streams_and_seeks_across_chunks(storage: Storage) -> None:
    chunk_size = 300 * KIB  # bigger than the S3 reader's buffer, so both paths run
    data = random.Random(10).randbytes(5 * chunk_size + 4321)
    upload_id = new_upload_id()
    await store_file(storage, upload_id, 0, data, chunk_size, list(range(6)))

    await anyio.to_thread.run_sync(_seek_and_read_checks, storage, upload_id, data, chunk_size)


async def test_s3_stream_raises_when_reading_reaches_a_missing_chunk(s3_storage: S3Storage) -> None:
    data = random.Random(11).randbytes(3 * KIB)
    upload_id = new_upload_id()
    await store_file(s3_storage, upload_id, 0, data, KIB, [0, 1])

    def read() -> None:
        with s3_storage.open_file(upload_id, 0, len(data), KIB, 3) as stream:
            assert stream.read(2 * KIB) == data[: 2 * KIB]
            stream.read(KIB)

    with pytest.raises(StoredDataMissing):
        await anyio.to_thread.run_sync(read)


async def test_pydicom_reads_headers_straight_from_the_stored_chunks(storage: Storage) -> None:
    data = pydicom_file("CT_small.dcm").read_bytes()
    chunk_size = 997  # odd, so elements straddle chunk boundaries
    upload_id = new_upload_id()
    total = -(-len(data) // chunk_size)
    await store_file(storage, upload_id, 0, data, chunk_size, list(range(total))[::-1])

    def inspect() -> Any:
        with storage.open_file(upload_id, 0, len(data), chunk_size, total) as stream:
            return inspect_file(stream)

    inspection = await anyio.to_thread.run_sync(inspect)

    assert inspection.is_instance
    assert inspection.instance.sop_instance_uid == "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"


# --- housekeeping -------------------------------------------------------------------


async def test_delete_upload_removes_everything_and_reports_the_bytes(storage: Storage) -> None:
    keep, drop = new_upload_id(), new_upload_id()
    for upload_id in (keep, drop):
        await store_file(storage, upload_id, 0, b"a" * 2500, KIB, [0, 1, 2])
        await store_file(storage, upload_id, 1, b"b" * 100, KIB, [0])
    assert await storage.list_upload_ids() == sorted([keep, drop])

    assert await storage.delete_upload(drop) == 2600
    assert await storage.list_upload_ids() == [keep]
    with pytest.raises(StoredDataMissing):
        await storage.read_chunk(drop, 0, 0, 0, KIB)
    assert await storage.read_chunk(keep, 1, 0, 0, 100) == b"b" * 100
    assert await storage.delete_upload(drop) == 0


async def test_an_upload_can_be_written_again_after_it_was_deleted(storage: Storage) -> None:
    upload_id = new_upload_id()
    await store_file(storage, upload_id, 0, b"x" * 10, KIB, [0])
    await storage.delete_upload(upload_id)
    await store_file(storage, upload_id, 0, b"y" * 10, KIB, [0])

    assert await storage.read_chunk(upload_id, 0, 0, 0, 10) == b"y" * 10


async def test_list_upload_ids_is_empty_for_new_storage(storage: Storage) -> None:
    assert await storage.list_upload_ids() == []


async def test_ping_succeeds_on_working_storage(storage: Storage) -> None:
    await storage.ping()


# --- tails (the tus endpoint's bytes past the last whole chunk) and deleting a file ---


async def test_a_tail_is_written_read_listed_and_deleted(storage: Storage) -> None:
    upload_id = new_upload_id()
    assert await storage.read_tail(upload_id, "f0.c1.t5") is None
    assert await storage.list_tails(upload_id, "f0.") == {}
    await storage.write_tail(upload_id, "f0.c1.t5", b"hello")
    await storage.write_tail(upload_id, "f0.res", b"{}")
    await storage.write_tail(upload_id, "f10.c0.t1", b"x")  # another file: not f0's

    assert await storage.read_tail(upload_id, "f0.c1.t5") == b"hello"
    assert await storage.list_tails(upload_id, "f0.") == {"f0.c1.t5": 5, "f0.res": 2}
    assert await storage.list_tails(upload_id, "f0.c") == {"f0.c1.t5": 5}
    await storage.delete_tails(upload_id, ["f0.c1.t5", "f0.never-written"])
    assert await storage.list_tails(upload_id, "f0.") == {"f0.res": 2}
    assert await storage.read_tail(upload_id, "f0.c1.t5") is None


async def test_a_tail_is_written_once_and_a_second_write_leaves_it_whole(
    storage: Storage,
) -> None:
    upload_id = new_upload_id()
    assert await storage.write_tail(upload_id, "p0-x.k0", b"a" * 300 * KIB) is True
    assert await storage.write_tail(upload_id, "p0-x.k0", b"b" * 10) is False
    assert await storage.read_tail(upload_id, "p0-x.k0") == b"a" * 300 * KIB
    assert await storage.list_tails(upload_id, "p0-x.") == {"p0-x.k0": 300 * KIB}
    await storage.delete_tails(upload_id, ["p0-x.k0"])
    assert await storage.write_tail(upload_id, "p0-x.k0", b"b" * 10) is True
    assert await storage.read_tail(upload_id, "p0-x.k0") == b"b" * 10


async def test_of_two_racing_writes_of_one_tail_exactly_one_is_stored(storage: Storage) -> None:
    upload_id = new_upload_id()
    contenders = [bytes([n]) * 64 * KIB for n in range(8)]
    written = await asyncio.gather(
        *(storage.write_tail(upload_id, "f0.c0.t65536", data) for data in contenders)
    )
    assert sorted(written) == [False] * 7 + [True]
    assert await storage.read_tail(upload_id, "f0.c0.t65536") == contenders[written.index(True)]


async def test_tails_go_with_their_upload(storage: Storage) -> None:
    upload_id, other = new_upload_id(), new_upload_id()
    await store_file(storage, upload_id, 0, b"a" * 100, KIB, [0])
    await storage.write_tail(upload_id, "f0.c0.t3", b"abc")
    await storage.write_tail(other, "f0.c0.t3", b"xyz")

    assert await storage.delete_upload(upload_id) == 103
    assert await storage.list_tails(upload_id, "") == {}
    assert await storage.read_tail(other, "f0.c0.t3") == b"xyz"
    await storage.write_tail(upload_id, "f0.c0.t3", b"new")  # after a delete, as new
    assert await storage.read_tail(upload_id, "f0.c0.t3") == b"new"


@pytest.mark.parametrize("bad_name", ["../x", "a/b", "", ".hidden", "a..b", "x" * 129])
async def test_unsafe_tail_names_are_refused(storage: Storage, bad_name: str) -> None:
    with pytest.raises(ValueError):
        await storage.write_tail(new_upload_id(), bad_name, b"x")
    with pytest.raises(ValueError):
        await storage.read_tail(new_upload_id(), bad_name)


async def test_delete_file_discards_one_file_and_it_can_be_written_again(
    storage: Storage,
) -> None:
    upload_id = new_upload_id()
    await store_file(storage, upload_id, 0, b"a" * 2500, KIB, [0, 1, 2])
    await store_file(storage, upload_id, 1, b"b" * 100, KIB, [0])
    await storage.delete_file(upload_id, 0)

    with pytest.raises(StoredDataMissing):
        await storage.read_chunk(upload_id, 0, 1, KIB, KIB)
    assert await storage.read_chunk(upload_id, 1, 0, 0, 100) == b"b" * 100
    await store_file(storage, upload_id, 0, b"c" * 2500, KIB, [2, 1, 0])
    assert read_all(storage, upload_id, 0, 2500, KIB) == b"c" * 2500


async def test_local_tail_is_made_durable_before_it_gets_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relaypacs.uploads.storage import local

    events: list[str] = []
    real_sync, real_link = local._datasync, os.link
    monkeypatch.setattr(local, "_datasync", lambda fd: (events.append("sync"), real_sync(fd)))
    monkeypatch.setattr(local.os, "link", lambda a, b: (events.append("link"), real_link(a, b)))
    monkeypatch.setattr(local, "_fsync_dir", lambda path: events.append(f"dir:{path.name}"))
    store = LocalStorage(tmp_path)
    upload_id = new_upload_id()
    await store.write_tail(upload_id, "f0.c0.t2", b"ab")

    # The data reaches the disk, then the name (a link, refused if taken), then the entry.
    assert events[-3:] == ["sync", "link", "dir:tails"]
    assert (store.tails_dir(upload_id) / "f0.c0.t2").read_bytes() == b"ab"
    assert [p.name for p in store.tails_dir(upload_id).iterdir()] == ["f0.c0.t2"]


async def test_s3_tails_are_objects_beside_the_chunks(s3_server: MotoS3Server) -> None:
    s3 = make_s3(s3_server, f"relay-{uuid.uuid4().hex[:12]}", prefix="pfx")
    await s3.ensure_bucket()
    try:
        upload_id = new_upload_id()
        await s3.write_tail(upload_id, "f0.c2.t4", b"tail")
        body = s3.client.get_object(Bucket=s3.bucket, Key=f"pfx/uploads/{upload_id}/tails/f0.c2.t4")
        assert body["Body"].read() == b"tail"
        assert await s3.list_upload_ids() == [upload_id]
    finally:
        s3.close()


# --- backend specifics --------------------------------------------------------------


async def test_local_part_file_is_preallocated_to_the_declared_size(tmp_path: Path) -> None:
    local = LocalStorage(tmp_path)
    upload_id = new_upload_id()
    await local.write_chunk(upload_id, 2, 3, 3 * KIB, b"z" * KIB, 10 * KIB)

    path = tmp_path / "uploads" / upload_id / "2.part"
    assert path == local.part_path(upload_id, 2)
    assert path.stat().st_size == 10 * KIB
    assert path.read_bytes()[3 * KIB : 4 * KIB] == b"z" * KIB


async def test_local_ping_fails_when_the_directory_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"not a directory")

    with pytest.raises(StorageError):
        await LocalStorage(blocker).ping()


async def test_local_write_failure_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"not a directory")

    with pytest.raises(StorageError):
        await LocalStorage(blocker).write_chunk(new_upload_id(), 0, 0, 0, b"x", 1)


async def test_s3_chunks_are_objects_under_the_prefix(s3_server: MotoS3Server) -> None:
    s3 = make_s3(s3_server, f"relay-{uuid.uuid4().hex[:12]}", prefix="site-a")
    await s3.ensure_bucket()
    await s3.ensure_bucket()  # idempotent
    upload_id = new_upload_id()
    await store_file(s3, upload_id, 4, b"q" * 2100, KIB, [2, 0, 1])

    listed = s3.client.list_objects_v2(Bucket=s3.bucket)["Contents"]
    keys = sorted(obj["Key"] for obj in listed)
    assert keys == [f"site-a/uploads/{upload_id}/4/{i:08d}" for i in range(3)]
    assert keys[0] == s3.chunk_key(upload_id, 4, 0)
    s3.close()


async def test_s3_list_ignores_objects_outside_the_uploads_prefix(s3_storage: S3Storage) -> None:
    s3_storage.client.put_object(Bucket=s3_storage.bucket, Key="relay/other/thing", Body=b"x")
    s3_storage.client.put_object(Bucket=s3_storage.bucket, Key="elsewhere", Body=b"x")
    upload_id = new_upload_id()
    await store_file(s3_storage, upload_id, 0, b"x", KIB, [0])

    assert await s3_storage.list_upload_ids() == [upload_id]


async def test_s3_ping_fails_for_a_missing_bucket(s3_server: MotoS3Server) -> None:
    s3 = make_s3(s3_server, f"missing-{uuid.uuid4().hex[:12]}")
    with pytest.raises(StorageError) as info:
        await s3.ping()
    assert not isinstance(info.value, StoredDataMissing)
    s3.close()


async def test_s3_unreachable_server_is_a_storage_error() -> None:
    s3 = S3Storage(bucket="b", endpoint_url="http://127.0.0.1:9", max_attempts=1, **CREDENTIALS)
    with pytest.raises(StorageError):
        await s3.write_chunk(new_upload_id(), 0, 0, 0, b"x", 1)
    s3.close()


def test_create_storage_builds_each_kind(tmp_path: Path) -> None:
    local = create_storage("local", root=tmp_path)
    s3 = create_storage(
        "s3", bucket="b", prefix="p", endpoint_url="http://127.0.0.1:9", **CREDENTIALS
    )

    assert isinstance(local, LocalStorage) and local.root == tmp_path
    assert isinstance(s3, S3Storage) and s3.prefix == "p/"
    with pytest.raises(ValueError, match="unknown storage kind"):
        create_storage("ftp")
    s3.close()


# --- memory -------------------------------------------------------------------------

BIG_FILE_CHUNKS = 64  # 64 MiB in 1 MiB chunks


def source_chunk(index: int) -> bytes:
    """Chunk `index` of the synthetic big file, made on demand so the test holds no copy."""
    return random.Random(1000 + index).randbytes(MIB)


def _stream_sha256(storage: Storage, upload_id: str) -> str:
    digest = hashlib.sha256()
    with storage.open_file(upload_id, 0, BIG_FILE_CHUNKS * MIB, MIB, BIG_FILE_CHUNKS) as stream:
        while block := stream.read(MIB):
            digest.update(block)
    return digest.hexdigest()


@pytest.fixture
def traced_memory() -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


async def test_memory_stays_flat_for_a_64_mib_file(storage: Storage, traced_memory: None) -> None:
    size = BIG_FILE_CHUNKS * MIB
    upload_id = new_upload_id()
    expected = hashlib.sha256()
    for index in range(BIG_FILE_CHUNKS):
        expected.update(source_chunk(index))
    tracemalloc.reset_peak()

    for start in range(0, BIG_FILE_CHUNKS, 4):  # four chunks in flight, like a client
        async with anyio.create_task_group() as tg:
            for index in range(start, start + 4):
                tg.start_soon(
                    storage.write_chunk, upload_id, 0, index, index * MIB, source_chunk(index), size
                )
    sha256, md5s = await storage.file_sha256_and_chunk_md5s(
        upload_id, 0, size, MIB, BIG_FILE_CHUNKS
    )
    streamed = await anyio.to_thread.run_sync(_stream_sha256, storage, upload_id)
    _, peak = tracemalloc.get_traced_memory()

    assert sha256 == streamed == expected.hexdigest()
    assert md5s[5] == hashlib.md5(source_chunk(5)).hexdigest()
    assert peak < 16 * MIB, f"peak traced memory {peak / MIB:.1f} MiB"
    if isinstance(storage, LocalStorage):
        assert os.path.getsize(storage.part_path(upload_id, 0)) == size
