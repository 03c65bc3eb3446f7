"""Role × endpoint × owner: every /api route, every role, exactly the allowed outcome.

A new route makes `test_every_api_route_is_in_the_matrix` fail until it is added here.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import select

from relaypacs.core.permissions import Role
from relaypacs.notifications.models import Notification
from tests import phi_scan
from tests.factories import DEFAULT_PASSWORD, UserFixture, bearer, create_user, login
from tests.reports.factories import ReportFixture, make_report

ROLES = ("anonymous", *(r.value for r in Role))
NEW_PASSWORD = "quokka-lantern-basalt-88"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Every case signs in afresh, from one IP.
    return {"rate_limit": {"login_per_ip": "1000/minute", "login_per_account": "1000/minute"}}


@dataclass
class Ctx:
    me: UserFixture | None
    tokens: dict[str, Any] | None
    other: UserFixture
    other_session_id: str
    other_upload_id: str
    # `other` is a clinician of the same facility as `me`; their STAT report
    other_report: ReportFixture
    # my own report (a radiologist uploads nothing: theirs is `other_report`)
    my_report: ReportFixture
    other_notification_id: int
    my_notification_id: int

    @property
    def my_session_id(self) -> str:
        if not self.tokens:
            return self.other_session_id
        return str(
            jwt.decode(self.tokens["access_token"], options={"verify_signature": False})["sid"]
        )


@dataclass
class Case:
    method: str
    route: str
    expected: dict[str, int]
    path: Callable[[Ctx], str] | None = None
    body: Callable[[Ctx], Any] | None = field(default=None)
    headers: Callable[[Ctx], dict[str, str]] | None = None


def signed_in(status: int) -> dict[str, int]:
    """Any signed-in role gets `status`; anonymous gets 401."""
    return {"anonymous": 401} | {r.value: status for r in Role}


def admin_only(status: int) -> dict[str, int]:
    return {"anonymous": 401, "admin": status} | {r.value: 403 for r in Role if r is not Role.admin}


def public(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def uploaders(status: int, others: int = 403) -> dict[str, int]:
    return {
        "anonymous": 401,
        "clinician": status,
        "radiographer": status,
        "admin": status,
        "radiologist": others,
    }


def report_readers(
    status: int, clinician: int = 404, radiographer: int | None = None
) -> dict[str, int]:
    """Another clinician's report in my facility: clinicians cannot see it (404),
    radiographers see their facility's, radiologists and admins everything."""
    return {
        "anonymous": 401,
        "clinician": clinician,
        "radiographer": status if radiographer is None else radiographer,
        "radiologist": status,
        "admin": status,
    }


def reporters(status: int, hidden: int = 403) -> dict[str, int]:
    """Radiologists and admins only; clinicians/radiographers get `hidden`."""
    return {
        "anonymous": 401,
        "clinician": hidden,
        "radiographer": hidden,
        "radiologist": status,
        "admin": status,
    }


TUS = {"Tus-Resumable": "1.0.0"}


def tus_creation(c: Ctx) -> dict[str, str]:
    """A tus creation naming `other`'s upload (a tus request carries everything in headers)."""
    upload_id = base64.b64encode(c.other_upload_id.encode()).decode()
    return TUS | {
        "Upload-Length": "10",
        "Upload-Metadata": f"upload_id {upload_id},file_index MA==",
    }


def upload_body(c: Ctx) -> dict[str, Any]:
    return {
        "patient_name": phi_scan.registered_name(f"Matrix^{id(c)}"),
        "study_date": "2026-02-01",
        "modality": "CR",
        "service_level": "STAT",
        "files": [{"name": "a.dcm", "size": 1000}],
        "force_upload": True,
    }


CASES = [
    # public
    Case(
        "POST",
        "/api/auth/register",
        public(202),
        body=lambda c: {
            "email": f"new-{id(c)}@example.org",
            "username": f"new{id(c)}",
            "full_name": "New Person",
            "password": NEW_PASSWORD,
            "role": "clinician",
        },
    ),
    Case("POST", "/api/auth/verify-email", public(404), body=lambda c: {"token": "z" * 43}),
    Case(
        "GET",
        "/api/auth/verify-email",
        public(404),
        path=lambda c: "/api/auth/verify-email?token=" + "z" * 43,
    ),
    Case(
        "POST",
        "/api/auth/verify-email/resend",
        public(202),
        body=lambda c: {"email": "x@example.org"},
    ),
    Case(
        "POST",
        "/api/auth/login",
        public(200),
        body=lambda c: {"login": c.other.username, "password": DEFAULT_PASSWORD},
    ),
    Case(
        "POST",
        "/api/auth/login/2fa",
        public(401),
        body=lambda c: {"mfa_token": "not-a-valid-token", "code": "123456"},
    ),
    Case(
        "POST",
        "/api/auth/refresh",
        public(401),
        body=lambda c: {"refresh_token": "not-a-valid-token"},
    ),
    # any signed-in user, on their own things
    Case("GET", "/api/auth/me", signed_in(200)),
    Case("GET", "/api/auth/sessions", signed_in(200)),
    Case(
        "DELETE",
        "/api/auth/sessions/{session_id}",
        signed_in(404),
        path=lambda c: f"/api/auth/sessions/{c.other_session_id}",
    ),
    Case("GET", "/api/auth/2fa", signed_in(200)),
    Case("POST", "/api/auth/2fa/setup", signed_in(200)),
    Case("POST", "/api/auth/2fa/enable", signed_in(403), body=lambda c: {"code": "123456"}),
    Case("POST", "/api/auth/2fa/disable", signed_in(409), body=lambda c: {"code": "123456"}),
    Case("POST", "/api/auth/2fa/backup-codes", signed_in(409)),
    Case("POST", "/api/auth/reauth", signed_in(200), body=lambda c: {"password": DEFAULT_PASSWORD}),
    Case("GET", "/api/me/profile", signed_in(200)),
    Case("PATCH", "/api/me/profile", signed_in(200), body=lambda c: {"full_name": "Renamed"}),
    Case("GET", "/api/me/preferences", signed_in(200)),
    Case("PATCH", "/api/me/preferences", signed_in(200), body=lambda c: {"duplicate_check": False}),
    Case("GET", "/api/me/export", signed_in(200)),
    # uploads: another user's upload is 404 (even for admins on the transfer routes)
    Case("POST", "/api/upload/init", uploaders(201), body=upload_body),
    Case("GET", "/api/uploads", uploaders(200)),
    Case(
        "GET",
        "/api/upload/{upload_id}",
        {"anonymous": 401, "admin": 200}
        | {r: 404 for r in ("clinician", "radiographer", "radiologist")},
        path=lambda c: f"/api/upload/{c.other_upload_id}",
    ),
    Case(
        "GET",
        "/api/upload/{upload_id}/status",
        signed_in(404),
        path=lambda c: f"/api/upload/{c.other_upload_id}/status",
    ),
    Case(
        "PUT",
        "/api/upload/{upload_id}/chunk",
        signed_in(404),
        path=lambda c: f"/api/upload/{c.other_upload_id}/chunk?file=0&index=0",
    ),
    Case(
        "POST",
        "/api/upload/{upload_id}/complete",
        signed_in(404),
        path=lambda c: f"/api/upload/{c.other_upload_id}/complete",
    ),
    Case(
        "DELETE",
        "/api/upload/{upload_id}",
        signed_in(404),
        path=lambda c: f"/api/upload/{c.other_upload_id}",
    ),
    Case(
        "POST",
        "/api/upload/{upload_id}/study-conflict/override",
        admin_only(200),
        path=lambda c: f"/api/upload/{c.other_upload_id}/study-conflict/override",
        body=lambda c: {"reason": "Reviewed: the PACS record was corrected."},
    ),
    # tus (docs/tus.md): the same rule as the chunk routes; OPTIONS is open to all
    Case("OPTIONS", "/api/tus/", public(204)),
    Case("POST", "/api/tus/", signed_in(404), headers=tus_creation),
    *(
        Case(
            method,
            "/api/tus/{upload_id}/{file_index}",
            signed_in(404),
            path=lambda c: f"/api/tus/{c.other_upload_id}/0",
            headers=lambda c: TUS | {"Upload-Offset": "0"},
        )
        for method in ("HEAD", "PATCH", "DELETE")
    ),
    *(
        Case(
            method,
            "/api/tus/{upload_id}/{file_index}/partials/{partial_id}",
            signed_in(404),
            path=lambda c: f"/api/tus/{c.other_upload_id}/0/partials/0123456789abcdef",
            headers=lambda c: TUS | {"Upload-Offset": "0"},
        )
        for method in ("HEAD", "PATCH", "DELETE")
    ),
    # PACS administration
    Case("GET", "/api/pacs/destinations", admin_only(200)),
    Case("GET", "/api/pacs/dead-letters", admin_only(200)),
    Case(
        "POST",
        "/api/pacs/jobs/{job_id}/retry",
        admin_only(404),
        path=lambda c: "/api/pacs/jobs/00000000-0000-4000-8000-000000000000/retry",
    ),
    # admin
    Case("GET", "/api/users", admin_only(200)),
    Case(
        "POST",
        "/api/users",
        admin_only(201),
        body=lambda c: {
            "email": f"made-{id(c)}@example.org",
            "username": f"made{id(c)}",
            "full_name": "Made By Admin",
            "password": NEW_PASSWORD,
            "role": "radiologist",
        },
    ),
    Case(
        "POST",
        "/api/users/invitations",
        admin_only(201),
        body=lambda c: {
            "email": f"invited-{id(c)}@example.org",
            "username": f"invited{id(c)}",
            "full_name": "Invited By Admin",
            "role": "clinician",
        },
    ),
    # the invitee's link: public (the token is the credential); an unknown one is 404
    Case(
        "POST",
        "/api/invitations/accept",
        public(404),
        body=lambda c: {"token": "u" * 43, "password": NEW_PASSWORD},
    ),
    Case("GET", "/api/users/{user_id}", admin_only(200), path=lambda c: f"/api/users/{c.other.id}"),
    Case(
        "GET",
        "/api/users/{user_id}/sessions",
        admin_only(200),
        path=lambda c: f"/api/users/{c.other.id}/sessions",
    ),
    Case(
        "PATCH",
        "/api/users/{user_id}",
        admin_only(200),
        path=lambda c: f"/api/users/{c.other.id}",
        body=lambda c: {"facility_id": None},
    ),
    Case(
        "POST",
        "/api/users/{user_id}/invitation",
        admin_only(409),  # `other` was created with a password: no invitation to renew
        path=lambda c: f"/api/users/{c.other.id}/invitation",
    ),
    Case(
        "POST",
        "/api/users/{user_id}/membership/{decision}",
        admin_only(409),  # `other` asked for nothing
        path=lambda c: f"/api/users/{c.other.id}/membership/approve",
    ),
    # stats: everyone their own scope; the CSV export is for admins
    Case("GET", "/api/upload/stats", signed_in(200)),
    Case("GET", "/api/upload/stats/export", admin_only(200)),
    # facilities: anyone sees the open ones' names; admins manage them
    Case("GET", "/api/facilities", public(200)),
    # the web app's start-up configuration, read before signing in
    Case("GET", "/api/client-config", public(200)),
    Case("GET", "/api/facilities/all", admin_only(200)),
    Case(
        "POST",
        "/api/facilities",
        admin_only(201),
        body=lambda c: {"name": f"Matrix Clinic {id(c)}"},
    ),
    Case(
        "PATCH",
        "/api/facilities/{facility_id}",
        admin_only(404),
        path=lambda c: "/api/facilities/00000000-0000-4000-8000-000000000000",
        body=lambda c: {"name": "Renamed"},
    ),
    Case("GET", "/api/audit", admin_only(200)),
    # reports: my own first (owner: reading is fine, working on it is for radiologists)
    Case("GET", "/api/reports", signed_in(200)),
    Case(
        "GET",
        "/api/reports/{report_id}",
        signed_in(200),
        path=lambda c: f"/api/reports/{c.my_report.id}",
    ),
    Case(
        "GET",
        "/api/reports/upload/{upload_id}",
        signed_in(200),
        path=lambda c: f"/api/reports/upload/{c.my_report.upload_id}",
    ),
    Case(
        "GET",
        "/api/reports/{report_id}/download",
        signed_in(409),  # not READY
        path=lambda c: f"/api/reports/{c.my_report.id}/download",
    ),
    Case(
        "PATCH",
        "/api/reports/{report_id}",
        reporters(200),
        path=lambda c: f"/api/reports/{c.my_report.id}",
        body=lambda c: {"findings": "No acute findings."},
    ),
    Case(
        "POST",
        "/api/reports/{report_id}/status",
        reporters(200),
        path=lambda c: f"/api/reports/{c.my_report.id}/status",
        body=lambda c: {"status": "PENDING"},
    ),
    Case(
        "POST",
        "/api/reports/{report_id}/assign",
        reporters(200),
        path=lambda c: f"/api/reports/{c.my_report.id}/assign",
        body=lambda c: {},
    ),
    Case(
        "POST",
        "/api/reports/{report_id}/notes",
        signed_in(201),
        path=lambda c: f"/api/reports/{c.my_report.id}/notes",
        body=lambda c: {"body": "Prior imaging attached."},
    ),
    # reports: another clinician's, same facility
    Case(
        "GET",
        "/api/reports/{report_id}",
        report_readers(200),
        path=lambda c: f"/api/reports/{c.other_report.id}",
    ),
    Case(
        "GET",
        "/api/reports/upload/{upload_id}",
        report_readers(200),
        path=lambda c: f"/api/reports/upload/{c.other_report.upload_id}",
    ),
    Case(
        "GET",
        "/api/reports/{report_id}/download",
        report_readers(409),
        path=lambda c: f"/api/reports/{c.other_report.id}/download",
    ),
    Case(
        "PATCH",
        "/api/reports/{report_id}",
        report_readers(200, radiographer=403),
        path=lambda c: f"/api/reports/{c.other_report.id}",
        body=lambda c: {"impression": "Normal study."},
    ),
    Case(
        "POST",
        "/api/reports/{report_id}/status",
        report_readers(200, radiographer=403),
        path=lambda c: f"/api/reports/{c.other_report.id}/status",
        body=lambda c: {"status": "ADDITIONAL_DATA_REQUIRED", "message": "Lateral view?"},
    ),
    Case(
        "POST",
        "/api/reports/{report_id}/assign",
        report_readers(200, radiographer=403),
        path=lambda c: f"/api/reports/{c.other_report.id}/assign",
        body=lambda c: {},
    ),
    Case(
        "POST",
        "/api/reports/{report_id}/notes",
        # seeing a facility's report is not enough to answer for its uploader
        report_readers(201, radiographer=403),
        path=lambda c: f"/api/reports/{c.other_report.id}/notes",
        body=lambda c: {"body": "A note."},
    ),
    # notifications: mine only; another user's is 404
    Case("GET", "/api/notifications", signed_in(200)),
    Case(
        "POST",
        "/api/notifications/{notification_id}/read",
        signed_in(200),
        path=lambda c: f"/api/notifications/{c.my_notification_id}/read",
    ),
    Case(
        "POST",
        "/api/notifications/{notification_id}/unread",
        signed_in(200),
        path=lambda c: f"/api/notifications/{c.my_notification_id}/unread",
    ),
    Case(
        "POST",
        "/api/notifications/{notification_id}/read",
        signed_in(404),
        path=lambda c: f"/api/notifications/{c.other_notification_id}/read",
    ),
    Case(
        "POST",
        "/api/notifications/{notification_id}/unread",
        signed_in(404),
        path=lambda c: f"/api/notifications/{c.other_notification_id}/unread",
    ),
    Case("POST", "/api/notifications/read-all", signed_in(200)),
    Case("POST", "/api/notifications/stream-ticket", signed_in(201)),
    # EventSource sends no Authorization header: only a ticket opens the stream
    Case(
        "GET",
        "/api/notifications/stream",
        public(401),
        path=lambda c: "/api/notifications/stream?ticket=" + "z" * 32,
    ),
    Case("GET", "/api/notifications/push-config", signed_in(200)),
    Case("GET", "/api/notifications/push-subscriptions", signed_in(200)),
    Case(
        "POST",
        "/api/notifications/push-subscriptions",
        signed_in(404),  # no VAPID keys in the test settings: push_not_configured
        body=lambda c: {
            "endpoint": "https://push.example.org/send/abc",
            "keys": {"p256dh": "B" * 87, "auth": "A" * 22},
        },
    ),
    Case(
        "DELETE",
        "/api/notifications/push-subscriptions",
        signed_in(404),
        body=lambda c: {"endpoint": "https://push.example.org/send/not-mine"},
    ),
    # these end the session, so they run last
    Case(
        "DELETE",
        "/api/auth/sessions/{session_id}",
        signed_in(204),
        path=lambda c: f"/api/auth/sessions/{c.my_session_id}",
    ),
    Case("POST", "/api/auth/sessions/revoke-all", signed_in(200)),
    Case("POST", "/api/auth/logout", signed_in(204)),
    Case(
        "POST",
        "/api/auth/password",
        signed_in(200),
        body=lambda c: {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
    ),
]


def test_every_api_route_is_in_the_matrix(client: httpx.AsyncClient, app: FastAPI) -> None:
    # Every route the app serves, those kept out of the OpenAPI document (tus) included:
    # routers are included lazily, so they are walked as core/limits.py walks them.
    routes = {
        (m, r.path)
        for r in iter_route_contexts(list(app.routes))
        if r.path is not None and r.path.startswith("/api")
        for m in r.methods or ()
    }
    spec = app.openapi()["paths"]
    documented = {(m.upper(), p) for p, ops in spec.items() if p.startswith("/api") for m in ops}
    assert documented <= {(m, re.sub(r":\w+}", "}", p)) for m, p in routes}
    assert {(m, re.sub(r":\w+}", "}", p)) for m, p in routes} == {
        (c.method, c.route) for c in CASES
    }


@pytest.mark.parametrize("role", ROLES)
async def test_role_matrix(app: FastAPI, client: httpx.AsyncClient, role: str) -> None:
    other = await create_user(app, role=Role.clinician)
    other_tokens = await login(client, other)
    other_sid = jwt.decode(other_tokens["access_token"], options={"verify_signature": False})["sid"]
    created = await client.post(
        "/api/upload/init",
        headers=bearer(other_tokens),
        json={
            "patient_name": phi_scan.registered_name("Other^Patient"),
            "study_date": "2026-02-01",
            "modality": "CT",
            "service_level": "ROUTINE",
            "files": [{"name": "x.dcm", "size": 10}],
        },
    )
    assert created.status_code == 201, created.text
    other_upload = created.json()["upload_id"]
    me = None if role == "anonymous" else await create_user(app, role=Role(role))
    # STAT: radiologists (me, if I am one) are notified of it
    other_report = await make_report(app, user=other, service_level="STAT")
    my_report = (
        await make_report(app, user=me)
        if me is not None and me.role is not Role.radiologist
        else other_report
    )
    async with app.state.database.sessionmaker() as session:
        other_notification = await session.scalar(
            select(Notification.id).where(Notification.user_id == other.id).limit(1)
        )
        my_notification = (
            await session.scalar(
                select(Notification.id).where(Notification.user_id == me.id).limit(1)
            )
            if me is not None
            else other_notification
        )
    assert other_notification is not None and my_notification is not None
    tokens = None
    failures = []
    for case in CASES:
        if me is not None and (tokens is None or case.method != "GET"):
            tokens = await login(client, me)  # a fresh session: earlier cases may end one
        ctx = Ctx(
            me,
            tokens,
            other,
            other_sid,
            other_upload,
            other_report,
            my_report,
            other_notification,
            my_notification,
        )
        path = case.path(ctx) if case.path else case.route
        headers = bearer(tokens) if tokens else {}
        if case.headers:
            headers |= case.headers(ctx)
        kwargs: dict[str, Any] = {"headers": headers}
        if case.body:
            kwargs["json"] = case.body(ctx)
        response = await client.request(case.method, path, **kwargs)
        if response.status_code != case.expected[role]:
            failures.append(
                f"{case.method} {case.route}: {response.status_code} != {case.expected[role]} {response.text[:120]}"
            )
        if response.status_code == 403:
            # A role's refusal, or (2FA enable) a wrong code: never another 403.
            assert response.json()["error"]["code"] in {
                "forbidden",
                "not_report_owner",
                "invalid_mfa_code",
            }
    assert not failures, "\n".join(failures)
