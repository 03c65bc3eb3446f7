"""A stand-in for Sentry's ingest endpoint on loopback: it records every envelope it is sent.

A DSN `http://public@127.0.0.1:<port>/<project>` makes the Python and the browser SDKs post
to `/api/<project>/envelope/` here (gzip or brotli bodies are decoded; the browser's
cross-origin POST gets the CORS headers Sentry's own ingest sends).
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Envelope:
    raw: bytes
    headers: dict[str, Any]
    items: list[tuple[dict[str, Any], bytes]] = field(default_factory=list)

    def payloads(self, kind: str) -> list[dict[str, Any]]:
        return [json.loads(body) for header, body in self.items if header.get("type") == kind]


def parse_envelope(raw: bytes) -> Envelope:
    """Sentry's envelope format: a header line, then items (a header line and a payload)."""
    newline = raw.find(b"\n")
    head, rest = (raw, b"") if newline < 0 else (raw[:newline], raw[newline + 1 :])
    envelope = Envelope(raw=raw, headers=json.loads(head))
    while rest.strip():
        newline = rest.find(b"\n")
        header = json.loads(rest[:newline] if newline >= 0 else rest)
        rest = rest[newline + 1 :] if newline >= 0 else b""
        length = header.get("length")
        if length is None:
            newline = rest.find(b"\n")
            body, rest = (rest, b"") if newline < 0 else (rest[:newline], rest[newline + 1 :])
        else:
            body, rest = rest[:length], rest[length + 1 :]
        envelope.items.append((header, body))
    return envelope


def _decode(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "br":
        import brotli  # type: ignore[import-not-found]  # only when the SDK found it

        decoded: bytes = brotli.decompress(body)
        return decoded
    return body


class SentryIngest:
    """`with SentryIngest() as ingest:` → `ingest.dsn`, then `ingest.wait_for_event(...)`."""

    def __init__(self, project: int = 42) -> None:
        self.project = project
        self.envelopes: list[Envelope] = []
        self.requests: list[str] = []
        self._lock = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _cors(self) -> None:
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
                self.send_header("Access-Control-Allow-Headers", "*")
                self.send_header("Access-Control-Expose-Headers", "x-sentry-rate-limits")

            def do_OPTIONS(self) -> None:
                self.send_response(204)
                self._cors()
                self.end_headers()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = _decode(self.rfile.read(length), self.headers.get("Content-Encoding", ""))
                with outer._lock:
                    outer.requests.append(self.path)
                    if self.path.split("?")[0].rstrip("/").endswith("/envelope"):
                        outer.envelopes.append(parse_envelope(body))
                    outer._lock.notify_all()
                answer = b"{}"
                self.send_response(200)
                self._cors()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def dsn(self) -> str:
        return f"http://public@127.0.0.1:{self.server.server_address[1]}/{self.project}"

    def __enter__(self) -> SentryIngest:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [e for envelope in self.envelopes for e in envelope.payloads("event")]

    def raw(self) -> bytes:
        """Every envelope received, as one blob, for searching."""
        with self._lock:
            return b"\n".join(envelope.raw for envelope in self.envelopes)

    def wait_for_event(self, timeout: float = 20.0, **match: Any) -> dict[str, Any]:
        """The first event whose top-level fields equal `match` (e.g. level="error")."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for envelope in self.envelopes:
                    for event in envelope.payloads("event"):
                        if all(event.get(k) == v for k, v in match.items()):
                            return event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no event matching {match} within {timeout:g} s; "
                        f"received {len(self.envelopes)} envelopes at {self.requests}"
                    )
                self._lock.wait(left)
