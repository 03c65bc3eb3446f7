"""Upload completed → forward jobs queued (same transaction) → the forwarder woken.

`Forwarding` is the `uploads.handoff.Handoff` that main.py gives the uploads routes.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.pacs import service as pacs_service
from relaypacs.pacs.config import PacsSettings
from relaypacs.pacs.worker import Forwarder
from relaypacs.uploads import service as uploads_service
from relaypacs.uploads.models import Upload
from relaypacs.uploads.schemas import ForwardJobRead


class Forwarding:
    def __init__(self, *, settings: PacsSettings, forwarder: Forwarder) -> None:
        self.settings = settings
        self.forwarder = forwarder

    async def queue(self, session: AsyncSession, *, upload: Upload) -> list[str]:
        """One forward job per active destination, in the completing transaction."""
        instance_ids = await uploads_service.instance_ids(session, upload_id=upload.id)
        return await pacs_service.enqueue(
            session, settings=self.settings, upload_id=upload.id, instance_ids=instance_ids
        )

    def committed(self) -> None:
        self.forwarder.wake()

    async def forwarding(
        self, session: AsyncSession, *, upload_id: uuid.UUID
    ) -> list[ForwardJobRead]:
        return await pacs_service.forwarding_of(session, upload_id=upload_id)
