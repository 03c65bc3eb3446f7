"""GET /api/upload/stats: the exact contract of issue 13, each figure from SQL, scoped by
role, days in the asked time zone (across DST changes), bad input a 422."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI

from relaypacs.core.database import utcnow
from relaypacs.core.permissions import Role
from relaypacs.uploads.models import UploadState
from tests.factories import auth_headers, bearer, create_user, login
from tests.stats.seed import seed, upload_row

S = UploadState
FIELDS = {
    "period", "from", "to", "generated_at", "total_uploads", "volume_bytes", "volume_gb",
    "success_rate", "avg_upload_seconds", "avg_delivery_seconds", "by_outcome",
    "by_modality", "by_service_level", "daily",
}  # fmt: skip
# The stats are cached; these tests read fresh figures after seeding rows directly.
pytestmark = pytest.mark.parametrize("settings_overrides", [{"stats_cache_seconds": 0}])


async def stats(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> httpx.Response:
    return await client.get("/api/upload/stats", params=params, headers=headers)


async def test_stats_is_not_taken_for_an_upload_id_and_answers_the_exact_fields(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = await auth_headers(app, client, role=Role.clinician)
    response = await stats(client, headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == FIELDS
    assert set(body["by_outcome"]) == {"forwarded", "failed", "in_progress", "cancelled", "expired"}
    assert body["period"] == "1w" and body["total_uploads"] == 0
    assert body["success_rate"] is None and body["avg_upload_seconds"] is None
    assert body["by_modality"] == []
    assert body["by_service_level"] == [
        {"service_level": level, "uploads": 0} for level in ("STAT", "EMERGENCY", "ROUTINE")
    ]
    assert len(body["daily"]) == 7 and all(d["uploads"] == 0 for d in body["daily"])
    # A real upload id still reaches the uploads' route next to it.
    assert (await client.get(f"/api/upload/{uuid.uuid4()}", headers=headers)).status_code == 404


async def test_every_figure_of_a_period_is_computed_from_the_uploads_of_that_period(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await create_user(app, role=Role.admin)
    now = utcnow()
    day = timedelta(days=1)
    await seed(
        app,
        [
            upload_row(admin, created_at=now - day, state=S.forwarded, total_bytes=1_234_567_890,
                       upload_seconds=10, delivery_seconds=20),
            upload_row(admin, created_at=now - 2 * day, state=S.forwarded, service_level="STAT",
                       total_bytes=3000, upload_seconds=30, delivery_seconds=40),
            upload_row(admin, created_at=now - 2 * day, state=S.failed, modality="MR",
                       service_level="EMERGENCY", total_bytes=500, upload_seconds=20),
            upload_row(admin, created_at=now - timedelta(hours=1), total_bytes=100),
            upload_row(admin, created_at=now - 3 * day, state=S.cancelled, modality="US"),
            upload_row(admin, created_at=now - 3 * day, state=S.expired, modality="MR"),
            # Past its deadline, not yet expired by housekeeping: counts as expired.
            upload_row(admin, created_at=now - 2 * day, expires_at=now - timedelta(minutes=1)),
            upload_row(admin, created_at=now - timedelta(minutes=30), state=S.queued,
                       modality="XA", total_bytes=700, upload_seconds=60),
            # Before the period: counted nowhere.
            upload_row(admin, created_at=now - 10 * day, state=S.forwarded, total_bytes=9999,
                       upload_seconds=5, delivery_seconds=5),
        ],
    )  # fmt: skip
    body = (await stats(client, bearer(await login(client, admin)), period="1w")).json()
    assert body["total_uploads"] == 8
    assert body["by_outcome"] == {
        "forwarded": 2, "failed": 1, "in_progress": 2, "cancelled": 1, "expired": 2,
    }  # fmt: skip
    assert body["volume_bytes"] == 1_234_567_890 + 3000 + 500 + 700
    assert body["volume_gb"] == 1.23
    assert body["success_rate"] == 0.6667
    assert body["avg_upload_seconds"] == 30.0  # (10 + 30 + 20 + 60) / 4
    assert body["avg_delivery_seconds"] == 30.0  # (20 + 40) / 2
    assert body["by_modality"] == [
        {"modality": "CT", "uploads": 4, "bytes": 1_234_567_890 + 3000},
        {"modality": "MR", "uploads": 2, "bytes": 500},
        {"modality": "XA", "uploads": 1, "bytes": 700},
        {"modality": "US", "uploads": 1, "bytes": 0},
    ]
    assert body["by_service_level"] == [
        {"service_level": "STAT", "uploads": 1},
        {"service_level": "EMERGENCY", "uploads": 1},
        {"service_level": "ROUTINE", "uploads": 6},
    ]
    daily = body["daily"]
    today = now.date()
    assert [d["date"] for d in daily] == [
        (today - timedelta(days=n)).isoformat() for n in range(6, -1, -1)
    ]
    assert sum(d["uploads"] for d in daily) == 8
    assert sum(d["forwarded"] for d in daily) == 2 and sum(d["failed"] for d in daily) == 1
    by_date = {d["date"]: d for d in daily}
    assert by_date[(now - day).date().isoformat()]["forwarded"] >= 1
    assert datetime.fromisoformat(body["from"]) == datetime.combine(
        today - timedelta(days=6), datetime.min.time(), tzinfo=UTC
    )
    # `all` takes the older upload too, and starts its days at the first upload's.
    everything = (await stats(client, bearer(await login(client, admin)), period="all")).json()
    assert everything["from"] is None and everything["total_uploads"] == 9
    assert everything["daily"][0]["date"] == (now - 10 * day).date().isoformat()
    assert len(everything["daily"]) == 11


async def test_each_role_sees_its_own_scope_and_only_admins_filter_by_facility(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    now = utcnow() - timedelta(hours=1)
    first = await create_user(app, role=Role.clinician, facility="Ward A")
    second = await create_user(app, role=Role.clinician, facility="Ward A")
    radiographer = await create_user(app, role=Role.radiographer, facility="Ward A")
    unattached = await create_user(app, role=Role.radiographer, facility=None)
    elsewhere = await create_user(app, role=Role.clinician, facility="Ward B")
    radiologist = await create_user(app, role=Role.radiologist, facility=None)
    admin = await create_user(app, role=Role.admin, facility=None)
    await seed(
        app,
        [upload_row(first, created_at=now)]
        + [upload_row(second, created_at=now) for _ in range(2)]
        + [upload_row(radiographer, created_at=now)]
        + [upload_row(unattached, created_at=now)]
        + [upload_row(elsewhere, created_at=now)],
    )

    async def total(user: object, **params: str) -> int:
        headers = bearer(await login(client, user))  # type: ignore[arg-type]
        response = await stats(client, headers, **params)
        assert response.status_code == 200, response.text
        return int(response.json()["total_uploads"])

    assert await total(first) == 1
    assert await total(second) == 2
    assert await total(radiographer) == 4  # Ward A's, their own among them
    assert await total(unattached) == 1  # no facility access: their own only
    assert await total(radiologist) == 6
    assert await total(admin) == 6
    assert await total(admin, facility=str(first.facility_id)) == 4
    assert await total(admin, facility=str(elsewhere.facility_id)) == 1

    refused = await stats(
        client, bearer(await login(client, radiologist)), facility=str(first.facility_id)
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "facility_filter_forbidden"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"period": "5y"}, "validation_error"),
        ({"period": ""}, "validation_error"),
        ({"tz": "Mars/Olympus_Mons"}, "invalid_timezone"),
        ({"tz": "../../../etc/passwd"}, "invalid_timezone"),
        ({"tz": "Europe"}, "invalid_timezone"),
        ({"tz": "x" * 65}, "validation_error"),
        ({"facility": "General Hospital"}, "invalid_facility"),
    ],
)
async def test_a_bad_period_zone_or_facility_is_a_422_in_the_error_format(
    app: FastAPI, client: httpx.AsyncClient, params: dict[str, str], code: str
) -> None:
    headers = await auth_headers(app, client, role=Role.admin)
    response = await stats(client, headers, **params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


async def test_a_facility_that_does_not_exist_is_404(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = await auth_headers(app, client, role=Role.admin)
    response = await stats(client, headers, facility=str(uuid.UUID(int=7)))
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "facility_not_found"


async def test_days_follow_the_time_zone_across_both_dst_changes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Europe/London, 2025: BST from 30 March 01:00 UTC to 26 October 01:00 UTC."""
    admin = await create_user(app, role=Role.admin)
    instants = [
        datetime(2025, 3, 29, 23, 30, tzinfo=UTC),  # GMT: 29 March
        datetime(2025, 3, 30, 0, 30, tzinfo=UTC),  # GMT still: 30 March
        datetime(2025, 3, 30, 23, 30, tzinfo=UTC),  # BST: 00:30 on 31 March
        datetime(2025, 10, 25, 23, 30, tzinfo=UTC),  # BST: 00:30 on 26 October
        datetime(2025, 10, 26, 23, 30, tzinfo=UTC),  # GMT again: 26 October
    ]
    await seed(app, [upload_row(admin, created_at=t, state=S.forwarded) for t in instants])
    headers = bearer(await login(client, admin))
    london = ZoneInfo("Europe/London")
    for tz in ("UTC", "Europe/London"):
        body = (await stats(client, headers, period="all", tz=tz)).json()
        counted = {d["date"]: d["uploads"] for d in body["daily"] if d["uploads"]}
        expected: dict[str, int] = {}
        for t in instants:
            local = t.astimezone(ZoneInfo(tz)).date().isoformat()
            expected[local] = expected.get(local, 0) + 1
        assert counted == expected, tz
        days = [date.fromisoformat(d["date"]) for d in body["daily"]]
        assert days == [days[0] + timedelta(days=n) for n in range(len(days))]  # zero-filled
        assert days[-1] == utcnow().astimezone(ZoneInfo(tz)).date()
    assert counted == {"2025-03-29": 1, "2025-03-30": 1, "2025-03-31": 1, "2025-10-26": 2}
    week = (await stats(client, headers, period="1w", tz="Europe/London")).json()
    start = datetime.fromisoformat(week["from"])
    assert start.astimezone(london).time() == datetime.min.time()
    assert start.astimezone(london).date() == utcnow().astimezone(london).date() - timedelta(6)
