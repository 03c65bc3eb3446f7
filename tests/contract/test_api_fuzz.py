"""The API contract, fuzzed: schemathesis — its CLI, `schemathesis run`, as it ships — runs
every operation of the app's own /openapi.json against a real `relaypacs serve`, once
anonymously and once signed in as each role, with all its checks (`--checks all`). It must
find nothing: no server error, no undocumented status code, no response that violates its
schema or content type, no schema-valid request rejected and no schema-violating request
accepted, a correct `Allow` on every 405.

Every role runs once (about 3½ minutes on the two-core test machine): the roles that write
the most — uploads (clinician), reports (radiologist), users, facilities and the audit
trail (admin) — on PostgreSQL, which refuses what SQLite lets through (a value longer than
its column, a NUL character); anonymous and the radiographer on SQLite. FUZZ_FULL=1 runs
every role on both databases (twice as long).

Each run gets a database and a server of its own, so what one run changes (an admin
disabling a user, say) cannot touch another; two runs go at a time (the machine has two
cores). The server has no Web Push keys (an unconfigured optional feature must not be a
5xx), and rate limits high enough that a sign-in per ended session never meets one.

Nothing is excluded. The operations that end the fuzzer's own session — logout, DELETE
/api/auth/sessions/{id}, revoke-all (this one too with include_current=true), a password change —
run like any other: the auth hook (fuzz_hooks.py) signs in again when a request answers
401, and schemathesis replays it with the new token. The event stream never ends; it is
read for a second per request (schemathesis.toml) and judged on what arrived.

Examples per operation and phase: FUZZ_EXAMPLES (default 10; the coverage phase's
boundary and type cases do not depend on it and are most of the run). The seed is fixed
(FUZZ_SEED, default below), so a run is reproducible; each failure in the report names a
`st replay` id and a curl command. A longer run on its own, e.g.:

    FUZZ_EXAMPLES=200 FUZZ_FULL=1 .venv/bin/python -m pytest tests/contract -s
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from relaypacs.auth.models import User
from relaypacs.core.database import Database, utcnow
from relaypacs.core.permissions import Role
from relaypacs.core.security import hash_password_sync
from relaypacs.facilities import service as facilities
from tests.conftest import fresh_database_url, make_settings
from tests.live_server import LiveServer, server_env

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
REPO = HERE.parents[1]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
SEED = int(os.environ.get("FUZZ_SEED", "20261201"))
CONCURRENT_RUNS = 2
PASSWORD = "fuzzing-orbit-tangerine-harbour-42"
ROLES: tuple[Role | None, ...] = (None, *Role)  # None: anonymous
FULL = os.environ.get("FUZZ_FULL", "") == "1"
ROLES_ON = {
    "sqlite": (None, Role.radiographer),
    "postgresql": (Role.clinician, Role.radiologist, Role.admin),
}
assert set(ROLES) == {role for roles in ROLES_ON.values() for role in roles}

# Every limit out of the fuzzer's way (the fuzz signs in again after each ended session):
# today's variable, and the per-action ones (RATE_LIMIT__<ACTION>_PER_IP / _PER_ACCOUNT).
UNLIMITED = {
    "LOGIN_RATE_LIMIT_PER_MINUTE": "1000000",
    "LOGIN_MAX_FAILURES": "100",
    "LOGIN_LOCKOUT_MINUTES": "1",
    **{
        f"RATE_LIMIT__{action}_PER_{scope}": "1000000/minute"
        for action in (
            "LOGIN",
            "LOGIN_2FA",
            "REGISTER",
            "VERIFY_RESEND",
            "PASSWORD_CHANGE",
            "REAUTH",
        )
        for scope in ("IP", "ACCOUNT")
    },
}


@dataclass
class RoleRun:
    """What one schemathesis run reported (its JSON report) and printed."""

    role: str
    report: dict[str, Any]
    output: str
    seconds: float

    @property
    def failures(self) -> int:
        return sum(int(group["count"]) for group in self.report.get("failures", []))

    @property
    def errors(self) -> int:
        return sum(int(group["count"]) for group in self.report.get("errors", []))

    def line(self) -> str:
        operations = self.report.get("operations") or {}
        cases = self.report.get("test_cases") or {}
        return (
            f"{self.role:<13} operations {operations.get('tested', 0)}/"
            f"{operations.get('total', 0)}  cases {cases.get('generated', 0):>6}  "
            f"failures {self.failures}  errors {self.errors}  "
            f"re-sign-ins {self.report.get('auth', {}).get('reauth_count', 0)}  "
            f"{self.seconds:.0f} s"
        )


@pytest.fixture(params=("sqlite", "postgresql"))
def backend(request: pytest.FixtureRequest) -> str:
    # Named `backend`, not `database_url`: each role needs a database of its own.
    return str(request.param)


@pytest.fixture
def roles(backend: str) -> tuple[Role | None, ...]:
    return ROLES if FULL else ROLES_ON[backend]


@pytest.fixture
def databases(
    request: pytest.FixtureRequest, backend: str, roles: tuple[Role | None, ...], tmp_path: Path
) -> Iterator[dict[str, str]]:
    """A fresh, migrated database per run (role), all of the same kind."""
    makers = []
    urls = {}
    try:
        for role in roles:
            name = role.value if role else "anonymous"
            (tmp_path / name).mkdir()
            maker = fresh_database_url(request, backend, tmp_path / name)
            makers.append(maker)
            urls[name] = next(maker)
        yield urls
    finally:
        for maker in makers:
            next(maker, None)  # its clean-up (PostgreSQL: DROP DATABASE)


async def add_user(database_url: str, data_dir: Path, role: Role) -> str:
    """The role's account, written straight to the database (a cheap bcrypt cost: the
    fuzz signs in again after every session it ends); returns its username."""
    database = Database(make_settings(database_url, data_dir))
    username = f"fuzz-{role.value}"
    try:
        async with database.sessionmaker() as session:
            facility = await facilities.get_or_create_by_name(session, name="Fuzz General")
            session.add(
                User(
                    email=f"{username}@example.org",
                    username=username,
                    full_name=f"Fuzz {role.value.title()}",
                    role=role,
                    password_hash=hash_password_sync(PASSWORD, rounds=4),
                    email_verified_at=utcnow(),
                    password_changed_at=utcnow(),
                    facility_id=None if role is Role.admin else facility.id,
                )
            )
            await session.commit()
    finally:
        await database.dispose()
    return username


async def fuzz(name: str, role: Role | None, database_url: str, workdir: Path) -> RoleRun:
    """One role's run: its account, its server, then `schemathesis run` against it."""
    login = await add_user(database_url, workdir / "data", role) if role else ""
    env = server_env(database_url, workdir / "data", FORWARD_WORKERS="0", **UNLIMITED)
    server = LiveServer(env, workdir / "server")
    report_dir = workdir / "report"
    started = time.monotonic()
    try:
        await server.start_and_wait()
        process = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS),
            "--config-file",
            str(HERE / "schemathesis.toml"),
            "run",
            f"{server.base_url}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            str(EXAMPLES),
            "--seed",
            str(SEED),
            "--workers",
            "1",
            "--generation-database",
            "none",
            "--report",
            "json",
            "--report-dir",
            str(report_dir),
            "--no-color",
            cwd=workdir,
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
                "SCHEMATHESIS_HOOKS": "tests.contract.fuzz_hooks",
                "FUZZ_BASE_URL": server.base_url,
                "FUZZ_LOGIN": login,
                "FUZZ_PASSWORD": PASSWORD,
            },
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        stdout, _ = await process.communicate()
    finally:
        server.close()
    output = stdout.decode(errors="replace")
    reports = sorted(report_dir.glob("*.json"))
    assert reports, f"{name}: schemathesis wrote no report (exit {process.returncode}):\n{output}"
    report = json.loads(reports[-1].read_text())
    return RoleRun(name, report, output, time.monotonic() - started)


def excerpt(run: RoleRun) -> str:
    """The part of schemathesis' output that says what failed and how to reproduce it."""
    text = run.output
    start = text.find("=== FAILURES")
    if start < 0:
        start = text.find("=== ERRORS")
    return text[start if start >= 0 else -6000 :][:12_000]


async def test_the_api_contract_holds_under_fuzzing(
    backend: str,
    roles: tuple[Role | None, ...],
    databases: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gate = asyncio.Semaphore(CONCURRENT_RUNS)

    async def one(role: Role | None) -> RoleRun:
        name = role.value if role else "anonymous"
        async with gate:
            return await fuzz(name, role, databases[name], tmp_path / name)

    started = time.monotonic()
    runs = await asyncio.gather(*(one(role) for role in roles))
    elapsed = time.monotonic() - started

    with capsys.disabled():
        print(f"\nschemathesis on {backend}: {EXAMPLES} examples per operation, seed {SEED}")
        for run in runs:
            print("  " + run.line())
        print(f"  total {elapsed:.0f} s")

    for run in runs:
        assert run.report.get("operations", {}).get("tested") == run.report.get(
            "operations", {}
        ).get("total"), f"{run.role}: not every operation was tested\n{excerpt(run)}"
    broken = [run for run in runs if run.failures or run.errors or not run.report["complete"]]
    assert not broken, "\n\n".join(f"--- {run.role}\n{excerpt(run)}" for run in broken)
