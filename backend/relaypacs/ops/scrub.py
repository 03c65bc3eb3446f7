"""What may leave the gateway in an error report: Sentry's `before_send`,
`before_send_transaction` and `before_breadcrumb` hooks.

The rule is the logs' rule (core/logging.py): no request bodies, query strings,
credentials or cookies, and no exception messages or local variables, because any of
them may quote a patient's name or ID. What is kept says where and what kind of fault it
was: exception types and stack frames, the route, the method, the status, the request id,
and the structlog event's name with its (PHI-free by design) fields. Then every string
kept is cleaned of what looks like a secret or a patient name (bearer tokens, JWTs,
e-mail addresses, DICOM person names, query strings), and every value under a key that
names a secret or a patient field is filtered, at any depth.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from relaypacs.core.context import current_request_id
from relaypacs.core.logging import WITHHELD

FILTERED = "[Filtered]"
# Request headers worth keeping: none of them carries a credential, a cookie or a URL.
SAFE_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "content-length",
        "content-type",
        "host",
        "user-agent",
        "x-request-id",
        "x-forwarded-proto",
    }
)
# A key naming one of these (any case, "-" or "_", anywhere in the key) has its value filtered.
_SENSITIVE_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|auth|cookie|session|csrf|api[-_]?key|private|"
    r"credential|otp|totp|mfa|backup[-_]?code|dsn|signature|"
    r"patient|name|birth|dob|mrn|accession|email|phone|address|notes?$|comment|"
    r"query|body|data$|params$|vars$",
    re.IGNORECASE,
)
# Keys whose values are structural and safe even though they match a pattern above.
_SAFE_KEYS = frozenset(
    {
        "logger_name",
        "server_name",
        "thread_name",
        "name",  # runtime/os/browser context names, span/breadcrumb names: cleaned as text
        "type",
        "op",
        "status",
        "status_code",
        "method",
        "route",
        "transaction",
        "event",
        "level",
        "category",
    }
)
_NAME_LIKE_KEY = re.compile(r"(patient|person|full|first|last|user)[-_]?name", re.IGNORECASE)
_BEARER = re.compile(r"\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# DICOM person names (family^given^middle…) and their URL-encoded form.
_PERSON_NAME = re.compile(r"[^\s\"'/=&?^]*(\^|%5[eE])[^\s\"'/&?]*")
# A URL's query string ("?a=1&b=2"), not a SQL placeholder ("= ?, ").
_QUERY = re.compile(r"\?(?=[^\s\"'#]*=)[^\s\"'#]*")
# A URL's fragment ("/verify#token"), not a CSS id ("input#patient-name").
_FRAGMENT = re.compile(r"((?:[a-z][a-z0-9+.-]*://|/)[^\s#\"']*)#[^\s\"']*", re.IGNORECASE)
_URL_USERINFO = re.compile(r"(https?://)[^/\s@]+@")
# Long opaque runs (upload tokens, refresh tokens, reset links' secrets).
_OPAQUE = re.compile(r"\b[A-Za-z0-9_-]{32,}\b")
_HEX_ID = re.compile(r"^[0-9a-f]{16}$|^[0-9a-f]{32}$|^[0-9a-f-]{36}$")
_MAX_TEXT = 512
_STRUCTLOG_RESERVED = frozenset({"event", "exc_info", "stack_info", "timestamp", "level", "logger"})


def _opaque(match: re.Match[str]) -> str:
    run = match.group(0)
    secret_like = any(c.isdigit() for c in run) and any(c.isalpha() for c in run)
    return FILTERED if secret_like and not _HEX_ID.match(run) else run


def clean_text(text: str) -> str:
    """A string with credentials, person names, e-mail addresses and query strings removed."""
    text = _URL_USERINFO.sub(r"\1", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {FILTERED}", text)
    text = _JWT.sub(FILTERED, text)
    text = _EMAIL.sub(FILTERED, text)
    text = _QUERY.sub("?" + FILTERED, text)
    text = _FRAGMENT.sub(r"\1", text)
    text = _PERSON_NAME.sub(FILTERED, text)
    text = _OPAQUE.sub(_opaque, text)
    return text[:_MAX_TEXT]


def clean_url(url: str) -> str:
    """A URL without user info, query string or fragment (its path is cleaned as text)."""
    base = url.split("#", 1)[0].split("?", 1)[0]
    return clean_text(base)


def _sensitive(key: str) -> bool:
    if _NAME_LIKE_KEY.search(key):
        return True
    return key.lower() not in _SAFE_KEYS and bool(_SENSITIVE_KEY.search(key))


def clean_value(value: Any, depth: int = 0) -> Any:
    """Any JSON-like value, recursively: sensitive keys filtered, strings cleaned."""
    if depth > 12:
        return FILTERED
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Mapping):
        return {
            str(k): (FILTERED if _sensitive(str(k)) else clean_value(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [clean_value(v, depth + 1) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return clean_text(type(value).__name__)


def _structlog_fields(event_dict: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = clean_value(
        {
            k: v
            for k, v in event_dict.items()
            if k not in _STRUCTLOG_RESERVED and isinstance(v, (str, int, float, bool, type(None)))
        }
    )
    return fields


def _log_message(record: logging.LogRecord) -> tuple[str, dict[str, Any]]:
    """The message of a log record that may be sent, and its safe fields."""
    if isinstance(record.msg, Mapping):  # structlog: the event name and its fields
        return clean_text(str(record.msg.get("event", ""))), _structlog_fields(record.msg)
    if record.args and isinstance(record.msg, str):  # a %-template: its arguments stay out
        return clean_text(record.msg), {}
    return f"{record.name}: {WITHHELD}", {}


def _clean_frames(container: Mapping[str, Any] | None) -> None:
    frames = (container or {}).get("stacktrace", {}) or {}
    for frame in frames.get("frames", []) or []:
        frame.pop("vars", None)


def _clean_request(request: dict[str, Any]) -> dict[str, Any]:
    headers = request.get("headers") or {}
    kept: dict[str, Any] = {"method": request.get("method")}
    if request.get("url"):
        kept["url"] = clean_url(str(request["url"]))
    kept["headers"] = {
        k: clean_text(str(v)) for k, v in dict(headers).items() if k.lower() in SAFE_HEADERS
    }
    return kept


def _clean_exceptions(event: dict[str, Any]) -> None:
    for value in (event.get("exception") or {}).get("values", []) or []:
        if value.get("value"):
            value["value"] = WITHHELD
        mechanism = value.get("mechanism")
        if isinstance(mechanism, dict):
            mechanism.pop("data", None)
            mechanism.pop("description", None)
        _clean_frames(value)
    for thread in (event.get("threads") or {}).get("values", []) or []:
        _clean_frames(thread)


def _clean_span(span: dict[str, Any]) -> None:
    op = str(span.get("op") or "")
    description = str(span.get("description") or "")
    if op.startswith("db.redis") or op.startswith("cache"):
        description = description.split(" ", 1)[0]  # the command, never its keys or values
    elif op.startswith("http"):
        method, _, url = description.partition(" ")
        description = f"{method} {clean_url(url)}" if url else clean_url(method)
    if description:
        span["description"] = clean_text(description)
    data = span.get("data")
    if isinstance(data, dict):
        span["data"] = {
            k: (clean_url(v) if isinstance(v, str) and k in ("url", "http.url") else clean_value(v))
            for k, v in data.items()
            if k not in ("http.query", "http.fragment", "db.params", "cache.key")
            and not k.startswith("redis.")
        }


def scrub_breadcrumb(
    crumb: dict[str, Any], hint: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """`before_breadcrumb`: log lines as their event names, HTTP calls without queries."""
    record = (hint or {}).get("log_record")
    data = crumb.get("data") if isinstance(crumb.get("data"), dict) else {}
    if isinstance(record, logging.LogRecord):
        crumb["message"], data = _log_message(record)
    elif crumb.get("category") == "redis" or str(crumb.get("type")) == "redis":
        crumb["message"] = str(crumb.get("message") or "").split(" ", 1)[0]
        data = {}
    elif crumb.get("message"):
        crumb["message"] = clean_text(str(crumb["message"]))
    cleaned: dict[str, Any] = {}
    for key, value in (data or {}).items():
        if key in ("url", "http.url", "from", "to") and isinstance(value, str):
            cleaned[key] = clean_url(value)
        elif key in ("http.query", "http.fragment", "redis.key", "redis.command"):
            continue
        else:
            cleaned[key] = clean_value(value) if not _sensitive(key) else FILTERED
    crumb["data"] = cleaned
    return crumb


def scrub_event(event: dict[str, Any], hint: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`before_send`: keep where and what kind of fault, drop what a user sent or typed."""
    record = (hint or {}).get("log_record")
    if isinstance(record, logging.LogRecord):
        message, fields = _log_message(record)
        event["logentry"] = {"message": message}
        event["extra"] = fields
    else:
        logentry = event.get("logentry")
        if isinstance(logentry, dict):
            event["logentry"] = {"message": clean_text(str(logentry.get("message", "")))}
        extra = dict(event.get("extra") or {})
        extra.pop("sys.argv", None)  # a command line may carry a password
        event["extra"] = clean_value(extra)
    if isinstance(event.get("message"), str):
        event["message"] = clean_text(event["message"])
    _clean_exceptions(event)
    if isinstance(event.get("request"), dict):
        event["request"] = _clean_request(event["request"])
    user = event.get("user")
    event["user"] = {"id": user["id"]} if isinstance(user, dict) and user.get("id") else {}
    if event.get("transaction"):
        event["transaction"] = clean_url(str(event["transaction"]))
    event["tags"] = clean_value(event.get("tags") or {})
    request_id = current_request_id()
    if request_id:
        event["tags"]["request_id"] = request_id
    event["contexts"] = clean_value(event.get("contexts") or {})
    crumbs = event.get("breadcrumbs")
    values = crumbs.get("values") if isinstance(crumbs, dict) else crumbs
    if isinstance(values, list):
        event["breadcrumbs"] = {"values": [scrub_breadcrumb(dict(c)) for c in values]}
    for span in event.get("spans") or []:
        if isinstance(span, dict):
            _clean_span(span)
    return event


def scrub_transaction(
    event: dict[str, Any], hint: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """`before_send_transaction`: the same rules, span by span."""
    return scrub_event(event, hint)
