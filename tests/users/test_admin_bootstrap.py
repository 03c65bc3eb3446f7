"""The first admin without a UI: the CLI command and the one-time env bootstrap."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from relaypacs.auth.models import User
from relaypacs.main import create_app
from relaypacs.settings import Settings
from tests.conftest import make_settings

RELAYPACS = Path(sys.executable).with_name("relaypacs")
PASSWORD = "harbour-juniper-vector-31"


def _create_admin(database_url: str, password: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DATABASE_URL": database_url}
    return subprocess.run(
        [
            str(RELAYPACS),
            "users",
            "create-admin",
            "--email",
            "boss@example.org",
            "--username",
            "boss",
            "--password-stdin",
            *args,
        ],
        input=password + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_create_admin_cli_creates_once_then_refuses(database_url: str) -> None:
    first = _create_admin(database_url, PASSWORD)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("admin created: ")
    again = _create_admin(database_url, PASSWORD)
    assert again.returncode == 1
    assert again.stderr.strip() == "relaypacs: a user with this username already exists"


@pytest.mark.slow
def test_create_admin_cli_rejects_a_weak_password(database_url: str) -> None:
    result = _create_admin(database_url, "password")
    assert result.returncode == 1
    assert "at least 12 characters" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


async def _admins(app: FastAPI) -> int:
    async with app.state.database.sessionmaker() as session:
        return int(
            await session.scalar(select(func.count()).select_from(User).where(User.role == "admin"))
            or 0
        )


async def test_bootstrap_admin_is_created_once_when_none_exists(settings: Settings) -> None:
    boot = make_settings(
        settings.database_url,
        settings.data_dir,
        bootstrap_admin_email="first@example.org",
        bootstrap_admin_password=PASSWORD,
    )
    for _ in range(2):  # a restart must not create a second admin
        app = create_app(boot)
        async with app.router.lifespan_context(app):
            assert await _admins(app) == 1
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                r = await client.post(
                    "/api/auth/login", json={"login": "first@example.org", "password": PASSWORD}
                )
                assert r.status_code == 200
