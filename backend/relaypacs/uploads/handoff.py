"""What happens to an upload once it is complete: the port the layer above implements.

`relaypacs.flows.forwarding.Forwarding` is the implementation (it queues forward jobs in
`relaypacs.pacs`); main.py puts it on `app.state.handoff`, and routes receive it as
`HandoffDep`. Uploads never import the domains above them.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.uploads.models import Upload
from relaypacs.uploads.schemas import ForwardJobRead


class Handoff(Protocol):
    async def queue(self, session: AsyncSession, *, upload: Upload) -> list[str]:
        """In the completing transaction: queue the study; returns its destinations."""
        ...

    def committed(self) -> None:
        """After that transaction committed: start on the work now."""
        ...

    async def forwarding(
        self, session: AsyncSession, *, upload_id: uuid.UUID
    ) -> list[ForwardJobRead]:
        """How the upload is being forwarded, one entry per destination."""
        ...
