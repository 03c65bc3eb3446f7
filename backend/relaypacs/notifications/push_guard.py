"""Where the gateway may send Web Push messages: the guard against server-side request forgery.

A browser hands the gateway the URL it will POST to, so a subscriber could aim it at an
internal service (a cloud metadata address, MinIO, Orthanc, the database). Every endpoint is
checked when it is subscribed (a clear 422, nothing stored) and again on every send:

1. Allow-list and scheme: https, and a host under one of `PUSH_ALLOWED_HOSTS` (host
   suffixes; by default the browsers' public push services). No DNS involved.
2. Public addresses only, checked at connect time. aiohttp's `TCPConnector` resolves a name
   through the resolver it is given and connects to exactly the addresses that resolver
   returned (TLS SNI and the Host header keep the name; its DNS cache holds the same
   answers). `PublicResolver` wraps the system resolver and refuses a name when any address
   in the answer is not public (loopback, private, link-local, CGNAT, multicast,
   unspecified, reserved, or an IPv6 form embedding such an IPv4 address). So the answer that
   is checked is the only one a connection can use, and a name that answers differently at
   send time than at subscribe time (DNS rebinding) is judged on the answer used. aiohttp
   never passes an IP literal to a resolver, so literals are checked before sending (a
   literal cannot change).
3. No redirects (`NoRedirects`): a push service answers 201; a 3xx is a failed delivery and
   is never followed, so a public endpoint cannot bounce the request inward.

Behind an egress proxy (HTTPS_PROXY/NO_PROXY, honoured as `requests` does) the gateway
connects only to the proxy: the proxy's host (set by the operator) is trusted, the proxy
resolves the push service's name (egress rules belong there too), and check 1 still applies.
Such networks often cannot resolve public names, so a proxied endpoint is not resolved at
subscribe time either.

The test suite points endpoints at a stand-in push service on loopback over plain http:
`PUSH_ALLOW_PRIVATE_ENDPOINTS` lifts the https rule and check 2 (never the allow-list), and
the settings refuse it unless ENVIRONMENT=test. Tests replace `system_resolver` with a stub.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from relaypacs.core.config import CoreSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The resolver under the guard; the one seam tests replace (with a stub that never asks DNS).
system_resolver: Callable[[], AbstractResolver] = aiohttp.DefaultResolver

_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")
# RFC 6052 NAT64 prefix: the last 32 bits are the IPv4 address a translator connects to.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class EndpointRefused(OSError):
    """The gateway will not contact this endpoint. An OSError, as aiohttp expects of a
    resolver; `reason` is a short code for logs (never the URL, which holds a device token)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def parse_address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_public_address(address: IPAddress) -> bool:
    """Whether the address is globally reachable unicast (not loopback, private, link-local,
    CGNAT 100.64/10, multicast, unspecified or reserved), judging an IPv6 address that
    carries an IPv4 one (mapped, 6to4, Teredo, NAT64) by that IPv4 address too."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public_address(address.ipv4_mapped)
        embedded = [address.sixtofour, *(address.teredo or ())]
        if address in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if not all(is_public_address(inner) for inner in embedded if inner is not None):
            return False
        if address.is_site_local:
            return False
    # is_global is False for the private, loopback, link-local, CGNAT, reserved and
    # unspecified ranges, but True for some multicast ones (224.0.1.0/24 for instance).
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """Whether `host` is an allowed entry or a name under one (`*` allows any host). An IP
    literal matches only itself."""
    host = host.lower().rstrip(".")
    literal = parse_address(host) is not None
    for entry in allowed:
        if entry in ("*", host):
            return True
        if not literal and parse_address(entry) is None and host.endswith("." + entry):
            return True
    return False


def _proxies() -> dict[str, str]:
    """The proxies aiohttp takes from the environment (trust_env): http and https ones."""
    return {k: v for k, v in urllib.request.getproxies().items() if k in ("http", "https")}


def proxy_hosts() -> frozenset[str]:
    """Host names of the configured egress proxies: trusted, since the operator set them."""
    urls = (url if "://" in url else f"http://{url}" for url in _proxies().values())
    hosts = (urlsplit(url).hostname for url in urls)
    return frozenset(host.lower().rstrip(".") for host in hosts if host)


def _proxied(scheme: str, host: str) -> bool:
    return scheme in _proxies() and not urllib.request.proxy_bypass(host)


def check_endpoint(settings: CoreSettings, endpoint: str) -> None:
    """Refuse (EndpointRefused) what no DNS answer could make acceptable: the scheme, a host
    off the allow-list, an internal name, an IP literal that is not public."""
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").rstrip(".")
    relaxed = settings.push_allow_private_endpoints
    if parts.scheme != "https" and not (relaxed and parts.scheme == "http"):
        raise EndpointRefused("scheme", "The endpoint must use https.")
    if not host or not host_allowed(host, settings.push_allowed_hosts):
        raise EndpointRefused(
            "host_not_allowed",
            "The endpoint is not one of the push services this server sends to "
            "(PUSH_ALLOWED_HOSTS).",
        )
    if relaxed:
        return
    literal = parse_address(host)
    if literal is not None:
        if not is_public_address(literal):
            raise EndpointRefused("internal_address", "The endpoint must be a public address.")
        return
    if (
        "." not in host
        or host == "localhost"
        or host.endswith(_INTERNAL_SUFFIXES)
        or host in proxy_hosts()
    ):
        raise EndpointRefused("internal_host", "The endpoint must be a public push service.")


async def check_subscription(settings: CoreSettings, endpoint: str) -> None:
    """`check_endpoint`, then resolve the host (unless a proxy will) and refuse an answer
    with a non-public address. EndpointRefused, or OSError/TimeoutError if DNS fails."""
    check_endpoint(settings, endpoint)
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if settings.push_allow_private_endpoints or parse_address(host) is not None:
        return
    if _proxied(parts.scheme, host):
        return
    resolver = PublicResolver(system_resolver())
    try:
        async with asyncio.timeout(settings.push_timeout_seconds):
            await resolver.resolve(host, parts.port or 443, socket.AF_UNSPEC)
    finally:
        await resolver.close()


class PublicResolver(AbstractResolver):
    """A resolver that refuses a name whose answer holds any non-public address; the proxy
    hosts in `trusted_hosts` are resolved as they are."""

    def __init__(self, inner: AbstractResolver, *, trusted_hosts: frozenset[str] = frozenset()):
        self._inner = inner
        self._trusted = trusted_hosts

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answer = await self._inner.resolve(host, port, family)
        if host.lower().rstrip(".") in self._trusted:
            return answer
        for result in answer:
            address = parse_address(result["host"])
            if address is None or not is_public_address(address):
                raise EndpointRefused(
                    "internal_address", "The endpoint's host resolves to a non-public address."
                )
        return answer

    async def close(self) -> None:
        await self._inner.close()


class NoRedirects:
    """What pywebpush calls on the aiohttp session it is given (`post`, only that), with
    redirects off: aiohttp follows them unless each request says not to."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    def post(self, url: str, **kwargs: Any) -> Any:
        kwargs["allow_redirects"] = False
        return self._session.post(url, **kwargs)


@asynccontextmanager
async def client_session(settings: CoreSettings) -> AsyncIterator[NoRedirects]:
    """An HTTP client for push services that connects only to public addresses (or the
    egress proxy) and never follows a redirect."""
    resolver = system_resolver()
    if not settings.push_allow_private_endpoints:
        resolver = PublicResolver(resolver, trusted_hosts=proxy_hosts())
    try:
        connector = aiohttp.TCPConnector(resolver=resolver)
        # trust_env: honour HTTPS_PROXY/NO_PROXY like requests does; hospitals often egress
        # via one.
        async with aiohttp.ClientSession(connector=connector, trust_env=True) as http:
            yield NoRedirects(http)
    finally:
        await resolver.close()
