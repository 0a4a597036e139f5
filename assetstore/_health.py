"""Health checks of registered stores: ``GET {public_url}/health``, safely.

A registry is told URLs by its users and then calls them, so a health check must not become a
way to reach the registry's own network (SSRF). The check therefore

* accepts only ``http`` and ``https`` URLs;
* resolves the host itself and refuses loopback, private, link-local (cloud metadata),
  shared, multicast, reserved and unspecified addresses, including IPv4 written as IPv6
  (``::ffff:127.0.0.1``), NAT64 and 6to4 forms, unless the operator allows them;
* connects to the very address it checked (no second DNS lookup to be raced);
* follows no redirect, uses short connect and total timeouts, and reads at most
  ``max_body`` bytes of the answer.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from assetstore.errors import HealthCheckRefusedError
from assetstore.models import HealthReport

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
#: The last 32 bits are an IPv4 address: IPv4-compatible (``::127.0.0.1``, deprecated by
#: RFC 4291 but still routed by some stacks) and IPv4-translated (RFC 2765, ``::ffff:0:a.b.c.d``).
_LOW_32_BITS_IPV4 = (ipaddress.ip_network("::/96"), ipaddress.ip_network("::ffff:0:0:0/96"))
#: Not globally reachable (IANA), though Python before 3.13 calls it global: local-use NAT64
#: (RFC 8215), a way into the operator's own IPv4 network.
_NOT_GLOBAL_V6 = (ipaddress.ip_network("64:ff9b:1::/48"),)


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden in an IPv4-mapped, IPv4-compatible, IPv4-translated, NAT64 or
    6to4 IPv6 address, if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64 or any(address in network for network in _LOW_32_BITS_IPV4):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    return None


def is_public(address: IPAddress) -> bool:
    """True if ``address`` (and any IPv4 address embedded in it) is globally routable."""
    inner = embedded_ipv4(address)
    if inner is not None and not is_public(inner):
        return False
    if isinstance(address, ipaddress.IPv6Address) and any(
        address in network for network in _NOT_GLOBAL_V6
    ):
        return False
    return address.is_global and not address.is_multicast


@dataclass
class HealthCheckPolicy:
    """Where health checks may go, and how long they may take."""

    allow_private: bool = False
    allowed_networks: list[str] = field(default_factory=list)
    connect_timeout: float = 2.0
    total_timeout: float = 5.0
    max_body: int = 64 * 1024

    def permits(self, address: IPAddress) -> bool:
        """Whether a connection to ``address`` is allowed."""
        if self.allow_private or is_public(address):
            return True
        candidates = [address]
        inner = embedded_ipv4(address)
        if inner is not None:
            candidates.append(inner)
        return any(
            candidate in ipaddress.ip_network(network, strict=False)
            for network in self.allowed_networks
            for candidate in candidates
            if candidate.version == ipaddress.ip_network(network, strict=False).version
        )


def _addresses(host: str, port: int) -> Iterable[tuple[int, IPAddress, tuple[Any, ...]]]:
    for family, _, _, _, sockaddr in socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    ):
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        yield family, address, sockaddr


def connect_checked(
    host: str, port: int, policy: HealthCheckPolicy, timeout: float
) -> socket.socket:
    """A TCP connection to an address of ``host`` that the policy permits."""
    try:
        resolved = list(_addresses(host, port))
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise OSError(f"cannot resolve {host!r}: {exc}") from None
    allowed = [item for item in resolved if policy.permits(item[1])]
    if not allowed:
        shown = ", ".join(sorted({str(item[1]) for item in resolved}))
        raise HealthCheckRefusedError(
            f"{host!r} resolves to {shown}, a loopback, private or otherwise non-public "
            "address; the registry's operator has not allowed health checks there"
        )
    last_error: OSError | None = None
    for family, _, sockaddr in allowed:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            last_error = exc
    raise last_error or OSError(f"cannot connect to {host!r}")


class _CheckedHTTPConnection(http.client.HTTPConnection):
    def __init__(
        self, host: str, port: int | None, policy: HealthCheckPolicy, timeout: float
    ) -> None:
        super().__init__(host, port, timeout=timeout)
        self._policy = policy

    def connect(self) -> None:
        self.sock = connect_checked(self.host, self.port, self._policy, self.timeout)


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(
        self, host: str, port: int | None, policy: HealthCheckPolicy, timeout: float
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._policy = policy

    def connect(self) -> None:
        sock = connect_checked(self.host, self.port, self._policy, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def health_url(public_url: str) -> str:
    """``{public_url}/health``."""
    return f"{public_url.rstrip('/')}/health"


def check_url(registry_id: str, public_url: str, policy: HealthCheckPolicy) -> HealthReport:
    """Call ``{public_url}/health`` under ``policy`` and report; never raises for the
    remote's failures (they are the report), only for a URL the policy refuses."""
    url = health_url(public_url)
    parts = urlsplit(url)
    report = {"asset_registry_id": registry_id, "url": url}
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return HealthReport(
            **report, status="refused", error="only http:// and https:// URLs can be health-checked"
        )
    connection_class = (
        _CheckedHTTPSConnection if parts.scheme == "https" else _CheckedHTTPConnection
    )
    started = time.perf_counter()
    deadline = started + policy.total_timeout
    try:
        connection = connection_class(parts.hostname, parts.port, policy, policy.connect_timeout)
    except ValueError as exc:
        return HealthReport(**report, status="refused", error=f"invalid URL: {exc}")
    try:
        path = parts.path or "/"
        if parts.query:
            path += f"?{parts.query}"
        connection.request(
            "GET", path, headers={"Accept": "application/json", "User-Agent": "assetstore-health/1"}
        )
        if connection.sock is not None:
            connection.sock.settimeout(max(0.01, deadline - time.perf_counter()))
        response = connection.getresponse()
        body = _read_capped(response, policy.max_body, deadline)
        latency = (time.perf_counter() - started) * 1000
    except HealthCheckRefusedError as exc:
        return HealthReport(**report, status="refused", error=str(exc))
    except (OSError, http.client.HTTPException) as exc:
        return HealthReport(
            **report,
            status="unreachable",
            latency_ms=(time.perf_counter() - started) * 1000,
            error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
        )
    finally:
        connection.close()
    healthy = 200 <= response.status < 300
    return HealthReport(
        **report,
        status="healthy" if healthy else "unhealthy",
        http_status=response.status,
        latency_ms=round(latency, 3),
        response=_decode(body),
        error=None
        if healthy
        else f"HTTP {response.status}"
        + (
            f" redirect to {response.getheader('Location')}" if 300 <= response.status < 400 else ""
        ),
    )


def _read_capped(response: http.client.HTTPResponse, limit: int, deadline: float) -> bytes:
    parts: list[bytes] = []
    size = 0
    while size < limit:
        if time.perf_counter() > deadline:
            raise TimeoutError("the health endpoint did not answer in time")
        chunk = (
            response.read1(min(65536, limit - size))
            if hasattr(response, "read1")
            else response.read(min(65536, limit - size))
        )
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def _decode(body: bytes) -> Any:
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
