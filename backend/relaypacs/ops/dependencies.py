from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from relaypacs.ops.config import OpsSettings


def get_ops_settings(request: Request) -> OpsSettings:
    """The root settings, seen as the ops package sees them."""
    settings: OpsSettings = request.app.state.settings
    return settings


OpsSettingsDep = Annotated[OpsSettings, Depends(get_ops_settings)]
