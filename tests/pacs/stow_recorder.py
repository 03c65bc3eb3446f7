"""A tiny DICOMweb server that records every STOW-RS request it receives.

It stands in for a PACS where a test must know exactly what was sent, and by whom:
each gateway process is given its own base URL (``recorder.base_url("a")`` →
``http://127.0.0.1:<port>/a/dicom-web``), so every POST is attributed to its sender.

- ``GET …/studies?limit=1`` (the gateway's health check) → 200 ``[]``
- ``POST …/studies/{study}`` → parses the multipart/related body with pydicom, records
  the SOP Instance UIDs, answers 200 with a ReferencedSOPSequence listing them. While
  the gate is closed the answer waits, so the senders stay busy with the job they hold.
- ``GET …/studies/{study}/instances`` (the gateway's QIDO verification) → the instances
  recorded for that study.
"""

from __future__ import annotations

import io
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import pydicom

GATE_TIMEOUT = 60.0

_STUDIES = re.compile(r"^/(?P<sender>[^/]+)/dicom-web/studies(?:/(?P<study>[^/]+))?(?P<rest>/.*)?$")


@dataclass(frozen=True)
class StowRequest:
    sender: str
    study_uid: str
    sop_instance_uids: tuple[str, ...]
    sop_class_uids: tuple[str, ...]


def multipart_parts(content_type: str, body: bytes) -> list[bytes]:
    """The payloads of a multipart/related body."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise ValueError(f"no boundary in {content_type!r}")
    delimiter = b"--" + match.group(1).encode()
    parts = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        _headers, _, payload = chunk.partition(b"\r\n\r\n")
        parts.append(payload.removesuffix(b"\r\n"))
    return parts


class StowRecorder:
    def __init__(self) -> None:
        self.requests: list[StowRequest] = []
        self.errors: list[str] = []
        self.gate = threading.Event()
        self.gate.set()
        self._lock = threading.Lock()
        self._waiting: list[StowRequest] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def base_url(self, sender: str) -> str:
        return f"http://127.0.0.1:{self.port}/{sender}/dicom-web"

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.gate.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- what the test reads ----------------------------------------------------------

    def snapshot(self) -> list[StowRequest]:
        with self._lock:
            return list(self.requests)

    def waiting(self) -> list[StowRequest]:
        """Requests received and held at the closed gate."""
        with self._lock:
            return list(self._waiting)

    def instances_of(self, study_uid: str) -> list[str]:
        with self._lock:
            return sorted(
                {u for r in self.requests if r.study_uid == study_uid for u in r.sop_instance_uids}
            )

    # --- the server side --------------------------------------------------------------

    def _record(self, sender: str, study_uid: str, content_type: str, body: bytes) -> StowRequest:
        uids, classes = [], []
        for part in multipart_parts(content_type, body):
            dataset = pydicom.dcmread(io.BytesIO(part), stop_before_pixels=True)
            uids.append(str(dataset.SOPInstanceUID))
            classes.append(str(dataset.SOPClassUID))
        request = StowRequest(sender, study_uid, tuple(uids), tuple(classes))
        with self._lock:
            self.requests.append(request)
        return request

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reply(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/dicom+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    body = bytearray()
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        body += self.rfile.read(size)
                        self.rfile.readline()
                    self.rfile.readline()
                    return bytes(body)
                return self.rfile.read(int(self.headers.get("Content-Length", "0")))

            def do_GET(self) -> None:
                match = _STUDIES.match(urlsplit(self.path).path)
                if match is None:
                    self._reply(404, {})
                elif match["study"] is None:
                    self._reply(200, [])  # health check
                elif match["rest"] == "/instances":
                    rows = [
                        {"00080018": {"vr": "UI", "Value": [uid]}}
                        for uid in recorder.instances_of(match["study"])
                    ]
                    self._reply(200, rows)
                else:
                    self._reply(404, {})

            def do_POST(self) -> None:
                match = _STUDIES.match(urlsplit(self.path).path)
                body = self._body()
                if match is None or match["study"] is None or match["rest"]:
                    self._reply(404, {})
                    return
                try:
                    request = recorder._record(
                        match["sender"], match["study"], self.headers["Content-Type"], body
                    )
                except Exception as exc:  # noqa: BLE001 - reported to the test, not raised
                    recorder.errors.append(f"{self.path}: {type(exc).__name__}: {exc}")
                    self._reply(400, {})
                    return
                with recorder._lock:
                    recorder._waiting.append(request)
                try:
                    recorder.gate.wait(GATE_TIMEOUT)
                finally:
                    with recorder._lock:
                        recorder._waiting.remove(request)
                referenced = [
                    {
                        "00081150": {"vr": "UI", "Value": [sop_class]},
                        "00081155": {"vr": "UI", "Value": [uid]},
                    }
                    for uid, sop_class in zip(
                        request.sop_instance_uids, request.sop_class_uids, strict=True
                    )
                ]
                self._reply(
                    200,
                    {
                        "00081190": {"vr": "UR", "Value": [f"/studies/{request.study_uid}"]},
                        "00081199": {"vr": "SQ", "Value": referenced},
                    },
                )

        return Handler
