"""The error-report scrubber (relaypacs.ops.scrub) on events shaped as sentry-sdk builds them."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import pytest
import structlog

from relaypacs.core.config import Environment
from relaypacs.core.context import set_request_id
from relaypacs.core.logging import WITHHELD, configure_logging
from relaypacs.ops import scrub
from relaypacs.ops.config import OpsSettings
from relaypacs.settings import load_settings

NAME = "Pemberton^Wilhelmina"
PATIENT_ID = "MRN77120934"
TOKEN = "Zq3v9KpL2mXw8RtY5nB7cD1fG4hJ6kS0aE_-uIoPqWe"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
PASSWORD = "juniper-falcon-cascade-18"


def _leaks(value: Any) -> list[str]:
    text = json.dumps(value).casefold()
    parts = [NAME, "Pemberton", "Wilhelmina", PATIENT_ID, TOKEN, JWT, PASSWORD, "wilma@example.org"]
    return [p for p in parts if p.casefold() in text]


def _event() -> dict[str, Any]:
    return {
        "level": "error",
        "message": f"failed for {NAME}",
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": f"invalid literal for int(): '{PATIENT_ID}' ({NAME})",
                    "mechanism": {"type": "generic", "data": {"patient": NAME}},
                    "stacktrace": {
                        "frames": [
                            {
                                "function": "complete",
                                "module": "relaypacs.uploads.completion",
                                "lineno": 10,
                                "vars": {"patient_name": NAME, "token": TOKEN, "x": PATIENT_ID},
                            }
                        ]
                    },
                }
            ]
        },
        "threads": {"values": [{"stacktrace": {"frames": [{"vars": {"p": PASSWORD}}]}}]},
        "request": {
            "method": "POST",
            "url": f"https://gw.example.org/api/upload/init?patient={NAME}&token={TOKEN}",
            "query_string": f"patient={NAME}&token={TOKEN}",
            "data": {"patient_name": NAME, "password": PASSWORD},
            "cookies": {"refresh_token": TOKEN},
            "env": {"REMOTE_ADDR": "203.0.113.9"},
            "headers": {
                "Authorization": f"Bearer {JWT}",
                "X-Upload-Token": TOKEN,
                "Cookie": f"refresh_token={TOKEN}",
                "Referer": f"https://gw.example.org/upload?patient={NAME}",
                "User-Agent": "Mozilla/5.0",
                "Content-Type": "application/json",
            },
        },
        "user": {"id": "u-1", "email": "wilma@example.org", "ip_address": "203.0.113.9"},
        "extra": {"patient_id": PATIENT_ID, "note": f"see {NAME}", "sys.argv": ["x", PASSWORD]},
        "tags": {"route": "/api/upload/init", "who": f"{NAME}"},
        "contexts": {"trace": {"trace_id": "a" * 32, "span_id": "b" * 16, "op": "http.server"}},
        "breadcrumbs": {
            "values": [
                {
                    "category": "httplib",
                    "type": "http",
                    "data": {
                        "url": f"http://pacs/dicom-web/studies?PatientID={PATIENT_ID}",
                        "http.query": f"PatientID={PATIENT_ID}",
                        "http.method": "GET",
                        "status_code": 200,
                    },
                },
                {"category": "redis", "message": f"SET rl:login:wilma@example.org {TOKEN}"},
            ]
        },
    }


def test_event_keeps_where_and_what_and_drops_everything_a_user_sent() -> None:
    set_request_id("req-123")
    try:
        event = scrub.scrub_event(_event(), {})
    finally:
        set_request_id(None)

    assert _leaks(event) == []
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "ValueError"
    assert exception["value"] == WITHHELD
    assert exception["stacktrace"]["frames"][0]["function"] == "complete"
    assert "vars" not in exception["stacktrace"]["frames"][0]
    assert event["request"] == {
        "method": "POST",
        "url": "https://gw.example.org/api/upload/init",
        "headers": {"User-Agent": "Mozilla/5.0", "Content-Type": "application/json"},
    }
    assert event["user"] == {"id": "u-1"}
    assert event["tags"]["request_id"] == "req-123"
    assert event["tags"]["route"] == "/api/upload/init"
    assert event["contexts"]["trace"]["trace_id"] == "a" * 32
    http, redis = event["breadcrumbs"]["values"]
    assert http["data"] == {
        "url": "http://pacs/dicom-web/studies",
        "http.method": "GET",
        "status_code": 200,
    }
    assert redis["message"] == "SET"


def _record(msg: Any, *args: Any) -> logging.LogRecord:
    return logging.LogRecord("relaypacs.x", logging.ERROR, __file__, 1, msg, args, None)


def test_a_structlog_line_is_sent_as_its_event_name_and_safe_fields() -> None:
    record = _record(
        {
            "event": "forward_job_failed",
            "job_id": "j-1",
            "patient_name": NAME,
            "url": f"/x?t={TOKEN}",
        }
    )
    event = scrub.scrub_event(
        {"logentry": {"message": repr(record.msg)}, "extra": {}}, {"log_record": record}
    )

    assert event["logentry"] == {"message": "forward_job_failed"}
    assert event["extra"]["job_id"] == "j-1"
    assert event["extra"]["patient_name"] == scrub.FILTERED
    assert _leaks(event) == []


def test_a_foreign_log_line_keeps_its_template_but_not_its_arguments_nor_a_formatted_text() -> None:
    templated = scrub.scrub_event(
        {
            "logentry": {
                "message": "no study for %s",
                "params": [NAME],
                "formatted": f"no study for {NAME}",
            }
        },
        {"log_record": _record("no study for %s", NAME)},
    )
    formatted = scrub.scrub_event(
        {"logentry": {"message": f"no study for {NAME}"}},
        {"log_record": _record(f"no study for {NAME}")},
    )

    assert templated["logentry"] == {"message": "no study for %s"}
    assert formatted["logentry"] == {"message": f"relaypacs.x: {WITHHELD}"}
    assert _leaks([templated, formatted]) == []


def test_breadcrumbs_from_logs_navigation_and_console_carry_no_values() -> None:
    log_crumb = scrub.scrub_breadcrumb(
        {
            "category": "relaypacs.x",
            "message": repr({"event": "login_failed"}),
            "data": {"email": "wilma@example.org"},
        },
        {"log_record": _record({"event": "login_failed", "email": "wilma@example.org"})},
    )
    plain = scrub.scrub_breadcrumb(
        {"category": "navigation", "data": {"from": f"/verify?token={TOKEN}", "to": "/upload#x"}}
    )

    assert log_crumb["message"] == "login_failed"
    assert plain["data"] == {"from": "/verify", "to": "/upload"}
    assert _leaks([log_crumb, plain]) == []


def test_transaction_spans_lose_queries_redis_values_and_sql_parameters() -> None:
    event = scrub.scrub_transaction(
        {
            "type": "transaction",
            "transaction": "/api/upload/{upload_id}/status",
            "spans": [
                {
                    "op": "http.client",
                    "description": f"GET http://pacs/studies?PatientID={PATIENT_ID}",
                    "data": {
                        "url": f"http://pacs/studies?PatientID={PATIENT_ID}",
                        "http.query": f"PatientID={PATIENT_ID}",
                    },
                },
                {
                    "op": "db.redis",
                    "description": f"SET rl:{NAME} {TOKEN}",
                    "data": {"redis.key": NAME},
                },
                {
                    "op": "db",
                    "description": "UPDATE user SET failed_login_count=?, locked_until=? WHERE user.id = ?",
                    "data": {"db.params": [PASSWORD]},
                },
            ],
        },
        {},
    )

    http, redis, sql = event["spans"]
    assert http["description"] == "GET http://pacs/studies"
    assert http["data"] == {"url": "http://pacs/studies"}
    assert redis["description"] == "SET" and redis["data"] == {}
    assert (
        sql["description"]
        == "UPDATE user SET failed_login_count=?, locked_until=? WHERE user.id = ?"
    )
    assert event["transaction"] == "/api/upload/{upload_id}/status"
    assert _leaks(event) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Bearer {JWT}", "Bearer [Filtered]"),
        (f"token {TOKEN}", "token [Filtered]"),
        (f"study of {NAME} failed", "study of [Filtered] failed"),
        ("Doe%5EJane in a URL", "[Filtered] in a URL"),
        ("mail wilma@example.org now", "mail [Filtered] now"),
        (f"https://user:{PASSWORD}@host/path?x=1#frag", "https://host/path?[Filtered]"),
        (
            "upload_validation_concurrency_limit_reached",
            "upload_validation_concurrency_limit_reached",
        ),
        (
            "/api/upload/3f2b8c1e-0d4a-4c7b-9e21-7a6f5d4c3b2a/status",
            "/api/upload/3f2b8c1e-0d4a-4c7b-9e21-7a6f5d4c3b2a/status",
        ),
        ("is it ready? yes", "is it ready? yes"),
    ],
)
def test_clean_text(text: str, expected: str) -> None:
    assert scrub.clean_text(text) == expected


def test_settings_name_the_variable_of_a_bad_dsn_and_default_the_release() -> None:
    with pytest.raises(Exception, match="SENTRY_DSN: not a Sentry DSN"):
        load_settings(sentry_dsn="sentry.example.org")
    settings = load_settings(environment=Environment.test, sentry_dsn="")
    assert isinstance(settings, OpsSettings)
    assert settings.sentry_release_name.startswith("relaypacs@")
    assert settings.sentry_environment_name == "test"


def test_an_exception_logged_through_structlog_reaches_the_standard_record(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Sentry's logging integration reads `record.exc_info`; the app's own output still
    withholds the message."""
    configure_logging(load_settings(environment=Environment.test, log_format="console"))
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep()
    logging.getLogger().addHandler(keep)
    try:
        try:
            raise RuntimeError(f"study of {NAME}")
        except RuntimeError:
            structlog.stdlib.get_logger("relaypacs.test").exception("unhandled_error")
    finally:
        logging.getLogger().removeHandler(keep)
    (record,) = [r for r in seen if r.name == "relaypacs.test"]
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    printed = capsys.readouterr().err
    assert "unhandled_error" in printed and "Pemberton" not in printed
    assert sys.exc_info() == (None, None, None)
