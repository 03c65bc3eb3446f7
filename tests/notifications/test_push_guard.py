"""The push endpoint rules on their own: which addresses are public, how the allow-list
matches hosts, and how PUSH_ALLOWED_HOSTS and PUSH_ALLOW_PRIVATE_ENDPOINTS are read."""

from __future__ import annotations

import pytest

from relaypacs.core.config import ConfigurationError
from relaypacs.notifications import push_guard
from relaypacs.settings import Settings, load_settings

# --- the address rules --------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.5",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # CGNAT
        "100.127.255.254",
        "0.0.0.0",  # noqa: S104 - classified here, never bound
        "224.0.0.1",
        "224.0.1.1",  # multicast that Python calls global
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.10",  # documentation
        "::1",
        "::",
        "fe80::1",
        "fe80::1%1",
        "fc00::1",
        "fd12:3456::1",
        "fec0::1",
        "ff02::1",
        "ff0e::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.5",
        "::ffff:169.254.169.254",
        "::ffff:100.64.0.1",
        "::127.0.0.1",  # IPv4-compatible
        "64:ff9b::a00:5",  # NAT64 of 10.0.0.5
        "64:ff9b::7f00:1",
        "2002:a00:5::1",  # 6to4 of 10.0.0.5
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    ],
)
def test_internal_addresses_are_not_public(address: str) -> None:
    parsed = push_guard.parse_address(address)
    assert parsed is not None
    assert not push_guard.is_public_address(parsed)


@pytest.mark.parametrize(
    "address",
    ["142.250.74.10", "8.8.8.8", "2a00:1450:4007:80e::200a", "::ffff:142.250.74.10"],
)
def test_public_addresses_are_public(address: str) -> None:
    parsed = push_guard.parse_address(address)
    assert parsed is not None and push_guard.is_public_address(parsed)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("fcm.googleapis.com", True),
        ("FCM.googleapis.com.", True),
        ("updates.push.services.mozilla.com", True),
        ("wns2-par02p.notify.windows.com", True),
        ("web.push.apple.com", True),
        ("api.push.apple.com", True),
        ("evilfcm.googleapis.com", False),
        ("fcm.googleapis.com.evil.example", False),
        ("notify.windows.com.evil.example", False),
        ("push.example.org", False),
        ("10.0.0.5.nip.io", False),
        ("minio", False),
        ("orthanc", False),
    ],
)
def test_the_default_allow_list_is_the_browsers_push_services(host: str, allowed: bool) -> None:
    assert push_guard.host_allowed(host, Settings().push_allowed_hosts) is allowed


def test_an_ip_entry_allows_only_that_address() -> None:
    assert push_guard.host_allowed("127.0.0.1", ("127.0.0.1",))
    assert not push_guard.host_allowed("127.0.0.1", ("0.0.1",))
    assert not push_guard.host_allowed("10.127.0.0.1", ("127.0.0.1",))


# --- configuration ------------------------------------------------------------------------


def test_push_allowed_hosts_is_read_as_a_comma_separated_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PUSH_ALLOWED_HOSTS", " FCM.googleapis.com , *.notify.windows.com,,")
    assert load_settings().push_allowed_hosts == ("fcm.googleapis.com", "notify.windows.com")


@pytest.mark.parametrize("value", ["", " , ", "not a host", "https://fcm.googleapis.com"])
def test_a_bad_push_allow_list_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("PUSH_ALLOWED_HOSTS", value)
    with pytest.raises(ConfigurationError, match="PUSH_ALLOWED_HOSTS"):
        load_settings()


@pytest.mark.parametrize("environment", ["development", "production"])
def test_private_endpoints_are_refused_outside_the_test_environment(environment: str) -> None:
    with pytest.raises(ConfigurationError, match="PUSH_ALLOW_PRIVATE_ENDPOINTS"):
        load_settings(
            environment=environment,
            secret_key="x" * 40,
            push_allow_private_endpoints=True,
        )
    assert load_settings(environment="test", push_allow_private_endpoints=True)
