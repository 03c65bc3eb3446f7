"""Every paginated list takes a bounded page number: a huge one is a clear 422, never an
offset that overflows the database's integer (which was a 500)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from relaypacs.core.permissions import Role
from tests.factories import auth_headers

LISTS = ["/api/users", "/api/audit", "/api/uploads", "/api/notifications", "/api/reports"]


@pytest.mark.parametrize("path", LISTS)
async def test_a_huge_page_number_is_422_and_the_last_allowed_page_is_empty(
    app: FastAPI, client: httpx.AsyncClient, path: str
) -> None:
    headers = await auth_headers(app, client, role=Role.admin)
    huge = await client.get(path, params={"page": 10**18}, headers=headers)
    assert huge.status_code == 422, huge.text
    assert huge.json()["error"]["code"] == "validation_error"
    last = await client.get(path, params={"page": 1_000_000}, headers=headers)
    assert last.status_code == 200, last.text
    assert last.json()["items"] == []
