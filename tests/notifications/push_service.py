"""A stand-in for a Web Push service (RFC 8030): a real HTTP server on a loopback port that
records every message it receives and answers 201, or whatever status a test set for a path
(404/410 for an expired subscription, 5xx for an outage)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class PushRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes


class PushService:
    def __init__(self) -> None:
        self.requests: list[PushRequest] = []
        self.statuses: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def new_endpoint(self, status: int = 201) -> str:
        """A fresh subscription endpoint URL that answers `status`."""
        path = f"/push/{uuid.uuid4().hex}"
        self.statuses[path] = status
        return self.origin + path

    def received(self, endpoint: str) -> list[PushRequest]:
        path = endpoint.removeprefix(self.origin)
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                request = PushRequest(
                    method="POST",
                    path=self.path,
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=body,
                )
                with service._lock:
                    service.requests.append(request)
                status = service.statuses.get(self.path, 404)
                self.send_response(status)
                if status == 201:
                    self.send_header("Location", f"{service.origin}/message/{uuid.uuid4().hex}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

        return Handler


def running_push_service() -> Iterator[PushService]:
    service = PushService()
    service.start()
    try:
        yield service
    finally:
        service.stop()
