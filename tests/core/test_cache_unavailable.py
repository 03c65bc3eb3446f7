"""With REDIS_URL set and Redis gone, what needs the cache answers 503 `cache_unavailable`
(a clear, retryable error), never an unexpected 500."""

from __future__ import annotations

import pytest

from relaypacs.core.cache import CacheUnavailable, RedisCache
from tests.servers import free_port


async def test_an_unreachable_redis_is_a_clear_503() -> None:
    cache = RedisCache(f"redis://127.0.0.1:{free_port()}/0")
    try:
        for call in (
            lambda: cache.get("k"),
            lambda: cache.add("k", "v", 5),
            lambda: cache.pop("k"),
            lambda: cache.incr("k", 5),
            lambda: cache.ttl("k"),
        ):
            with pytest.raises(CacheUnavailable) as caught:
                await call()
            assert caught.value.status_code == 503
            assert caught.value.code == "cache_unavailable"
    finally:
        await cache.close()
