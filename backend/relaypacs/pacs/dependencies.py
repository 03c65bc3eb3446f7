from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from relaypacs.pacs.config import PacsSettings
from relaypacs.pacs.worker import Forwarder


def get_pacs_settings(request: Request) -> PacsSettings:
    """The root settings, seen as the pacs domain sees them."""
    settings: PacsSettings = request.app.state.settings
    return settings


def get_forwarder(request: Request) -> Forwarder:
    forwarder: Forwarder = request.app.state.forwarder
    return forwarder


PacsSettingsDep = Annotated[PacsSettings, Depends(get_pacs_settings)]
ForwarderDep = Annotated[Forwarder, Depends(get_forwarder)]
