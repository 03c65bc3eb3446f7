from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from relaypacs.auth.dependencies import CurrentUser, user_with
from relaypacs.auth.models import User
from relaypacs.core.dependencies import SessionDep
from relaypacs.core.permissions import Permission
from relaypacs.reports import service
from relaypacs.reports.models import Report


async def visible_report(report_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Report:
    """The report named in the path, if the current user may see it (404 otherwise)."""
    return await service.get_visible_or_raise(session, user=user, report_id=report_id)


async def locked_report(report_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Report:
    """The visible report, locked for the request's transaction: for the routes that change it."""
    return await service.get_visible_or_raise(session, user=user, report_id=report_id, lock=True)


VisibleReport = Annotated[Report, Depends(visible_report)]
LockedReport = Annotated[Report, Depends(locked_report)]
Reporter = Annotated[User, Depends(user_with(Permission.report_update))]
