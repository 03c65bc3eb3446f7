"""A small key/value cache with TTLs: in-process by default, Redis when REDIS_URL is set.

Used for counters and short-lived markers that must hold across processes in a
scaled-out deployment (rate limits, single-use tokens, re-authentication stamps).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from relaypacs.core.errors import AppError

if TYPE_CHECKING:
    import redis.asyncio as redis


class Cache(Protocol):
    async def incr(self, key: str, ttl_seconds: int) -> int:
        """Increment a counter; its TTL starts with the first increment."""

    async def add(self, key: str, value: str, ttl_seconds: int) -> bool:
        """Set only if absent; True when this call set it (a cross-process once-only marker)."""

    async def set(self, key: str, value: str, ttl_seconds: int) -> None:
        """Set (or replace) a value that expires after `ttl_seconds`."""

    async def get(self, key: str) -> str | None: ...

    async def pop(self, key: str) -> str | None:
        """Get and delete in one step: of two callers, only one gets the value."""

    async def ttl(self, key: str) -> int:
        """Seconds until the key expires (0 when absent)."""

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class MemoryCache:
    """Process-local cache for the embedded single-process default."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[str, float]] = {}

    def _live(self, key: str) -> tuple[str, float] | None:
        entry = self._data.get(key)
        if entry is not None and entry[1] <= time.monotonic():
            del self._data[key]
            return None
        return entry

    def _sweep(self) -> None:
        if len(self._data) > 10_000:
            now = time.monotonic()
            self._data = {k: v for k, v in self._data.items() if v[1] > now}

    async def incr(self, key: str, ttl_seconds: int) -> int:
        entry = self._live(key)
        if entry is None:
            self._sweep()
            self._data[key] = ("1", time.monotonic() + ttl_seconds)
            return 1
        value = int(entry[0]) + 1
        self._data[key] = (str(value), entry[1])
        return value

    async def add(self, key: str, value: str, ttl_seconds: int) -> bool:
        if self._live(key) is not None:
            return False
        self._sweep()
        self._data[key] = (value, time.monotonic() + ttl_seconds)
        return True

    async def set(self, key: str, value: str, ttl_seconds: int) -> None:
        self._sweep()
        self._data[key] = (value, time.monotonic() + ttl_seconds)

    async def get(self, key: str) -> str | None:
        entry = self._live(key)
        return entry[0] if entry else None

    async def pop(self, key: str) -> str | None:
        entry = self._live(key)
        if entry is None:
            return None
        del self._data[key]
        return entry[0]

    async def ttl(self, key: str) -> int:
        entry = self._live(key)
        return max(0, round(entry[1] - time.monotonic())) if entry else 0

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._data.clear()


class RedisCache:
    """Shared cache for several processes or replicas."""

    def __init__(self, url: str, prefix: str = "relaypacs:") -> None:
        import redis.asyncio as redis  # only deployments with REDIS_URL load it

        self.client: redis.Redis = redis.from_url(url, decode_responses=True, **redis_options())
        self.prefix = prefix

    async def incr(self, key: str, ttl_seconds: int) -> int:
        full = self.prefix + key
        with _unavailable():
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.incr(full)
                pipe.expire(full, ttl_seconds, nx=True)
                value, _ = await pipe.execute()
        return int(value)

    async def add(self, key: str, value: str, ttl_seconds: int) -> bool:
        with _unavailable():
            return bool(await self.client.set(self.prefix + key, value, ex=ttl_seconds, nx=True))

    async def set(self, key: str, value: str, ttl_seconds: int) -> None:
        with _unavailable():
            await self.client.set(self.prefix + key, value, ex=ttl_seconds)

    async def get(self, key: str) -> str | None:
        with _unavailable():
            value = await self.client.get(self.prefix + key)
        return None if value is None else str(value)

    async def pop(self, key: str) -> str | None:
        with _unavailable():
            value = await self.client.getdel(self.prefix + key)
        return None if value is None else str(value)

    async def ttl(self, key: str) -> int:
        with _unavailable():
            return max(0, int(await self.client.ttl(self.prefix + key)))

    async def ping(self) -> None:
        await self.client.ping()

    async def close(self) -> None:
        await self.client.aclose()


class CacheUnavailable(AppError):
    status_code = 503
    code = "cache_unavailable"
    message = "A shared service (Redis) is unreachable; try again shortly."


@contextmanager
def _unavailable() -> Iterator[None]:
    """Redis down is a 503 with a clear code, not an unexpected 500."""
    from redis.exceptions import RedisError

    try:
        yield
    except RedisError as exc:
        raise CacheUnavailable() from exc


def redis_options() -> dict[str, object]:
    """Retry a command once or twice on a fresh connection: after a Redis restart the
    pooled connections are stale and the first command on each would fail."""
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from redis.retry import Retry

    return {
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "health_check_interval": 30,
    }


def create_cache(redis_url: str) -> Cache:
    return RedisCache(redis_url) if redis_url else MemoryCache()
