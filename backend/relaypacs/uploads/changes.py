"""A generation counter, in the shared cache, that moves on every upload state change.

Whatever is computed from uploads and cached (the stats) puts the generation in its cache
key, so one INCR invalidates every cached entry on every replica (with REDIS_URL set; the
in-process cache otherwise). It is bumped after the change committed: a reader that takes
the new generation cannot see the old data.
"""

from __future__ import annotations

from relaypacs.core.cache import Cache, CacheUnavailable
from relaypacs.core.logging import get_logger

log = get_logger("relaypacs.uploads")

GENERATION_KEY = "uploads:generation"
# The counter's lifetime (from its first bump). When it lapses it starts again at 1, long
# after every entry cached under the old numbers expired.
GENERATION_TTL_SECONDS = 30 * 24 * 3600


async def changed(cache: Cache | None) -> None:
    """An upload was initialised or changed state (committed): move the generation on."""
    if cache is None:
        return
    try:
        await cache.incr(GENERATION_KEY, GENERATION_TTL_SECONDS)
    except CacheUnavailable:
        # Entries cached meanwhile live out their TTL; the upload itself is unaffected.
        log.warning("upload_generation_not_bumped")


async def generation(cache: Cache) -> str:
    """The current generation ("0" before the first change); CacheUnavailable if down."""
    return await cache.get(GENERATION_KEY) or "0"
