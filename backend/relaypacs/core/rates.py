"""Rate-limit settings: "30/minute"-style values and the per-action limits read from
RATE_LIMIT__<ACTION>_PER_IP / _PER_ACCOUNT (a group of core.config.CoreSettings)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer
from pydantic_settings import NoDecode

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(
    r"^\s*(?P<limit>\d+)\s*/\s*(?P<count>\d+)?\s*"
    r"(?P<unit>s|sec|second|m|min|minute|h|hour|d|day)s?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Rate:
    """At most `limit` attempts per `seconds` (a fixed window)."""

    limit: int
    seconds: int

    def __str__(self) -> str:
        for unit, name in ((86400, "day"), (3600, "hour"), (60, "minute")):
            if self.seconds % unit == 0:
                count = self.seconds // unit
                return f"{self.limit}/{name}" if count == 1 else f"{self.limit}/{count}{name}s"
        return f"{self.limit}/{self.seconds}seconds"


def parse_rate(value: object) -> object:
    """ "30/minute", "5/15minutes", "100/day", "3/30s" → Rate (other types pass through)."""
    if not isinstance(value, str):
        return value
    match = _RATE.match(value)
    if match is None:
        raise ValueError("expected <count>/<period>, e.g. 30/minute, 5/15minutes or 100/day")
    seconds = int(match["count"] or 1) * _PERIODS[match["unit"][0].lower()]
    limit = int(match["limit"])
    if limit < 1 or not 1 <= seconds <= 7 * 86400:
        raise ValueError("the count must be at least 1 and the period between 1 s and 7 days")
    return Rate(limit=limit, seconds=seconds)


# NoDecode: the environment's "30/minute" is parsed here, not as JSON.
RateSetting = Annotated[Rate, NoDecode, BeforeValidator(parse_rate), PlainSerializer(str)]
RateLimitedAction = Literal[
    "login",
    "login_2fa",
    "register",
    "verify_resend",
    "password_change",
    "reauth",
    "invitation_accept",
]


class RateLimits(BaseModel):
    """Attempts allowed per client IP and per account (the email or username given, or
    the signed-in user); env vars RATE_LIMIT__<ACTION>_PER_IP / _PER_ACCOUNT."""

    model_config = ConfigDict(frozen=True)

    login_per_ip: RateSetting = Rate(30, 60)
    login_per_account: RateSetting = Rate(10, 60)
    login_2fa_per_ip: RateSetting = Rate(30, 60)
    login_2fa_per_account: RateSetting = Rate(10, 60)
    register_per_ip: RateSetting = Rate(20, 3600)
    register_per_account: RateSetting = Rate(5, 3600)
    verify_resend_per_ip: RateSetting = Rate(20, 3600)
    verify_resend_per_account: RateSetting = Rate(5, 3600)
    password_change_per_ip: RateSetting = Rate(30, 3600)
    password_change_per_account: RateSetting = Rate(10, 3600)
    reauth_per_ip: RateSetting = Rate(30, 3600)
    reauth_per_account: RateSetting = Rate(10, 3600)
    # Accepting an invitation: per IP only (the link's token is all a caller gives).
    invitation_accept_per_ip: RateSetting = Rate(20, 3600)

    def per_ip(self, action: RateLimitedAction) -> Rate:
        rate: Rate = getattr(self, f"{action}_per_ip")
        return rate

    def per_account(self, action: RateLimitedAction) -> Rate:
        rate: Rate = getattr(self, f"{action}_per_account")
        return rate
