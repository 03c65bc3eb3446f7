"""The GDPR export's single registration point: each domain adds a section.

A domain registers at import time, whatever its layer (this registry is in `core` so that
every domain can reach it):

    @export.section("uploads")
    async def _uploads(session, user_id): ...
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

ExportSection = Callable[[AsyncSession, uuid.UUID], Awaitable[Any]]
_sections: dict[str, ExportSection] = {}


def section(name: str) -> Callable[[ExportSection], ExportSection]:
    def register(func: ExportSection) -> ExportSection:
        if name in _sections and _sections[name] is not func:
            raise RuntimeError(f"export section {name!r} registered twice")
        _sections[name] = func
        return func

    return register


async def build(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    return {name: await func(session, user_id) for name, func in sorted(_sections.items())}
