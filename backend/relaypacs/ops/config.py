"""Error reporting settings: the ops group of the one root `Settings` (relaypacs/settings.py).
Variables: SENTRY_DSN, SENTRY_ENVIRONMENT, SENTRY_RELEASE, SENTRY_TRACES_SAMPLE_RATE,
SENTRY_PROFILES_SAMPLE_RATE, SENTRY_BROWSER_DSN and SENTRY_BROWSER_TRACES_SAMPLE_RATE."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from sentry_sdk.utils import BadDsn, Dsn

from relaypacs import __version__
from relaypacs.core.config import CoreSettings

SampleRate = Annotated[float, Field(ge=0.0, le=1.0)]


def default_release() -> str:
    return f"relaypacs@{__version__}"


class OpsSettings(CoreSettings):
    """Sentry for the gateway (SENTRY_DSN) and for the web app (SENTRY_BROWSER_DSN, handed to
    browsers by GET /api/client-config; a DSN is a public identifier, not a secret)."""

    sentry_dsn: str = ""
    sentry_environment: str = ""
    sentry_release: str = ""
    sentry_traces_sample_rate: SampleRate = 0.0
    sentry_profiles_sample_rate: SampleRate = 0.0
    sentry_browser_dsn: str = ""
    sentry_browser_traces_sample_rate: SampleRate = 0.0

    @field_validator("sentry_dsn", "sentry_browser_dsn")
    @classmethod
    def _check_dsn(cls, value: str) -> str:
        value = value.strip()
        if value:
            try:
                Dsn(value)
            except BadDsn as exc:
                raise ValueError(
                    f"not a Sentry DSN ({exc}); expected https://<key>@<host>/<project id>"
                ) from None
        return value

    @property
    def sentry_release_name(self) -> str:
        return self.sentry_release or default_release()

    @property
    def sentry_environment_name(self) -> str:
        return self.sentry_environment or self.environment.value
