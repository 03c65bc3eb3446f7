"""Retry and fallback policy: what to do after an attempt that did not deliver."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from relaypacs.pacs.config import PacsSettings
from relaypacs.pacs.models import ForwardJob, JobRole


def backoff(settings: PacsSettings, attempts: int, retry_after: float | None = None) -> timedelta:
    """Exponential with full jitter, never sooner than the server's Retry-After."""
    ceiling = min(
        settings.forward_backoff_max_seconds,
        settings.forward_backoff_base_seconds * 2 ** max(0, attempts - 1),
    )
    delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security
    return timedelta(seconds=max(delay, retry_after or 0.0))


class Action(StrEnum):
    retry = "retry"  # try again at `next_attempt_at`
    fall_back = "fall_back"  # hand what is left to the fallback destination
    give_up = "give_up"  # dead letter (an admin may retry it)


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reason: str = ""
    next_attempt_at: datetime | None = None


def after_failure(
    settings: PacsSettings,
    job: ForwardJob,
    now: datetime,
    *,
    count_attempt: bool,
    retry_after: float | None,
) -> Decision:
    """Attempts and age are bounded; a primary that stays down gives way to the fallback."""
    too_old = now - job.created_at > timedelta(hours=settings.forward_max_age_hours)
    exhausted = count_attempt and job.attempts >= settings.forward_max_attempts
    first_failure = job.first_failure_at or now
    down_too_long = now - first_failure >= timedelta(seconds=settings.fallback_after_seconds)
    if (
        job.role is JobRole.primary
        and settings.fallback_pacs
        and (exhausted or too_old or down_too_long)
    ):
        return Decision(Action.fall_back)
    if exhausted or too_old:
        return Decision(Action.give_up, "attempts exhausted" if exhausted else "too old")
    return Decision(
        Action.retry, next_attempt_at=now + backoff(settings, max(job.attempts, 1), retry_after)
    )
