"""OIDC client credentials (dcm4chee-arc behind Keycloak): the token is fetched, reused
and refreshed after a 401, against a real local HTTP server."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest

from relaypacs.pacs.config import DestinationSettings
from relaypacs.pacs.dicomweb import DicomWeb


class FakeKeycloakAndPacs(BaseHTTPRequestHandler):
    # Class-level: the server makes a handler instance per request.
    issued: ClassVar[list[str]] = []
    token_requests: ClassVar[list[dict[str, list[str]]]] = []
    valid: ClassVar[set[str]] = set()

    def log_message(self, *args: Any) -> None:
        return

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        self.token_requests.append(form)
        if form.get("client_secret") != ["s3cret"]:
            self._reply(401, {"error": "invalid_client"})
            return
        token = f"token-{len(self.issued)}"
        self.issued.append(token)
        self.valid.add(token)
        self._reply(200, {"access_token": token, "expires_in": 300, "token_type": "Bearer"})

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        if auth.removeprefix("Bearer ") not in self.valid:
            self._reply(401, {"error": "invalid_token"})
            return
        self._reply(200, [])


@pytest.fixture
def server() -> Iterator[str]:
    FakeKeycloakAndPacs.issued, FakeKeycloakAndPacs.token_requests = [], []
    FakeKeycloakAndPacs.valid = set()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeKeycloakAndPacs)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


async def test_token_is_fetched_once_reused_and_refreshed_after_401(server: str) -> None:
    dest = DestinationSettings(
        url=f"{server}/dcm4chee-arc/aets/DCM4CHEE/rs",
        auth="oidc",
        oidc_token_url=f"{server}/realms/dcm4che/token",
        oidc_client_id="relaypacs",
        oidc_client_secret="s3cret",
    )
    pacs = DicomWeb("dcm4chee", dest)
    try:
        await pacs.ping()
        await pacs.ping()
        assert FakeKeycloakAndPacs.issued == ["token-0"]
        form = FakeKeycloakAndPacs.token_requests[0]
        assert form["grant_type"] == ["client_credentials"] and form["client_id"] == ["relaypacs"]
        FakeKeycloakAndPacs.valid.clear()  # Keycloak revoked it
        with pytest.raises(httpx.HTTPStatusError, match="401"):
            await pacs.ping()
        await pacs.ping()  # the next request fetches a fresh token
        assert FakeKeycloakAndPacs.issued == ["token-0", "token-1"]
    finally:
        await pacs.close()
