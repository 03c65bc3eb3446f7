"""Request field types that take a value as it was sent, never a coerced look-alike.

Pydantic's lax mode turns `0` into `False`, `"1"` into `1` and `0` into 1970-01-01.
FastAPI validates the decoded JSON body and the query string (as `str`) in Python mode, so
`ConfigDict(strict=True)` is no answer either: it would refuse the string a UUID, a date or
an enum arrives as. Request schemas use these instead where lax mode would guess:

- JSON bodies: `StrictBool` (pydantic's), `JsonInt` (a JSON integer: `2` or `2.0`, never
  `"2"` or `true`), `IsoDate` (`"YYYY-MM-DD"` only);
- query strings: `QueryBool` (`true` / `false`), `QueryInt` (digits, optionally signed),
  `IsoDate`, and `IsoDateTime` (RFC 3339, with its offset);
- `EmailAddress`: a mailbox (RFC 5321, at most 254 characters) with a domain that could
  receive mail, normalised as pydantic's `EmailStr` does; unlike it, the RFC 6761 testing
  domain `.test` is taken, as the schema's `format: email` allows it.

Each keeps the plain type's OpenAPI schema (`boolean`, `integer`, `string` + `format`). A
constrained one is spelled with the marker after the constraint, so that the constraint
stays in the schema: `Annotated[int, Query(ge=0), QUERY_INT]` (or `Field(...)`, `JSON_INT`).

Text that is stored carries `NO_NUL` as its pattern: PostgreSQL cannot store the NUL
character (U+0000), so it is refused up front (a 422), never a database error (a 500).
Text people type (names) is also trimmed, and must not be blank: `HAS_TEXT` (a pattern:
no NUL, and a character that is not whitespace) and `TRIM` (after the length and pattern
checks) make the schema say exactly what is taken,
`Annotated[str, StringConstraints(max_length=200, pattern=HAS_TEXT), TRIM]`: at most 200
characters as sent. Whitespace here is JSON Schema's (ECMAScript's `\\s`), spelled out so
that the schema's regex engine and pydantic's agree.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

import email_validator
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
)

__all__ = [
    "DATE_TIME",
    "FULL_DATE",
    "HAS_TEXT",
    "JSON_INT",
    "MAX_JSON_INT",
    "NO_NUL",
    "QUERY_BOOL",
    "QUERY_INT",
    "TRIM",
    "EmailAddress",
    "IsoDate",
    "IsoDateTime",
    "JsonInt",
    "QueryBool",
    "QueryInt",
    "RequestModel",
    "StrictBool",
]

# The largest integer JSON numbers carry exactly everywhere (a double's 53-bit mantissa): a
# bound above it is not one a client or a JSON Schema validator can check.
MAX_JSON_INT = 2**53 - 1

# ECMAScript's WhiteSpace and LineTerminator: what `\s` means in a JSON Schema pattern.
_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
NO_NUL = r"^[^\x00]*$"
HAS_TEXT = (
    r"^[^\x00]*"
    r"[^\x00\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
    r"[^\x00]*$"
)

_FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)
_INTEGER = re.compile(r"[+-]?\d{1,20}")


# Each lets None through: whether a field may be null is its type's business.


def _full_date(value: object) -> object:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, str) and _FULL_DATE.fullmatch(value):
        return value
    raise ValueError("expected a date as YYYY-MM-DD")


def _date_time(value: object) -> object:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE_TIME.fullmatch(value):
        return value
    raise ValueError("expected an RFC 3339 date-time with its offset, e.g. 2026-01-31T08:00:00Z")


def _json_int(value: object) -> object:
    # A JSON number with no fraction is an integer (2.0 too); a string or a boolean is not.
    if isinstance(value, bool | str | bytes):
        raise ValueError("expected an integer")
    return value


def _query_bool(value: object) -> object:
    if value is None or isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("expected true or false")


def _query_int(value: object) -> object:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    raise ValueError("expected an integer")


def _trim(value: str) -> str:
    return value.strip(_WHITESPACE)


def _email(value: str) -> str:
    try:
        checked = email_validator.validate_email(
            value, check_deliverability=False, test_environment=True
        )
    except email_validator.EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None
    return checked.normalized


FULL_DATE = BeforeValidator(_full_date)
DATE_TIME = BeforeValidator(_date_time)
JSON_INT = BeforeValidator(_json_int)
QUERY_BOOL = BeforeValidator(_query_bool)
QUERY_INT = BeforeValidator(_query_int)
TRIM = AfterValidator(_trim)

EmailAddress = Annotated[
    str,
    StringConstraints(max_length=254),
    AfterValidator(_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254}),
]
IsoDate = Annotated[date, FULL_DATE]
IsoDateTime = Annotated[AwareDatetime, DATE_TIME]
JsonInt = Annotated[int, JSON_INT]
QueryBool = Annotated[bool, QUERY_BOOL]
QueryInt = Annotated[int, QUERY_INT]


class RequestModel(BaseModel):
    """A JSON request body: a field it does not know is a 422, never silently dropped."""

    model_config = ConfigDict(extra="forbid")
