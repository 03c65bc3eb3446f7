"""The GDPR export's single registration point: each domain adds a section.

A domain registers at import time:

    @export.section("uploads")
    async def _uploads(session, user): ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.users.models import User

ExportSection = Callable[[AsyncSession, User], Awaitable[Any]]
_sections: dict[str, ExportSection] = {}


def section(name: str) -> Callable[[ExportSection], ExportSection]:
    def register(func: ExportSection) -> ExportSection:
        if name in _sections and _sections[name] is not func:
            raise RuntimeError(f"export section {name!r} registered twice")
        _sections[name] = func
        return func

    return register


async def build(session: AsyncSession, user: User) -> dict[str, Any]:
    return {name: await func(session, user) for name, func in sorted(_sections.items())}
