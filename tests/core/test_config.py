from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from relaypacs.core.config import ConfigurationError
from relaypacs.settings import load_settings

RELAYPACS = Path(sys.executable).with_name("relaypacs")


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "ENVIRONMENT"}}
    full_env.update(env)
    return subprocess.run(
        [str(RELAYPACS), *args], env=full_env, capture_output=True, text=True, timeout=60
    )


def test_invalid_database_url_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match=r"^invalid configuration: DATABASE_URL: "):
        load_settings(database_url="nonsense://x")


def test_plain_scheme_is_mapped_to_the_async_driver() -> None:
    assert load_settings(database_url="sqlite:///x.db").database_url == "sqlite+aiosqlite:///x.db"
    pg = load_settings(database_url="postgresql://u:p@h/db").database_url
    assert pg == "postgresql+asyncpg://u:p@h/db"


def test_production_refuses_the_default_secret_key() -> None:
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        load_settings(environment="production")


def test_production_accepts_a_strong_secret_key() -> None:
    settings = load_settings(environment="production", secret_key="x" * 40)
    assert settings.json_logs is True


def test_bad_port_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="PORT"):
        load_settings(port=70000)


def test_rate_limits_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT__LOGIN_PER_IP", "100/minute")
    monkeypatch.setenv("RATE_LIMIT__REAUTH_PER_ACCOUNT", "3/15minutes")
    monkeypatch.setenv("RATE_LIMIT__REGISTER_PER_IP", "50/day")
    limits = load_settings().rate_limit
    assert (limits.login_per_ip.limit, limits.login_per_ip.seconds) == (100, 60)
    assert (limits.reauth_per_account.limit, limits.reauth_per_account.seconds) == (3, 900)
    assert (limits.register_per_ip.limit, limits.register_per_ip.seconds) == (50, 86400)
    assert str(limits.login_per_account) == "10/minute"  # the default, untouched


@pytest.mark.parametrize("value", ["lots", "10", "0/minute", "5/fortnight", "5/30days"])
def test_a_bad_rate_limit_names_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("RATE_LIMIT__LOGIN_PER_IP", value)
    with pytest.raises(ConfigurationError, match=r"RATE_LIMIT__LOGIN_PER_IP: "):
        load_settings()


@pytest.mark.slow
def test_cli_exits_non_zero_with_one_line_naming_the_variable(tmp_path: Path) -> None:
    result = run_cli("db", "upgrade", DATABASE_URL="nonsense://x")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "DATABASE_URL" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_cli_serve_refuses_default_secret_in_production() -> None:
    result = run_cli("serve", ENVIRONMENT="production")
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr.strip()
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_trusted_proxies_are_read_as_addresses_and_networks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().forwarded_allow_ips == ("127.0.0.1",)
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", " 127.0.0.1, 172.30.57.0/24,::1 ")
    assert load_settings().forwarded_allow_ips == ("127.0.0.1", "172.30.57.0/24", "::1")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    assert load_settings().forwarded_allow_ips == ("*",)


@pytest.mark.parametrize("value", ["nginx", "10.0.0.0/33", "127.0.0.1,proxy.local"])
def test_a_trusted_proxy_that_is_no_address_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", value)
    with pytest.raises(ConfigurationError, match=r"FORWARDED_ALLOW_IPS: .*not an IP address"):
        load_settings()
