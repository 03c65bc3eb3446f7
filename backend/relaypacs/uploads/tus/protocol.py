"""tus 1.0.0 headers: the constants this server announces and the parsing of what clients
send. Every malformed value is a 400 with its own code; nothing here touches state."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from relaypacs.uploads.tus.errors import (
    TUS_VERSION,
    InvalidConcat,
    InvalidTusHeader,
    InvalidTusMetadata,
    TusVersionUnsupported,
    UnsupportedChecksumAlgorithm,
    UnsupportedOffsetMediaType,
)

EXTENSIONS = (
    "creation",
    "creation-with-upload",
    "expiration",
    "checksum",
    "termination",
    "concatenation",
)
CHECKSUMS: dict[str, Callable[..., Any]] = {
    "md5": hashlib.md5,
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
}
OFFSET_STREAM = "application/offset+octet-stream"
# Longer values are refused before they are parsed (a final upload names its partials).
MAX_HEADER = 8192
_DIGITS = re.compile(r"[0-9]{1,19}")
_METADATA_KEY = re.compile(r"[!-~]+")  # visible ASCII: no spaces, no commas (checked apart)


@dataclass(frozen=True, slots=True)
class Checksum:
    algorithm: str
    digest: bytes

    def new(self) -> Any:
        return CHECKSUMS[self.algorithm]()


@dataclass(frozen=True, slots=True)
class Concat:
    final: bool
    urls: tuple[str, ...] = ()


def check_version(value: str | None) -> None:
    """Tus-Resumable on a request: exactly the version we speak, or 412 (nothing is done)."""
    if value is None:
        raise TusVersionUnsupported("Send the Tus-Resumable header (1.0.0) with every request.")
    if value.strip() != TUS_VERSION:
        raise TusVersionUnsupported()


def non_negative(value: str | None, header: str, *, required: bool = True) -> int | None:
    """A non-negative integer header (Upload-Offset, Upload-Length)."""
    if value is None:
        if required:
            raise InvalidTusHeader(f"Send the {header} header.", header=header)
        return None
    text = value.strip()
    if _DIGITS.fullmatch(text) is None or int(text) >= 2**63:
        raise InvalidTusHeader(f"{header} must be a non-negative integer.", header=header)
    return int(text)


def check_offset_stream(content_type: str | None) -> None:
    """PATCH bodies (and a creation's data) must be application/offset+octet-stream."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != OFFSET_STREAM:
        raise UnsupportedOffsetMediaType()


def is_offset_stream(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == OFFSET_STREAM


def parse_metadata(value: str | None) -> dict[str, bytes]:
    """Upload-Metadata: `key base64,key base64` (a value may be empty); keys unique."""
    if value is None or not value.strip():
        return {}
    if len(value) > MAX_HEADER:
        raise InvalidTusMetadata("Upload-Metadata is too long.")
    pairs: dict[str, bytes] = {}
    for item in value.split(","):
        parts = item.strip().split(" ")
        if len(parts) > 2 or not parts[0] or _METADATA_KEY.fullmatch(parts[0]) is None:
            raise InvalidTusMetadata()
        key = parts[0]
        if key in pairs:
            raise InvalidTusMetadata(f"Upload-Metadata names the key {key!r} twice.")
        try:
            pairs[key] = base64.b64decode(parts[1], validate=True) if len(parts) == 2 else b""
        except (binascii.Error, ValueError):
            raise InvalidTusMetadata(f"The value of {key!r} is not base64.") from None
    return pairs


def metadata_text(pairs: dict[str, bytes], key: str) -> str | None:
    raw = pairs.get(key)
    if raw is None:
        return None
    try:
        return raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise InvalidTusMetadata(f"The value of {key!r} must be ASCII.") from None


def canonical_metadata(pairs: dict[str, bytes]) -> str:
    """The metadata as a header value rebuilt from the decoded pairs (never the raw text, so
    nothing a client sent can smuggle a header into our answers)."""
    return ",".join(
        f"{key} {base64.b64encode(raw).decode()}" if raw else key for key, raw in pairs.items()
    )


def parse_checksum(value: str | None) -> Checksum | None:
    """Upload-Checksum: `<algorithm> <base64 digest>`; an algorithm we lack is 400."""
    if value is None:
        return None
    parts = value.strip().split(" ")
    if len(parts) != 2 or parts[0] not in CHECKSUMS:
        raise UnsupportedChecksumAlgorithm(supported=list(CHECKSUMS))
    try:
        digest = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidTusHeader("The Upload-Checksum digest is not base64.") from None
    size = CHECKSUMS[parts[0]]().digest_size
    if len(digest) != size:
        raise InvalidTusHeader(f"A {parts[0]} digest has {size} bytes.")
    return Checksum(parts[0], digest)


def parse_concat(value: str | None) -> Concat | None:
    if value is None:
        return None
    text = value.strip()
    if len(text) > MAX_HEADER:
        raise InvalidConcat("Upload-Concat is too long.")
    if text == "partial":
        return Concat(final=False)
    kind, separator, urls = text.partition(";")
    names = tuple(urls.split())
    if kind.strip() != "final" or not separator or not names:
        raise InvalidConcat()
    return Concat(final=True, urls=names)


def http_date(moment: datetime) -> str:
    """An RFC 7231 (IMF-fixdate) date, as Upload-Expires wants."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def options_headers(max_size: int) -> dict[str, str]:
    return {
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": ",".join(EXTENSIONS),
        "Tus-Max-Size": str(max_size),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUMS),
    }
