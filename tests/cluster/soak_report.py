"""The soak's verdict: every figure it reports and the goals it checks (tests/cluster/soak.py
explains what each figure means and how it is measured)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SoakReport:
    seed: int
    studies_requested: int
    clients: int
    seconds_requested: float
    max_instances: int
    sent: int = 0
    accepted: int = 0
    delivered: int = 0
    lost: int = 0
    lost_studies: list[str] = field(default_factory=list)
    not_accepted: list[str] = field(default_factory=list)
    instances_sent: int = 0
    bytes_sent: int = 0
    sha_mismatches: int = 0
    duplicate_deliveries: int = 0
    duplicate_details: list[str] = field(default_factory=list)
    forward_receipts: int = 0
    unexpected_5xx: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    transport_errors: int = 0
    chunks: int = 0
    chunk_p50_s: float | None = None
    chunk_p99_s: float | None = None
    upload_seconds: float = 0.0
    drain_seconds: float = 0.0
    verify_seconds: float = 0.0
    total_seconds: float = 0.0
    last_fault_to_last_delivery_s: float | None = None
    kills: int = 0
    replica_restarts: int = 0
    redis_restarts: int = 0
    postgres_restarts: int = 0
    pacs_flap_seconds: float = 0.0
    faults: list[str] = field(default_factory=list)

    def failures(self) -> list[str]:
        """The goals missed, in words; empty when the soak passed."""
        missed = []
        if self.not_accepted:
            missed.append(f"{len(self.not_accepted)} studies not accepted")
        if self.lost:
            missed.append(f"{self.lost} studies lost")
        if self.delivered != self.sent:
            missed.append(f"{self.delivered} of {self.sent} studies delivered")
        if self.sha_mismatches:
            missed.append(f"{self.sha_mismatches} SHA-256 mismatches")
        if self.duplicate_deliveries:
            missed.append(f"{self.duplicate_deliveries} duplicate deliveries")
        if self.unexpected_5xx:
            missed.append(f"{len(self.unexpected_5xx)} unexpected 5xx")
        return missed

    def as_dict(self, longest: int = 50) -> dict[str, Any]:
        """Every figure; a list longer than `longest` is cut, with its length noted."""
        values = asdict(self)
        for key, value in values.items():
            if isinstance(value, list) and len(value) > longest:
                values[key] = [*value[:longest], f"... and {len(value) - longest} more"]
        return values

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=False)

    def lines(self) -> list[str]:
        return self.to_json().splitlines()


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
