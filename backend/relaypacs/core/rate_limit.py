"""Rate limits: fixed-window counters on the shared cache (Redis when REDIS_URL is set, so
every replica counts together; in-process otherwise).

Each rate-limited action counts attempts twice, per client IP (as `ClientInfo` resolves
it, so a forwarded address counts only from a trusted proxy) and per account (the email or
username given, or the signed-in user), so neither many IPs against one account nor one
IP against many accounts gets past it. Limits are `RATE_LIMIT__<ACTION>_PER_IP` and
`_PER_ACCOUNT` (`core.rates.RateLimits`). Keys hold a keyed digest of the subject, never
an address or an IP.
"""

from __future__ import annotations

from relaypacs.core.cache import Cache
from relaypacs.core.config import CoreSettings
from relaypacs.core.errors import AppError
from relaypacs.core.rates import Rate, RateLimitedAction
from relaypacs.core.security import keyed_digest


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"
    message = "Too many attempts; try again later."


async def _hit(cache: Cache, settings: CoreSettings, *, key: str, subject: str, rate: Rate) -> None:
    full_key = f"rate:{key}:{keyed_digest(settings, f'rate:{key}:{subject}')[:32]}"
    attempts = await cache.incr(full_key, rate.seconds)
    if attempts > rate.limit:
        retry = max(1, await cache.ttl(full_key))
        raise RateLimited(
            f"Too many attempts; try again in {retry} seconds.",
            headers={"Retry-After": str(retry)},
            retry_after=retry,
        )


async def limit_ip(
    cache: Cache, settings: CoreSettings, action: RateLimitedAction, *, ip: str | None
) -> None:
    """Count one attempt of `action` from `ip`; past the limit, 429 `rate_limited`."""
    await _hit(
        cache,
        settings,
        key=f"{action}:ip",
        subject=ip or "unknown",
        rate=settings.rate_limit.per_ip(action),
    )


async def limit_account(
    cache: Cache, settings: CoreSettings, action: RateLimitedAction, *, account: str
) -> None:
    """Count one attempt of `action` on `account`; past the limit, 429 `rate_limited`."""
    await _hit(
        cache,
        settings,
        key=f"{action}:account",
        subject=account.strip().lower(),
        rate=settings.rate_limit.per_account(action),
    )
