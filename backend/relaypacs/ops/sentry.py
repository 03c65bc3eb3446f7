"""Error reporting to Sentry, on when SENTRY_DSN is set: unhandled request errors and every
`error`/`exception` log line become events, scrubbed by `ops.scrub` before they leave."""

from __future__ import annotations

import logging

import sentry_sdk
from sentry_sdk.integrations.argv import ArgvIntegration
from sentry_sdk.integrations.fastapi import FastApiIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.integrations.starlette import StarletteIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, DEFAULT_PII_DENYLIST, EventScrubber

from relaypacs.ops.config import OpsSettings
from relaypacs.ops.scrub import scrub_breadcrumb, scrub_event, scrub_transaction

# Sentry's own key scrubber (every level of the event), told about this app's secrets too.
_DENYLIST = [
    "x-upload-token",
    "x_upload_token",
    "upload_token",
    "mfa_token",
    "refresh_token",
    "access_token",
    "backup_code",
    "ticket",
]
_PII_DENYLIST = [
    "patient_name",
    "patientname",
    "patient_id",
    "patientid",
    "patient_birth_date",
    "full_name",
    "notes",
    "email",
]
# An AppError's 502/503 (a PACS or the storage down) is an expected state that metrics and
# alerts cover; an unhandled error (500) is a fault worth an event.
_FAILED_STATUS = {500}


def init(settings: OpsSettings) -> bool:
    """Start the Sentry client when SENTRY_DSN is set; True when it did."""
    if not settings.sentry_dsn:
        return False
    traces = settings.sentry_traces_sample_rate or None
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.sentry_environment_name,
        release=settings.sentry_release_name,
        traces_sample_rate=traces,
        profiles_sample_rate=settings.sentry_profiles_sample_rate if traces else None,
        send_default_pii=False,
        include_local_variables=False,
        include_source_context=True,
        max_request_body_size="never",
        in_app_include=["relaypacs"],
        event_scrubber=EventScrubber(
            denylist=DEFAULT_DENYLIST + _DENYLIST,
            pii_denylist=DEFAULT_PII_DENYLIST + _PII_DENYLIST,
            recursive=True,
        ),
        before_send=scrub_event,  # type: ignore[arg-type]
        before_send_transaction=scrub_transaction,  # type: ignore[arg-type]
        before_breadcrumb=scrub_breadcrumb,
        integrations=[
            StarletteIntegration(
                transaction_style="url", failed_request_status_codes=_FAILED_STATUS
            ),
            FastApiIntegration(transaction_style="url", failed_request_status_codes=_FAILED_STATUS),
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
        disabled_integrations=[ArgvIntegration()],
    )
    return True
