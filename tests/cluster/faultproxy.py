"""A TCP fault proxy for the fault tests: a loopback port in front of one target (a PACS, a
load balancer) whose behaviour a test switches at any moment, while traffic flows.

- ``passthrough()``  bytes flow both ways untouched (the start state)
- ``refuse()``       the port is closed (new connections get ECONNREFUSED) and every open
                     connection is reset, as when the far side's host goes down
- ``reset_after(n)`` every connection, open or new, forwards ``n`` more bytes towards the
                     target and is then reset (RST) both ways: a body cut mid-way
- ``stall()``        nothing is forwarded either way until the mode changes; the sockets stay
                     open (a black hole that keeps its connections)
- ``throttle(bps)``  both directions share a link of ``bps`` bytes/s each way (a token bucket);
                     a stall ends
- ``flap(up, down)`` alternates passthrough for ``up`` seconds and refuse for ``down`` seconds

It runs on its own thread and event loop, so a synchronous test, an async test and a bench
script drive it alike; every method returns once the new mode is in force.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from tests.servers import LOOPBACK, free_port

READ_SIZE = 64 * 1024
THROTTLE_SLICE = 16 * 1024


@dataclass
class ProxyStats:
    connections: int = 0
    resets: int = 0
    bytes_up: int = 0  # towards the target
    bytes_down: int = 0  # back to the client


class _Bucket:
    """A token bucket: `take(n)` waits until n bytes may pass at `rate` bytes/s."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = 0.0
        self.stamp = time.monotonic()

    async def take(self, n: int) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(
                max(self.rate / 4, THROTTLE_SLICE), self.tokens + (now - self.stamp) * self.rate
            )
            self.stamp = now
            if self.tokens >= n:
                self.tokens -= n
                return
            await asyncio.sleep((n - self.tokens) / self.rate)


class _Connection:
    def __init__(
        self,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        target: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        self.client = client
        self.target = target
        self.budget: int | None = None  # bytes still allowed upstream before a reset
        self.closed = False

    def reset(self) -> None:
        """Close both sockets with RST (SO_LINGER 0), not FIN."""
        if self.closed:
            return
        self.closed = True
        for _, writer in (self.client, self.target):
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            for _, writer in (self.client, self.target):
                writer.close()


class FaultProxy:
    def __init__(self, target_host: str, target_port: int, *, port: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self.stats = ProxyStats()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._flowing = asyncio.Event()  # cleared while stalled
        self._reset_after: int | None = None
        self._up_bucket: _Bucket | None = None
        self._down_bucket: _Bucket | None = None
        self._flapper: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    # --- life cycle ---------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        self._call(self._set_flowing(True))
        self._call(self._open())

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- modes --------------------------------------------------------------------

    def passthrough(self) -> None:
        self._call(self._passthrough())

    def refuse(self) -> None:
        self._call(self._refuse())

    def reset_after(self, n_bytes: int) -> None:
        self._call(self._set_reset_after(n_bytes))

    def stall(self) -> None:
        self._call(self._set_flowing(False))

    def throttle(self, bytes_per_second: float) -> None:
        self._call(self._set_throttle(bytes_per_second))

    def flap(self, up_seconds: float, down_seconds: float) -> None:
        self._call(self._start_flapping(up_seconds, down_seconds))

    # --- the proxy's own loop -----------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop.run_forever()
        finally:
            # As asyncio.run does on its way out: a connection accepted while shutting down
            # has a task the shutdown did not see; cancel it and let it finish here, or its
            # coroutine is collected after the loop closed and pytest reports the error.
            leftover = asyncio.all_tasks(self._loop)
            for task in leftover:
                task.cancel()
            if leftover:
                self._loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _shutdown(self) -> None:
        await self._stop_flapping()
        await self._close(reset=True)
        while tasks := [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _passthrough(self) -> None:
        await self._stop_flapping()
        self._reset_after = None
        self._up_bucket = self._down_bucket = None
        await self._set_flowing(True)
        await self._open()

    async def _refuse(self) -> None:
        await self._stop_flapping()
        await self._close(reset=True)

    async def _set_flowing(self, flowing: bool) -> None:
        if flowing:
            self._flowing.set()
        else:
            self._flowing.clear()

    async def _set_reset_after(self, n_bytes: int) -> None:
        await self._set_flowing(True)
        self._reset_after = n_bytes
        for connection in self._connections:
            connection.budget = n_bytes

    async def _set_throttle(self, rate: float) -> None:
        self._up_bucket, self._down_bucket = _Bucket(rate), _Bucket(rate)
        await self._set_flowing(True)  # a stall ends: the link is slow, not dead

    async def _start_flapping(self, up: float, down: float) -> None:
        await self._stop_flapping()

        async def flapping() -> None:
            while True:
                await self._open()
                await asyncio.sleep(up)
                await self._close(reset=True)
                await asyncio.sleep(down)

        self._flapper = asyncio.create_task(flapping())

    async def _stop_flapping(self) -> None:
        flapper, self._flapper = self._flapper, None
        if flapper is not None:
            flapper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flapper

    async def _open(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._accept, LOOPBACK, self.port, reuse_address=True
            )

    async def _close(self, *, reset: bool) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for connection in list(self._connections):
            if reset:
                self.stats.resets += 1
                connection.reset()
            else:
                connection.close()
        self._connections.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        try:
            target = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        connection = _Connection((reader, writer), target)
        connection.budget = self._reset_after
        self._connections.add(connection)
        try:
            await asyncio.gather(
                self._pump(connection, reader, target[1], up=True),
                self._pump(connection, target[0], writer, up=False),
            )
        except asyncio.CancelledError:
            pass  # shutting down (a cancelled accept task upsets asyncio's stream callback)
        finally:
            self._connections.discard(connection)
            connection.close()

    async def _pump(
        self,
        connection: _Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        up: bool,
    ) -> None:
        try:
            while not connection.closed:
                data = await reader.read(READ_SIZE)
                if not data:
                    with contextlib.suppress(OSError):
                        if writer.can_write_eof():
                            writer.write_eof()
                    return
                await self._flowing.wait()
                if up and connection.budget is not None:
                    data = data[: connection.budget]
                    connection.budget -= len(data)
                await self._forward(writer, data, up=up)
                if up and connection.budget == 0:
                    self.stats.resets += 1
                    connection.reset()
                    return
        except (ConnectionError, OSError):
            connection.reset()

    async def _forward(self, writer: asyncio.StreamWriter, data: bytes, *, up: bool) -> None:
        bucket = self._up_bucket if up else self._down_bucket
        step = THROTTLE_SLICE if bucket is not None else len(data)
        for start in range(0, len(data), step):
            piece = data[start : start + step]
            if bucket is not None:
                await bucket.take(len(piece))
            await self._flowing.wait()
            writer.write(piece)
            await writer.drain()
            if up:
                self.stats.bytes_up += len(piece)
            else:
                self.stats.bytes_down += len(piece)
