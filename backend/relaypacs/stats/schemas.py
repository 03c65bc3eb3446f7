"""The stats answer: the exact contract the PWA dashboard reads (issue 13)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from relaypacs.core.service_levels import ServiceLevel


class Period(StrEnum):
    """How far back: the last 7, 14, 30, 90 or 180 days (today included), or everything."""

    w1 = "1w"
    w2 = "2w"
    m1 = "1m"
    m3 = "3m"
    m6 = "6m"
    all = "all"


PERIOD_DAYS: dict[Period, int | None] = {
    Period.w1: 7,
    Period.w2: 14,
    Period.m1: 30,
    Period.m3: 90,
    Period.m6: 180,
    Period.all: None,
}


class Outcomes(BaseModel):
    """Uploads of the period by where they are now (in_progress: any other state)."""

    forwarded: int
    failed: int
    in_progress: int
    cancelled: int
    expired: int


class ModalityCount(BaseModel):
    modality: str
    uploads: int
    bytes: int = Field(description="Bytes of this modality's uploads that completed")


class ServiceLevelCount(BaseModel):
    service_level: ServiceLevel
    uploads: int


class DailyCount(BaseModel):
    date: date
    uploads: int
    forwarded: int
    failed: int


class UploadStats(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    period: Period
    from_: datetime | None = Field(
        alias="from", description="Start of the period (midnight in tz); null for `all`"
    )
    to: datetime
    generated_at: datetime
    total_uploads: int = Field(description="Uploads initialised in the period")
    volume_bytes: int = Field(description="Bytes of uploads whose completion was accepted")
    volume_gb: float = Field(description="volume_bytes in GB (10^9 bytes), 2 decimals")
    success_rate: float | None = Field(
        description="forwarded / (forwarded + failed), 4 decimals; null when neither"
    )
    avg_upload_seconds: float | None = Field(description="Mean of init → complete accepted")
    avg_delivery_seconds: float | None = Field(description="Mean of complete → forwarded")
    by_outcome: Outcomes
    by_modality: list[ModalityCount]
    by_service_level: list[ServiceLevelCount]
    daily: list[DailyCount]
