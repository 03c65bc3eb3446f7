"""The study's service level: one enum and one reading order, used everywhere (the PWA
gets both through the generated API types)."""

from __future__ import annotations

from enum import StrEnum


class ServiceLevel(StrEnum):
    STAT = "STAT"
    EMERGENCY = "EMERGENCY"
    ROUTINE = "ROUTINE"


# The reading order: lower is read first.
PRIORITY: dict[ServiceLevel, int] = {
    ServiceLevel.STAT: 0,
    ServiceLevel.EMERGENCY: 1,
    ServiceLevel.ROUTINE: 2,
}
# New studies at these levels are announced to every radiologist.
URGENT = frozenset({ServiceLevel.STAT, ServiceLevel.EMERGENCY})


def priority(level: str) -> int:
    return PRIORITY[ServiceLevel(level)]
