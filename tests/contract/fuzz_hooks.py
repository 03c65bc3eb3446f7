"""Schemathesis hooks for the contract fuzz, loaded by `schemathesis run` through
SCHEMATHESIS_HOOKS=tests.contract.fuzz_hooks.

With FUZZ_LOGIN and FUZZ_PASSWORD set, every generated request carries that user's
access token. The token is fetched by signing in (POST /api/auth/login) and cached; when
a request is answered 401 — because an operation under test ended the session (logout,
DELETE /api/auth/sessions/{id}, revoke-all, a password change) — schemathesis drops the
cached token, signs in again and replays the request once with the new token. Without
FUZZ_LOGIN no auth is registered: the run is anonymous.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import schemathesis

BASE_URL = os.environ.get("FUZZ_BASE_URL", "")
LOGIN = os.environ.get("FUZZ_LOGIN", "")
PASSWORD = os.environ.get("FUZZ_PASSWORD", "")

if LOGIN:

    @schemathesis.auth(retry_on=[401])
    class SignIn:
        """The fuzzed role's access token, from a real sign-in."""

        def get(self, case: Any, context: Any) -> str:
            response = httpx.post(
                f"{BASE_URL}/api/auth/login",
                json={"login": LOGIN, "password": PASSWORD},
                timeout=30,
            )
            response.raise_for_status()
            token: str = response.json()["access_token"]
            return token

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = case.headers or {}
            case.headers["Authorization"] = f"Bearer {data}"
