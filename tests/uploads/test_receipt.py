"""What receipt computes so that `complete` reads nothing again: the DICOM verdict from a
file's first chunk, and the file's SHA-256 from chunks hashed as they arrive (in order, or
held a little when they come early)."""

from __future__ import annotations

import hashlib
import io
import os
import uuid

import pytest

from relaypacs.uploads import receipt
from relaypacs.uploads.dicom import inspect_file
from relaypacs.uploads.receipt import RunningHashes, inspect_head, md5_chain
from tests.dicom_factory import pydicom_file

CHUNK = 256 * 1024


def _files() -> list[tuple[str, bytes]]:
    ct = pydicom_file("CT_small.dcm").read_bytes()
    return [
        ("ct", ct),
        ("mr-implicit", pydicom_file("MR_small_implicit.dcm").read_bytes()),
        ("mr-bigendian", pydicom_file("MR_small_bigendian.dcm").read_bytes()),
        ("ct-cut-in-pixels", ct[:20000]),
        ("ct-cut-in-header", ct[:1000]),
        ("not-dicom", b"hello, this is plain text and no DICOM at all" * 20),
        ("raw-dataset", ct[pydicom_file("CT_small.dcm").read_bytes().index(b"\x08\x00") :]),
    ]


@pytest.mark.parametrize(("name", "data"), _files(), ids=[n for n, _ in _files()])
@pytest.mark.parametrize("head", [64, 400, 2048, 8192, CHUNK])
def test_the_first_chunk_judges_a_file_as_the_whole_file_does_or_says_it_cannot(
    name: str, data: bytes, head: int
) -> None:
    whole = inspect_file(io.BytesIO(data))
    verdict = inspect_head(data[:head], len(data))
    if head >= len(data):
        assert verdict == whole  # the first chunk is the whole file
    else:
        assert verdict is None or verdict == whole
    if verdict is not None:
        assert receipt.inspection_from_json(receipt.inspection_to_json(verdict)) == verdict


def test_a_header_longer_than_the_first_chunk_is_left_to_completion() -> None:
    data = pydicom_file("CT_small.dcm").read_bytes()
    assert inspect_head(data[:200], len(data)) is None


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _feed(
    hashes: RunningHashes, key: uuid.UUID, chunks: list[bytes], order: list[int]
) -> str | None:
    """Send chunks through begin/digest/confirmed as the chunk route does; the file digest."""
    found: str | None = None
    total = len(chunks)
    for index in order:
        extension = hashes.begin(key, 0, index, total)
        digest = receipt.digest(chunks[index], chunk_index=index, file_size=0, extension=extension)
        if digest.file_digest:
            found = digest.file_digest[0]
        work = hashes.confirmed(key, 0, index, extension, chunks[index], digest.md5)
        while work is not None:
            file_digest = hashes.catch_up(work)
            if file_digest:
                found = file_digest[0]
                md5s = [hashlib.md5(c).hexdigest() for c in chunks]
                assert file_digest[1] == md5_chain(md5s)
            work = hashes.finish(work)
    return found


def test_chunks_in_order_give_the_files_sha256_at_its_last_chunk() -> None:
    data = os.urandom(5 * 1000 + 17)
    chunks = _chunks(data, 1000)
    got = _feed(RunningHashes(), uuid.uuid4(), chunks, list(range(len(chunks))))
    assert got == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("order", [[1, 0, 2, 3, 4, 5], [5, 4, 3, 2, 1, 0], [2, 0, 5, 1, 4, 3]])
def test_chunks_that_come_early_are_held_until_their_turn(order: list[int]) -> None:
    data = os.urandom(6 * 1000)
    hashes = RunningHashes()
    got = _feed(hashes, uuid.uuid4(), _chunks(data, 1000), order)
    assert got == hashlib.sha256(data).hexdigest()
    assert hashes._held_bytes == 0


def test_a_file_too_far_out_of_order_gives_up_and_holds_nothing() -> None:
    data = os.urandom(40 * 100)
    hashes = RunningHashes(max_held_per_file=4)
    order = [0, *range(39, 0, -1)]
    assert _feed(hashes, uuid.uuid4(), _chunks(data, 100), order) is None
    assert hashes._held_bytes == 0


def test_held_bytes_are_bounded_for_the_whole_process() -> None:
    hashes = RunningHashes(max_held_bytes=2500)
    keys = [uuid.uuid4() for _ in range(3)]
    data = [os.urandom(3000) for _ in keys]
    for key, file in zip(keys, data, strict=True):
        # chunk 1 of each file arrives first: 1000 bytes held per file
        _feed(hashes, key, _chunks(file, 1000), [1])
    assert hashes._held_bytes <= 2500
    for key, file in zip(keys[:2], data[:2], strict=True):
        assert _feed(hashes, key, _chunks(file, 1000), [0, 2]) == hashlib.sha256(file).hexdigest()


def test_a_chunk_joining_mid_file_starts_no_hash() -> None:
    """Chunks 0–29 went to another process: this one cannot know the file's hash."""
    hashes = RunningHashes()
    data = os.urandom(40 * 10)
    assert _feed(hashes, uuid.uuid4(), _chunks(data, 10), list(range(30, 40))) is None
    assert hashes._held_bytes == 0


def test_the_md5_chain_binds_the_digest_to_the_chunks_it_covered() -> None:
    assert md5_chain(["a" * 32, "b" * 32]) != md5_chain(["b" * 32, "a" * 32])
    assert md5_chain([]) == hashlib.md5(b"").hexdigest()
