"""The one root `Settings`: core's variables plus each domain's own group, read from the
environment (and an optional `.env`); `load_settings` names the variable of a bad value."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from relaypacs.backup.config import BackupSettings
from relaypacs.core.config import ConfigurationError, describe_validation_error
from relaypacs.ops.config import OpsSettings
from relaypacs.pacs.config import PacsSettings


class Settings(PacsSettings, BackupSettings, OpsSettings):
    """Every variable is documented, with its default, in `.env.example`."""


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment, raising ConfigurationError on bad values."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(describe_validation_error(exc)) from None
