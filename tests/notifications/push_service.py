"""A stand-in for a Web Push service (RFC 8030): a real HTTP server on a loopback port that
records every message it receives and answers 201, or whatever status a test set for a path
(404/410 for an expired subscription, 5xx for an outage), or a redirect. It also counts the
TCP connections it accepted (whatever was sent on them), and records and refuses (403) a
proxy's CONNECT. And a stub DNS resolver, for the push guard."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiohttp.abc import AbstractResolver, ResolveResult


@dataclass(frozen=True)
class PushRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes


class _Server(ThreadingHTTPServer):
    def __init__(self, host: str, service: PushService) -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.service = service
        super().__init__((host, 0), service._handler())

    def verify_request(self, request: object, client_address: object) -> bool:
        with self.service._lock:
            self.service.connections += 1
        return True


class PushService:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.requests: list[PushRequest] = []
        self.statuses: dict[str, int] = {}
        self.locations: dict[str, str] = {}
        self.connections = 0
        self._lock = threading.Lock()
        self._server = _Server(host, self)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    @property
    def origin(self) -> str:
        host = str(self._server.server_address[0])
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    def new_endpoint(self, status: int = 201) -> str:
        """A fresh subscription endpoint URL that answers `status`."""
        path = f"/push/{uuid.uuid4().hex}"
        self.statuses[path] = status
        return self.origin + path

    def new_redirect(self, status: int, location: str) -> str:
        """An endpoint URL that answers `status` with `Location: location`."""
        endpoint = self.new_endpoint(status)
        self.locations[endpoint.removeprefix(self.origin)] = location
        return endpoint

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

            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = PushRequest(
                    method=self.command,
                    path=self.path,
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=self.rfile.read(length),
                )
                with service._lock:
                    service.requests.append(request)

            def do_POST(self) -> None:
                self._record()
                status = service.statuses.get(self.path, 404)
                self.send_response(status)
                if status == 201:
                    self.send_header("Location", f"{service.origin}/message/{uuid.uuid4().hex}")
                elif self.path in service.locations:
                    self.send_header("Location", service.locations[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:  # a client that turned a redirected POST into a GET
                self.do_POST()

            def do_CONNECT(self) -> None:
                self._record()
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

        return Handler


def running_push_service(host: str = "127.0.0.1") -> Iterator[PushService]:
    service = PushService(host)
    service.start()
    try:
        yield service
    finally:
        service.stop()


class StubResolver(AbstractResolver):
    """DNS as a test scripts it: a name gives its answers in turn (the last one from then on);
    an unknown name fails as NXDOMAIN does."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.asked: list[str] = []

    def script(self, host: str, *answers: list[str]) -> None:
        self.answers[host] = list(answers)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answers = self.answers[host]
        addresses = answers[min(self.asked.count(host), len(answers)) - 1]
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        pass
