"""Every HTTP call assetstore makes: to a served store (the HTTP client), and to the URLs
users registered (health checks, federated search). One module, so there is one address
policy, one deadline rule, one TLS set-up and one way to read an error answer.

* :class:`AddressPolicy` says where a call may connect. Registered URLs are user input: a
  call on their say-so must not reach the server's own network (SSRF). The host is resolved
  once, each address is checked (loopback, private, link-local such as cloud metadata,
  shared, multicast, reserved and unspecified addresses are refused, also when written as
  IPv4-in-IPv6, NAT64 or 6to4), and the connection goes to the very address that was
  checked, so a second DNS answer cannot redirect it. What a name resolves to is not shown
  to whoever registered it: under a restrictive policy a name that does not resolve is
  refused with the same words as one that resolves to a private address (else the answer
  tells internal names from missing ones), and :func:`redact_addresses` takes every address
  the caller did not write out of the error messages that reports show.
* A **deadline** covers a whole call: connecting, sending, the response headers and the
  body. Every socket operation waits at most for what is left of it, so a peer that drips
  its headers one byte at a time cannot hold a call past its deadline.
* :class:`Connection` is the client of one base URL: a bearer token only if the caller gave
  one (never read from the environment here), no redirects, bodies capped at ``max_body``,
  errors decoded into assetstore's exceptions (the class the server names in
  ``error_type``, else the one its status implies; see :mod:`assetstore.errors`).
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
import orjson

from assetstore.errors import (
    AssetStoreError,
    BackendUnavailableError,
    HealthCheckRefusedError,
    InvalidInputError,
    NotFoundError,
    error_classes,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_log = logging.getLogger("assetstore.outbound")

# --------------------------------------------------------------------------- addresses
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


@dataclass(frozen=True)
class AddressPolicy:
    """Where calls to user-registered URLs may connect: public addresses always; loopback and
    private ones only if ``allow_private``, or if inside one of ``allowed_networks`` (CIDR
    strings such as ``"10.1.0.0/16"``)."""

    allow_private: bool = False
    allowed_networks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        networks = tuple(self.allowed_networks)
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise InvalidInputError(f"{network!r} is not a network (CIDR): {exc}") from exc
        object.__setattr__(self, "allowed_networks", networks)

    def permits(self, address: IPAddress) -> bool:
        """Whether a connection to ``address`` is allowed."""
        if self.allow_private or is_public(address):
            return True
        candidates = [address]
        inner = embedded_ipv4(address)
        if inner is not None:
            candidates.append(inner)
        for text in self.allowed_networks:
            network = ipaddress.ip_network(text, strict=False)
            if any(c.version == network.version and c in network for c in candidates):
                return True
        return False

    def describe(self) -> str:
        """What the policy lets calls reach, for an operator to read."""
        if self.allow_private:
            return "any address (private networks allowed)"
        if self.allowed_networks:
            return f"public addresses and {', '.join(self.allowed_networks)}"
        return "public addresses only"


def _resolve(host: str, port: int) -> list[tuple[int, IPAddress, tuple[Any, ...]]]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise OSError(f"cannot resolve {host!r}: {exc}") from exc
    return [
        (family, ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]), sockaddr)
        for family, _, _, _, sockaddr in infos
    ]


def _refused(host: str) -> HealthCheckRefusedError:
    return HealthCheckRefusedError(
        f"{host!r} does not resolve to an address calls may go to: it resolves to none, or "
        "to a loopback, private or otherwise non-public one, which the operator has not "
        "allowed (ASSETSTORE_HEALTH_ALLOWED_NETWORKS, or assetstore serve "
        "--allow-private-health-checks)"
    )


def connect_checked(
    host: str, port: int, policy: AddressPolicy | None, timeout: float | None
) -> socket.socket:
    """A TCP connection to an address of ``host`` that ``policy`` permits (any address when
    ``policy`` is None). The refusal names neither the addresses the host resolved to (an
    anonymous caller may read it) nor anything else of this network, and says the same for
    a name that does not resolve at all; the log has the difference."""
    try:
        resolved = _resolve(host, port)
    except OSError as exc:
        if policy is None or policy.allow_private:
            raise
        _log.info("refused %s: %s", host, exc)
        raise _refused(host) from None
    allowed = resolved if policy is None else [r for r in resolved if policy.permits(r[1])]
    if not allowed:
        _log.info("refused %s: resolves to %s", host, sorted({str(r[1]) for r in resolved}))
        raise _refused(host)
    last_error: OSError | None = None
    for family, _, sockaddr in allowed:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(_wait(timeout))
        try:
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise last_error or OSError(f"cannot connect to {host!r}")


_IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])")
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f.]{0,15}){2,8}(?:%\w+)?(?![\w:])")


def redact_addresses(text: str, url: str) -> str:
    """``text`` with every IP address that ``url`` does not spell out replaced by
    ``<address>``: an error shown to whoever registered ``url`` must not tell what its name
    resolves to (an internal DNS answer), whatever library wrote the message."""
    try:
        written = urlsplit(url).hostname or ""
    except ValueError:
        written = ""
    keep = _address_or_none(written)

    def redact(match: re.Match[str]) -> str:
        token = match.group(0)
        address = _address_or_none(token.split("%", 1)[0])
        if address is None or address == keep:
            return token
        return "<address>"

    return _IPV6.sub(redact, _IPV4.sub(redact, text))


def _address_or_none(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True)
class CallLimits:
    """How long a call to a registered URL may take and how much of its answer is read:
    ``connect_timeout`` for the connection, ``total_timeout`` for the whole call (connect,
    request, headers, body), ``max_body`` bytes at most."""

    connect_timeout: float = 2.0
    total_timeout: float = 5.0
    max_body: int = 64 * 1024


# ---------------------------------------------------------------------------- deadlines
_local = threading.local()


class DeadlineExceeded(TimeoutError):
    """A call ran past its deadline."""


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Every socket operation of this thread inside the block waits at most until
    ``seconds`` from now (None: no deadline). Nested deadlines keep the earlier one."""
    previous = getattr(_local, "deadline", None)
    if seconds is not None:
        mine = time.monotonic() + seconds
        _local.deadline = mine if previous is None else min(previous, mine)
    try:
        yield
    finally:
        _local.deadline = previous


def _wait(timeout: float | None) -> float | None:
    """How long the next socket operation may wait: ``timeout``, cut to the deadline."""
    until = getattr(_local, "deadline", None)
    if until is None:
        return timeout
    left = until - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded("the call ran past its deadline")
    return left if timeout is None else min(timeout, left)


class _GuardedStream(httpcore.NetworkStream):
    """A socket for httpcore whose every wait is cut to the thread's deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            self._sock.settimeout(_wait(timeout))
            return self._sock.recv(max_bytes)
        except (TimeoutError, DeadlineExceeded) as exc:
            raise httpcore.ReadTimeout(str(exc) or "read timed out") from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        view = memoryview(buffer)
        try:
            while view:
                self._sock.settimeout(_wait(timeout))
                view = view[self._sock.send(view) :]
        except (TimeoutError, DeadlineExceeded) as exc:
            raise httpcore.WriteTimeout(str(exc) or "write timed out") from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    def close(self) -> None:
        self._sock.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        try:
            self._sock.settimeout(_wait(timeout))
            return _GuardedStream(
                ssl_context.wrap_socket(self._sock, server_hostname=server_hostname)
            )
        except (TimeoutError, DeadlineExceeded) as exc:
            self.close()
            raise httpcore.ConnectTimeout(str(exc) or "TLS handshake timed out") from exc
        except OSError as exc:
            self.close()
            raise httpcore.ConnectError(str(exc)) from exc

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object" and isinstance(self._sock, ssl.SSLSocket):
            return self._sock._sslobj  # type: ignore[attr-defined]  # what httpcore expects
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "socket":
            return self._sock
        if info == "is_readable":
            return _readable(self._sock)
        return None


def _readable(sock: socket.socket) -> bool:
    """Whether a pooled connection has data (or EOF) waiting: then it is not reusable."""
    if sock.fileno() < 0:
        return True
    import select

    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


class _GuardedBackend(httpcore.NetworkBackend):
    """httpcore's connections, made by :func:`connect_checked` under a policy and deadline."""

    def __init__(self, policy: AddressPolicy | None) -> None:
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
            sock = connect_checked(host, port, self._policy, timeout)
        except HealthCheckRefusedError:
            raise
        except (TimeoutError, DeadlineExceeded) as exc:
            raise httpcore.ConnectTimeout(str(exc) or "connection timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        for option in socket_options or ():
            sock.setsockopt(*option)
        return _GuardedStream(sock)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:  # pragma: no cover - never asked for
        raise httpcore.ConnectError("unix sockets are not used")

    def sleep(self, seconds: float) -> None:  # pragma: no cover - retries are off
        time.sleep(seconds)


_HTTPCORE_TO_HTTPX: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.TimeoutException, httpx.TimeoutException),
)


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except httpcore.ConnectionNotAvailable as exc:  # pragma: no cover - pool exhaustion
        raise httpx.PoolTimeout(str(exc)) from exc
    except Exception as exc:
        for core_class, httpx_class in _HTTPCORE_TO_HTTPX:
            if isinstance(exc, core_class):
                raise httpx_class(str(exc)) from exc
        raise


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport over httpcore's connection pool whose connections come from
    :func:`connect_checked` (the policy, if any) and honour the thread's deadline."""

    def __init__(self, policy: AddressPolicy | None = None, *, verify: bool = True) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=tls_context(verify),
            max_connections=10,
            max_keepalive_connections=5,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(policy),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = self._pool.handle_request(core_request)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),  # type: ignore[arg-type]
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


# ---------------------------------------------------------------------------------- TLS
@functools.cache
def tls_context(verify: bool = True) -> ssl.SSLContext:
    """One TLS context per ``verify`` for the whole process: making one loads the CA store
    (~40-50 ms), and a federated search makes a client per store."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


# ------------------------------------------------------------------------------- errors
_ERROR_CLASSES = error_classes()


def _classes_by_status() -> dict[int, type[AssetStoreError]]:
    """For each status of the errors table, its most general class (the decoder's fallback
    when a server does not name the class); plus the statuses a proxy may answer with."""
    by_status: dict[int, type[AssetStoreError]] = {}
    for error_class in sorted(_ERROR_CLASSES.values(), key=lambda c: len(c.__mro__)):
        by_status.setdefault(error_class.http_status, error_class)
    del by_status[500]  # a bug or an integrity error: the generic class says it best
    by_status.update(
        {
            416: InvalidInputError,
            422: InvalidInputError,
            502: BackendUnavailableError,
            504: BackendUnavailableError,
        }
    )
    return by_status


_BY_STATUS = _classes_by_status()


def error_for(
    status: int,
    content: bytes,
    method: str,
    url: str,
    location: str | None,
    not_found: type[NotFoundError],
) -> AssetStoreError:
    """The exception an error answer (status and body) stands for: the class the server
    names in ``error_type``, else the one its status code implies."""
    try:
        body = orjson.loads(content)
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    message = body.get("error")
    if not isinstance(message, str) or not message:
        message = body.get("message")
    if not isinstance(message, str) or not message:
        message = f"HTTP {status} from {method} {url}"
    error_class = _ERROR_CLASSES.get(str(body.get("error_type")))
    if error_class is None or error_class is NotFoundError:
        if status == 404:
            error_class = not_found
        elif 300 <= status < 400:
            return AssetStoreError(
                f"{url} redirects to {location or '?'}; give the final URL "
                "(clients do not follow redirects)"
            )
        else:
            error_class = _BY_STATUS.get(status, AssetStoreError)
    if error_class is AssetStoreError and status >= 500:
        message = f"server error (HTTP {status}): {message}"
    return error_class(message)


# ------------------------------------------------------------------------------- client
@dataclass(frozen=True)
class Reply:
    """A whole answer, read within the call's deadline and size cap."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    url: str

    def json(self) -> Any:
        """The body as JSON (``ValueError`` if it is not)."""
        return orjson.loads(self.content)


class Connection:
    """The client of one base URL: every request of the HTTP client, a health check and a
    federated search go through one of these.

    ``timeout`` bounds each wait (connect, each read); ``total_timeout`` bounds a whole call
    of :meth:`send` (connect, request, headers and body). ``policy`` restricts where it may
    connect (None: anywhere, for a store the user named). ``max_body`` caps the answers it
    reads whole. ``token`` is sent as a bearer token if given; nothing is read from the
    environment here."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 60.0,
        total_timeout: float | None = None,
        policy: AddressPolicy | None = None,
        verify: bool = True,
        max_body: int | None = None,
        user_agent: str = "assetstore/1",
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInputError(f"{base_url!r} is not an http:// or https:// URL")
        self.base_url = base_url.rstrip("/")
        self._parts = urlsplit(self.base_url)
        # X-Requested-With: a write from this client is not a form a web page could send.
        headers = {
            "User-Agent": user_agent,
            "Accept": "application/json",
            "X-Requested-With": "assetstore",
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._headers = headers
        self._timeout = timeout
        self._total_timeout = total_timeout
        self._verify = verify
        self._max_body = max_body
        self._policy = policy
        proxied = policy is None and _proxied(self.base_url)
        # A proxy from the environment is honoured (through httpx's own transport) only for
        # a store the user named; calls under a policy never go through one: the proxy
        # would connect on our behalf, past the policy.
        self.direct_downloads = not proxied
        self.client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=None if proxied else GuardedTransport(policy, verify=verify),
            verify=tls_context(verify),
            follow_redirects=False,
            trust_env=proxied,
        )

    @property
    def capped(self) -> bool:
        """Whether answers are capped at ``max_body`` (a store someone registered): such a
        connection reads bounded answers only, never an open-ended stream."""
        return self._max_body is not None

    def request(self, method: str, path: str, *, truncate: bool = False, **kwargs: Any) -> Reply:
        """The whole answer, whatever its status, within ``total_timeout`` and
        ``max_body``; ``BackendUnavailableError`` if there is none in time, or if it is
        larger than ``max_body`` (with ``truncate``: its first ``max_body`` bytes)."""
        with deadline(self._total_timeout):
            try:
                request = self.client.build_request(method, path, **kwargs)
                response = self.client.send(request, stream=True)
            except httpx.TimeoutException as exc:
                raise BackendUnavailableError(
                    f"{self.base_url} did not answer {method} {path.split('?')[0]} in time"
                ) from exc
            except httpx.LocalProtocolError as exc:  # e.g. a source that changed size
                raise InvalidInputError(f"the request could not be sent: {exc}") from exc
            except httpx.TransportError as exc:
                raise BackendUnavailableError(f"cannot reach {self.base_url}: {exc}") from exc
            try:
                content = self._read_capped(response, truncate=truncate)
            finally:
                response.close()
        return Reply(response.status_code, response.headers, content, str(response.request.url))

    def send(
        self,
        method: str,
        path: str,
        *,
        not_found: type[NotFoundError] = NotFoundError,
        **kwargs: Any,
    ) -> Reply:
        """The whole answer if it is a 2xx, else the exception it stands for."""
        reply = self.request(method, path, **kwargs)
        if not 200 <= reply.status_code < 300:
            raise error_for(
                reply.status_code,
                reply.content,
                method,
                reply.url,
                reply.headers.get("location"),
                not_found,
            )
        return reply

    def _read_capped(self, response: httpx.Response, *, truncate: bool = False) -> bytes:
        declared = response.headers.get("content-length", "")
        limit = self._max_body
        if limit is not None and not truncate and declared.isdigit() and int(declared) > limit:
            raise BackendUnavailableError(
                f"{self.base_url} answered {declared} bytes, more than the {limit}-byte limit"
            )
        parts: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if limit is not None and size > limit:
                    if truncate:
                        parts.append(chunk[: len(chunk) - (size - limit)])
                        break
                    raise BackendUnavailableError(
                        f"{self.base_url} answered more than the {limit}-byte limit"
                    )
                parts.append(chunk)
        except httpx.TimeoutException as exc:
            raise BackendUnavailableError(f"{self.base_url} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise BackendUnavailableError(
                f"the answer of {self.base_url} broke off: {exc}"
            ) from exc
        return b"".join(parts)

    def json(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        what: str = "request body",
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Send JSON (``body``) and return the decoded success envelope."""
        if body is not None:
            kwargs["content"] = json_body(body, what)
            kwargs.setdefault("headers", {})["Content-Type"] = "application/json"
        return envelope(self.send(method, path, **kwargs))

    def download(
        self, path: str, headers: Mapping[str, str], *, not_found: type[NotFoundError]
    ) -> tuple[int, Any]:
        """GET a body to stream: ``(status, file object)`` for a 2xx answer, else the
        matching exception. The file object has ``readinto`` and ``close``. Each wait is
        bounded by ``timeout``; the whole transfer is not (a large file takes its time)."""
        if self.direct_downloads:
            return DirectDownload(self).open(path, headers, not_found=not_found)
        try:
            request = self.client.build_request("GET", path, headers=dict(headers))
            response = self.client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise BackendUnavailableError(f"{self.base_url} did not answer in time") from exc
        except httpx.TransportError as exc:
            raise BackendUnavailableError(f"cannot reach {self.base_url}: {exc}") from exc
        if response.is_success:
            return response.status_code, HttpxBody(response)
        try:
            content = self._read_capped(response)
        finally:
            response.close()
        raise error_for(
            response.status_code,
            content,
            "GET",
            str(response.request.url),
            response.headers.get("location"),
            not_found,
        )

    def close(self) -> None:
        self.client.close()


class DirectDownload:
    """A download over the standard library's HTTP client, used when no proxy stands
    between: it reads straight into the caller's buffer, which measured 1.5-1.8x httpx's
    download rate on loopback (1 GiB, ``benchmarks`` transfers section). Connections go
    through :func:`connect_checked` like every other call."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def open(
        self, path: str, headers: Mapping[str, str], *, not_found: type[NotFoundError]
    ) -> tuple[int, Any]:
        owner = self._connection
        parts = owner._parts
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = parts.hostname or ""
        conn = (
            http.client.HTTPSConnection(
                host, port, timeout=owner._timeout, context=tls_context(owner._verify)
            )
            if parts.scheme == "https"
            else http.client.HTTPConnection(host, port, timeout=owner._timeout)
        )
        try:
            sock = connect_checked(host, port, owner._policy, min(owner._timeout, 10.0))
            sock.settimeout(owner._timeout)
            if parts.scheme == "https":
                sock = tls_context(owner._verify).wrap_socket(sock, server_hostname=host)
            conn.sock = sock
            conn.request(
                "GET", f"{parts.path.rstrip('/')}{path}", headers={**owner._headers, **headers}
            )
            response = conn.getresponse()
        except HealthCheckRefusedError:
            conn.close()
            raise
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise BackendUnavailableError(f"cannot reach {owner.base_url}: {exc}") from exc
        if 200 <= response.status < 300:
            return response.status, response
        try:
            content = response.read(1 << 20)
        except (OSError, http.client.HTTPException):
            content = b""
        finally:
            conn.close()
        raise error_for(
            response.status,
            content,
            "GET",
            f"{owner.base_url}{path}",
            response.getheader("location"),
            not_found,
        )


class HttpxBody:
    """A streamed httpx response as a file object (``readinto``, ``close``)."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._pieces = response.iter_raw()
        self._piece = memoryview(b"")

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            if not self._piece:
                self._piece = memoryview(next(self._pieces, b""))
                if not self._piece:
                    break
            count = min(len(view) - filled, len(self._piece))
            view[filled : filled + count] = self._piece[:count]
            self._piece = self._piece[count:]
            filled += count
        return filled

    def close(self) -> None:
        self._response.close()


def _proxied(base_url: str) -> bool:
    """Whether the environment routes ``base_url`` through a proxy (httpx honours that)."""
    parts = urlsplit(base_url)
    return bool(urllib.request.getproxies().get(parts.scheme)) and not urllib.request.proxy_bypass(
        parts.hostname or ""
    )


def json_body(value: Any, what: str) -> bytes:
    """``value`` as a JSON request body; ``InvalidInputError`` naming ``what`` if it is not
    JSON-serializable."""
    try:
        return orjson.dumps(value)
    except TypeError as exc:
        raise InvalidInputError(f"{what} is not JSON-serializable: {exc}") from exc


def envelope(reply: Reply) -> dict[str, Any]:
    """The decoded success envelope ``{"success": true, ...}`` of an assetstore service."""
    try:
        body = reply.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("success") is not True:
        raise AssetStoreError(
            f"{reply.url} did not answer like an assetstore service (HTTP {reply.status_code})"
        )
    return body


__all__ = [
    "AddressPolicy",
    "CallLimits",
    "Connection",
    "DeadlineExceeded",
    "DirectDownload",
    "GuardedTransport",
    "Reply",
    "connect_checked",
    "deadline",
    "embedded_ipv4",
    "envelope",
    "error_for",
    "is_public",
    "json_body",
    "redact_addresses",
    "tls_context",
]
