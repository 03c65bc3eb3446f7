"""The fault proxy itself, against a plain echo-and-count TCP server: each mode does what
the fault tests rely on."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from tests.cluster.faultproxy import FaultProxy
from tests.servers import LOOPBACK


class _Sink(socketserver.BaseRequestHandler):
    """Reads everything; answers each 64 KiB (or the end) with the byte count so far."""

    def handle(self) -> None:
        total = 0
        try:
            while data := self.request.recv(65536):
                total += len(data)
                self.request.sendall(f"{total}\n".encode())
        except ConnectionError:
            pass  # the proxy reset it: what the test is about


@pytest.fixture
def sink() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer((LOOPBACK, 0), _Sink)
    server.block_on_close = True  # server_close() joins the handlers
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def connect(proxy: FaultProxy) -> socket.socket:
    return socket.create_connection((LOOPBACK, proxy.port), timeout=5)


def last_count(sock: socket.socket) -> int:
    sock.settimeout(2)
    seen = b""
    try:
        while not seen.endswith(b"\n") or len(seen) < 2:
            chunk = sock.recv(65536)
            if not chunk:
                break
            seen += chunk
    except TimeoutError:
        pass
    return int(seen.split()[-1]) if seen.split() else 0


def test_passthrough_forwards_every_byte(sink: int) -> None:
    with FaultProxy(LOOPBACK, sink) as proxy, connect(proxy) as sock:
        sock.sendall(b"x" * 100_000)
        sock.shutdown(socket.SHUT_WR)
        counts = sock.makefile().read().split()
        assert counts[-1] == "100000"


def test_refuse_closes_the_port_and_resets_open_connections(sink: int) -> None:
    with FaultProxy(LOOPBACK, sink) as proxy, connect(proxy) as open_one:
        open_one.sendall(b"a")
        assert last_count(open_one) == 1
        proxy.refuse()
        with pytest.raises(ConnectionRefusedError):
            connect(proxy)
        with pytest.raises(ConnectionResetError):
            open_one.sendall(b"b" * 65536)
            open_one.recv(10)
        proxy.passthrough()
        with connect(proxy) as again:
            again.sendall(b"c")
            assert last_count(again) == 1


def test_reset_after_cuts_the_body_at_n_bytes_with_a_reset(sink: int) -> None:
    with FaultProxy(LOOPBACK, sink) as proxy:
        proxy.reset_after(10_000)
        with connect(proxy) as sock, pytest.raises(ConnectionResetError):
            for _ in range(100):
                sock.sendall(b"z" * 4096)
                time.sleep(0.005)
            sock.recv(10)
        assert proxy.stats.bytes_up == 10_000 and proxy.stats.resets == 1


def test_stall_holds_the_bytes_until_released(sink: int) -> None:
    with FaultProxy(LOOPBACK, sink) as proxy, connect(proxy) as sock:
        proxy.stall()
        sock.sendall(b"s" * 1000)
        sock.settimeout(1)
        with pytest.raises(TimeoutError):
            sock.recv(10)
        proxy.passthrough()
        assert last_count(sock) == 1000


def test_throttle_holds_the_link_near_its_rate(sink: int) -> None:
    with FaultProxy(LOOPBACK, sink) as proxy, connect(proxy) as sock:
        proxy.throttle(256_000)
        started = time.monotonic()
        sock.sendall(b"t" * 512_000)
        sock.shutdown(socket.SHUT_WR)
        assert sock.makefile().read().split()[-1] == "512000"
        elapsed = time.monotonic() - started
        # 512 kB at 256 kB/s is 2 s, less the bucket's first quarter-second burst.
        assert 1.5 < elapsed < 4, elapsed


def test_flap_alternates_refusing_and_serving(sink: int) -> None:
    with FaultProxy(LOOPBACK, sink) as proxy:
        proxy.flap(up_seconds=0.3, down_seconds=0.3)
        outcomes = set()
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                with connect(proxy):
                    outcomes.add("served")
            except ConnectionRefusedError:
                outcomes.add("refused")
            time.sleep(0.05)
        assert outcomes == {"served", "refused"}
        proxy.passthrough()
        with connect(proxy):
            pass
