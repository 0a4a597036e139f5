"""An httpx transport that connects only where a :class:`HealthCheckPolicy` permits.

Used for every outbound call a service makes on a user's say-so (federated search through
registry entries): the host is resolved once, every address is checked with the same rules
as health checks (:func:`assetstore.health.connect_checked`: no loopback, private,
link-local or IPv4-in-IPv6 tricks unless allowed), and the connection goes to the very
address that was checked, so a second DNS answer cannot redirect it. No proxy from the
environment is used (it would connect on our behalf) and redirects are not followed.
"""

from __future__ import annotations

import functools
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

# httpcore's stream over a connected socket. It is not re-exported at the top level, but it is
# the class httpcore.SyncBackend itself returns for every TCP connection.
from httpcore._backends.sync import SyncStream

from assetstore._health import HealthCheckPolicy, connect_checked
from assetstore.errors import HealthCheckRefusedError


class _PolicyBackend(httpcore.SyncBackend):
    def __init__(self, policy: HealthCheckPolicy) -> None:
        self._policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            sock = connect_checked(
                host,
                port,
                self._policy,
                timeout if timeout is not None else self._policy.connect_timeout,
            )
        except HealthCheckRefusedError:
            raise
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc) or "connection timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        for option in socket_options or ():
            sock.setsockopt(*option)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return SyncStream(sock)


@functools.cache
def _ssl_context(verify: bool) -> ssl.SSLContext:
    """One TLS context per ``verify`` for every transport: making one loads the CA bundle
    (~40 ms), and a federated search makes a transport per store."""
    return httpx.create_ssl_context(verify=verify, trust_env=False)


class PolicyTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose connections obey ``policy``."""

    def __init__(
        self, policy: HealthCheckPolicy, *, verify: bool = True, limits: httpx.Limits | None = None
    ) -> None:
        limits = limits or httpx.Limits(max_connections=10, max_keepalive_connections=5)
        context = _ssl_context(verify)
        super().__init__(verify=context, trust_env=False, limits=limits)
        self._pool.close()
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PolicyBackend(policy),
        )
