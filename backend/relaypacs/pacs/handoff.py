"""What the forwarder tells the layer above when a job changes state.

`relaypacs.flows.delivery.job_changed` is the listener: inside the forwarder's
transaction it brings the upload's state up to date, opens the report or notifies the
uploader, and returns what to deliver once that transaction commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.notifications.service import Dispatch
from relaypacs.pacs.models import JobState


class ForwardingProgress(StrEnum):
    """An upload's delivery across its destinations' jobs."""

    forwarding = "forwarding"  # some job still pending or sending
    delivered = "delivered"  # every job delivered
    failed = "failed"  # some job dead-lettered


@dataclass(frozen=True, slots=True)
class JobChange:
    job_id: uuid.UUID
    upload_id: uuid.UUID
    destination: str
    state: JobState
    error: str | None = None


class JobListener(Protocol):
    async def __call__(self, session: AsyncSession, change: JobChange) -> Dispatch: ...
