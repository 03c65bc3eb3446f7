from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from relaypacs.notifications.hub import Hub
from relaypacs.notifications.service import Notifier


def get_notifier(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


NotifierDep = Annotated[Notifier, Depends(get_notifier)]
HubDep = Annotated[Hub, Depends(get_hub)]
