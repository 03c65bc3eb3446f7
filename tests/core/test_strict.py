"""Requests are taken as sent: a value of the wrong JSON type, or a query string that only
looks like one, is a 422 — never coerced (`0` as `false`, `0` as 1970-01-01, `"1"` as 1) —
and a field the schema does not name is refused. Names are trimmed, and blank is refused."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import StringConstraints, TypeAdapter, ValidationError

from relaypacs.core.permissions import Role
from relaypacs.core.strict import HAS_TEXT, TRIM
from tests.factories import auth_headers

INIT = {
    "patient_name": "Doe^Jane",
    "study_date": "2026-01-15",
    "modality": "CT",
    "service_level": "ROUTINE",
    "files": [{"name": "a.dcm", "size": 1000}],
    "force_upload": True,
}


def assert_invalid(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    "changes",
    [
        {"duplicate_check": 0},
        {"duplicate_check": "false"},
        {"chunk_size": "262144"},
        {"chunk_size": True},
        {"chunk_size": 262144.5},
        {"notifications": {"report_ready": {"in_app": 0, "push": True, "email": False}}},
        {"notifications": {"report_ready": {"in_app": True, "sms": True}}},
        {"theme": "dark"},
    ],
)
async def test_a_body_value_of_another_json_type_or_an_unknown_field_is_422(
    app: FastAPI, client: httpx.AsyncClient, changes: dict[str, Any]
) -> None:
    headers = await auth_headers(app, client)
    before = (await client.get("/api/me/preferences", headers=headers)).json()

    assert_invalid(await client.patch("/api/me/preferences", headers=headers, json=changes))
    assert (await client.get("/api/me/preferences", headers=headers)).json() == before


async def test_an_integer_written_with_a_zero_fraction_is_an_integer(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # JSON Schema counts 262144.0 as an integer; so does the API.
    headers = await auth_headers(app, client)
    r = await client.patch("/api/me/preferences", headers=headers, json={"chunk_size": 262144.0})
    assert r.status_code == 200, r.text
    assert r.json()["chunk_size"] == 262144


@pytest.mark.parametrize(
    "field",
    [
        {"study_date": 0},
        {"study_date": "2026-01-15T00:00:00"},
        {"study_date": "20260115"},
        {"modality": "ct"},
        {"modality": " CT"},
        {"patient_name": "   "},
        {"force_upload": "true"},
        {"files": [{"name": "a.dcm", "size": "1000"}]},
        {"files": [{"name": "a.dcm", "size": 1000, "path": "/etc"}]},
    ],
)
async def test_upload_metadata_is_taken_as_sent(
    app: FastAPI, client: httpx.AsyncClient, field: dict[str, Any]
) -> None:
    headers = await auth_headers(app, client)
    assert_invalid(await client.post("/api/upload/init", headers=headers, json=INIT | field))
    assert (await client.get("/api/uploads", headers=headers)).json()["total"] == 0


async def test_a_name_is_stored_trimmed(app: FastAPI, client: httpx.AsyncClient) -> None:
    headers = await auth_headers(app, client)
    r = await client.post(
        "/api/upload/init", headers=headers, json=INIT | {"patient_name": "\u3000 Doe^Jane \t"}
    )
    assert r.status_code == 201, r.text
    [upload] = (await client.get("/api/uploads", headers=headers)).json()["items"]
    assert upload["patient_name"] == "Doe^Jane"


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("/api/reports?date_to=0", Role.clinician),
        ("/api/reports?date_from=2026-01-15T00:00:00", Role.clinician),
        ("/api/notifications?unread_only=1", Role.clinician),
        ("/api/notifications?unread_only=yes", Role.clinician),
        ("/api/notifications?page=1.0", Role.clinician),
        ("/api/users?active=0", Role.admin),
        ("/api/audit?since=0", Role.admin),
        ("/api/audit?until=2026-01-15T08:00:00", Role.admin),  # no offset
    ],
)
async def test_a_query_value_that_only_looks_right_is_422(
    app: FastAPI, client: httpx.AsyncClient, path: str, role: Role
) -> None:
    headers = await auth_headers(app, client, role=role)
    assert_invalid(await client.get(path, headers=headers))


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("/api/reports?date_from=2026-01-01&date_to=2026-01-31", Role.clinician),
        ("/api/notifications?unread_only=true&page=1", Role.clinician),
        ("/api/users?active=false&pending=true", Role.admin),
        ("/api/audit?since=2026-01-15T08:00:00Z&until=2026-01-16T08:00:00.5%2B01:00", Role.admin),
    ],
)
async def test_well_formed_query_values_are_taken(
    app: FastAPI, client: httpx.AsyncClient, path: str, role: Role
) -> None:
    headers = await auth_headers(app, client, role=role)
    r = await client.get(path, headers=headers)
    assert r.status_code == 200, r.text


async def test_an_address_at_the_testing_domain_is_an_email_address(
    client: httpx.AsyncClient,
) -> None:
    # `format: email` allows it, so the API takes it (mail to it just never arrives).
    r = await client.post(
        "/api/auth/register",
        json={
            "email": "ana@clinic.test",
            "username": "ana",
            "full_name": "Ana Example",
            "password": "violet-harbour-quantum-77",
        },
    )
    assert r.status_code == 202, r.text
    assert_invalid(
        await client.post("/api/auth/verify-email/resend", json={"email": "ana@localhost"})
    )


NUL = "\u0000"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/facilities", {"name": f"North{NUL}"}),
        ("POST", "/api/upload/init", INIT | {"patient_name": f"Doe{NUL}^Jane"}),
        ("POST", "/api/upload/init", INIT | {"notes": f"see {NUL}"}),
        ("POST", "/api/upload/init", INIT | {"files": [{"name": f"a{NUL}.dcm", "size": 1}]}),
        ("PATCH", "/api/me/profile", {"full_name": f"Ann{NUL}"}),
        ("POST", "/api/auth/login", {"login": f"ann{NUL}", "password": "x"}),
        (
            "POST",
            "/api/auth/register",
            {
                "email": "ann@example.org",
                "username": "ann",
                "full_name": f"Ann{NUL}",
                "password": "violet-harbour-quantum-77",
            },
        ),
        ("GET", "/api/audit?action=login%00", None),
    ],
)
async def test_a_nul_character_is_refused_before_the_database_sees_it(
    app: FastAPI, client: httpx.AsyncClient, method: str, path: str, body: Any
) -> None:
    # PostgreSQL cannot store U+0000: it was a 500 there (SQLite stored it).
    headers = await auth_headers(app, client, role=Role.admin)
    assert_invalid(await client.request(method, path, headers=headers, json=body))
    assert (await client.get("/api/uploads", headers=headers)).json()["total"] == 0
    facilities = (await client.get("/api/facilities/all", headers=headers)).json()["items"]
    assert all(NUL not in f["name"] for f in facilities)


Name = Annotated[str, StringConstraints(max_length=10, pattern=HAS_TEXT), TRIM]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("Ann", "Ann"), (" Ann ", "Ann"), ("\u00a0Ann\ufeff", "Ann"), ("A n", "A n")],
)
def test_a_name_keeps_its_inside_and_loses_its_edges(sent: str, kept: str) -> None:
    assert TypeAdapter(Name).validate_python(sent) == kept


@pytest.mark.parametrize(
    "sent", ["", " ", "\t\n", "\u3000\u2028", "\ufeff", "x" * 11, "A\u0000n", "\u0000"]
)
def test_a_blank_or_overlong_name_is_refused(sent: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(Name).validate_python(sent)
