"""A person clicking the mailed verification link lands on the web app; API clients get JSON."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import MailSink

FORM = {
    "email": "ana@example.org",
    "username": "ana.w",
    "full_name": "Ana Wright",
    "password": "marmalade-satellite-cobalt-19",
    "role": "radiographer",
}
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def settings_overrides(smtp_server: tuple[int, MailSink], tmp_path: Path) -> dict[str, Any]:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html><div id=root></div>")
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_server[0],
        "smtp_starttls": False,
        "public_base_url": "http://gateway.example",
        "frontend_dist": dist,
    }


async def _mailed_link(client: httpx.AsyncClient, sink: MailSink) -> str:
    assert (await client.post("/api/auth/register", json=FORM)).status_code == 202
    body = sink.messages[-1].get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"http://gateway\.example/\S+", body)
    assert match, body
    link = urlsplit(match.group(0))
    return f"{link.path}?{link.query}"


async def test_a_browser_is_sent_to_the_web_app_without_the_token(
    client: httpx.AsyncClient, smtp_server: tuple[int, MailSink]
) -> None:
    link = await _mailed_link(client, smtp_server[1])
    r = await client.get(link, headers={"Accept": BROWSER_ACCEPT})
    assert r.status_code == 303
    assert r.headers["location"] == "/verify-email?result=verified"
    login = {"login": FORM["username"], "password": FORM["password"]}
    assert (await client.post("/api/auth/login", json=login)).status_code == 200

    again = await client.get(link, headers={"Accept": BROWSER_ACCEPT})
    assert again.status_code == 303
    assert again.headers["location"].startswith("/verify-email?result=invalid")
    assert again.headers["location"].endswith("reason=invalid_verification_token")


async def test_an_api_client_still_gets_json(
    client: httpx.AsyncClient, smtp_server: tuple[int, MailSink]
) -> None:
    link = await _mailed_link(client, smtp_server[1])
    r = await client.get(link, headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert r.json() == {"status": "verified", "email": FORM["email"]}
    again = await client.get(link, headers={"Accept": "application/json"})
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "invalid_verification_token"
