"""The report PDF (ReportLab). Being written; interface fixed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from relaypacs.reports.models import Report


async def render_for_download(session: AsyncSession, *, report: Report) -> tuple[bytes, str]:
    """(PDF bytes, file name) for a READY report; ReportNotReady (409) otherwise."""
    raise NotImplementedError
