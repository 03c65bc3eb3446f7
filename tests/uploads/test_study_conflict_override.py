"""The admin's override of a study UID conflict: validated, admins only, audited once, and
only for an upload a conflict can have stopped (still uploading, or failed). The conflict
itself, on a real PACS, is in tests/reports/test_sync_integrity.py."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from relaypacs.audit.models import AuditEvent
from relaypacs.core.database import utcnow
from relaypacs.core.permissions import Role
from relaypacs.uploads.models import Upload, UploadState
from tests.factories import auth_headers, bearer, create_user, login
from tests.reports.factories import make_upload

REASON = {"reason": "Reviewed with the PACS team: same patient, merged record."}


def _path(upload_id: uuid.UUID | str) -> str:
    return f"/api/upload/{upload_id}/study-conflict/override"


async def _overridden(app: FastAPI, upload_id: uuid.UUID) -> bool:
    async with app.state.database.sessionmaker() as session:
        upload = await session.get(Upload, upload_id)
        assert upload is not None
        return upload.study_conflict_overridden


async def _audited(app: FastAPI) -> int:
    async with app.state.database.sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "study_uid_conflict_overridden")
        )
        return int(count or 0)


@pytest.mark.parametrize("state", [UploadState.uploading, UploadState.failed])
async def test_an_admin_overrides_with_a_reason_once_audited(
    app: FastAPI, client: httpx.AsyncClient, state: UploadState
) -> None:
    owner = await create_user(app)
    upload_id = await make_upload(app, user=owner, state=state)
    admin = await auth_headers(app, client, role=Role.admin)

    first = await client.post(_path(upload_id), json=REASON, headers=admin)
    again = await client.post(_path(upload_id), json=REASON, headers=admin)

    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["study_conflict_overridden"] is True
    assert await _overridden(app, upload_id)
    assert await _audited(app) == 1


@pytest.mark.parametrize(
    "body",
    [{"reason": "     "}, {"reason": "ok"}, {"reason": "x" * 501}, {}, REASON | {"force": True}],
)
async def test_a_missing_or_bad_reason_is_422_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    upload_id = await make_upload(app, user=await create_user(app), state=UploadState.uploading)
    admin = await auth_headers(app, client, role=Role.admin)

    response = await client.post(_path(upload_id), json=body, headers=admin)

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert not await _overridden(app, upload_id)
    assert await _audited(app) == 0


@pytest.mark.parametrize(
    "state", [UploadState.forwarded, UploadState.queued, UploadState.cancelled, "expired"]
)
async def test_an_upload_no_conflict_can_have_stopped_is_409(
    app: FastAPI, client: httpx.AsyncClient, state: UploadState | str
) -> None:
    upload_id = await make_upload(
        app,
        user=await create_user(app),
        state=UploadState.uploading if state == "expired" else UploadState(state),
    )
    if state == "expired":
        async with app.state.database.sessionmaker() as session:
            upload = await session.get(Upload, upload_id)
            assert upload is not None
            upload.expires_at = utcnow() - timedelta(minutes=1)
            await session.commit()
    admin = await auth_headers(app, client, role=Role.admin)

    response = await client.post(_path(upload_id), json=REASON, headers=admin)

    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "override_not_applicable"
    assert not await _overridden(app, upload_id)


async def test_the_uploader_cannot_override_their_own_conflict(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app)
    upload_id = await make_upload(app, user=owner, state=UploadState.uploading)
    uploader = bearer(await login(client, owner))
    radiologist = await auth_headers(app, client, role=Role.radiologist)
    for who in (uploader, radiologist):
        response = await client.post(_path(upload_id), json=REASON, headers=who)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    missing = await client.post(
        _path(uuid.uuid4()), json=REASON, headers=await auth_headers(app, client, role=Role.admin)
    )
    assert missing.status_code == 404
    assert not await _overridden(app, upload_id)
