"""Requests a web page could make the operator's browser send, refused before any route runs.

The default server listens on 127.0.0.1 with no token: anyone who can make the operator's
browser send a request can reach it. Two ways, two checks (ASGI middleware, so no route can
forget them):

* **DNS rebinding**: a page on ``evil.example`` points that name at 127.0.0.1 and reads the
  answers as same-origin. Its requests carry ``Host: evil.example``: the service answers
  only to the ``Host`` names it is known by (:func:`host_allowed`): ``localhost``, loopback
  and the address the request came in on (an address literal cannot be rebound), the
  public URL's host and ``allowed_hosts``. Anything else is a 403 before any route runs.
* **Cross-site writes**: a page may send a POST anywhere without asking (a form, or
  ``fetch`` with a "simple" content type), and browsers always label it with the page's
  ``Origin``. A request that is not GET/HEAD/OPTIONS from a foreign ``Origin`` (not this
  service's own, not one of ``cors_origins``; ``null`` included) or marked
  ``Sec-Fetch-Site: cross-site``/``same-site`` is refused. A write must also not be a
  simple form unless it carries a token: see :func:`assetstore.http._auth.refuse_bare_form`.

Requests without ``Origin`` (curl, scripts, the Python client) are not from a browser page
and pass, so the specification's cURL commands work unchanged.

Framing: a request with both ``Content-Length`` and ``Transfer-Encoding`` is refused and the
connection closed (RFC 9112 §6.1); :mod:`assetstore.http._strict_http` also refuses such
heads, obsolete line folding and bare LF line endings at the protocol level.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from assetstore.errors import AssetStoreError, CrossSiteRequestError, InvalidInputError
from assetstore.http._errors import response_for
from assetstore.settings import ServiceSettings

#: Methods a browser page may not send cross-site without a CORS preflight... except POST;
#: these three change nothing here, so they are never checked for their origin.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_HOST_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_:")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def split_host(value: str) -> tuple[str, int | None] | None:
    """``(host, port)`` of a ``Host`` header (lower case, no brackets, no final dot), None
    if it is not one."""
    text = value.strip(" \t").lower()
    if len(text) > 300:
        return None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        host, rest = text[1:end], text[end + 1 :]
    else:
        host, colon, after = text.partition(":")
        rest = colon + after
    if rest and not (
        rest[0] == ":" and ((rest[1:].isascii() and rest[1:].isdigit()) or not rest[1:])
    ):
        return None
    host = host.rstrip(".")
    if not host or not set(host) <= _HOST_CHARACTERS:
        return None
    return host, int(rest[1:]) if len(rest) > 1 else None


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def host_allowed(host: str, scope: Scope, settings: ServiceSettings) -> bool:
    """Whether the service answers to ``host`` (from :func:`split_host`)."""
    allowed = settings.allowed_hosts
    if "*" in allowed or host == "localhost":
        return True
    server = scope.get("server")
    local = str(server[0]).lower() if server else None
    address = _address(host)
    if address is not None:
        if address.is_loopback:
            return True
        if local is not None and _address(local) == address:
            return True  # the address the request came in on: a literal cannot be rebound
    elif host == local:
        return True  # a server (or test client) that calls itself by name
    if settings.public_url and host == (urlsplit(settings.public_url).hostname or "").lower():
        return True
    for name in allowed:
        if host == name or (name.startswith(".") and (host.endswith(name) or host == name[1:])):
            return True
        if address is not None and _address(name) == address:
            return True
    return False


def _origin(scheme: str, host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{shown}"
    return f"{scheme}://{shown}:{port}"


def _normalized_origin(value: str) -> str | None:
    try:
        parts = urlsplit(value.strip(" \t"))
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return _origin(parts.scheme, parts.hostname.lower().rstrip("."), port)


def trusted_origins(
    scheme: str, host: tuple[str, int | None] | None, settings: ServiceSettings
) -> set[str]:
    """The origins whose pages may write: this service's own (as the request names it and
    as ``public_url`` does) and the configured CORS origins."""
    origins = {o for o in (_normalized_origin(c) for c in settings.cors_origins) if o}
    if host is not None:
        origins.add(_origin(scheme, *host))
    if settings.public_url:
        own = _normalized_origin(settings.public_url)
        if own:
            origins.add(own)
    return origins


def check_request(scope: Scope, settings: ServiceSettings) -> None:
    """Raise for a request a web page may have made the browser send (see the module
    docstring); return for any other."""
    headers = Headers(scope=scope)
    if "content-length" in headers and "transfer-encoding" in headers:
        raise InvalidInputError(
            "a request with both Content-Length and Transfer-Encoding is ambiguous; send one"
        )
    raw_host = headers.get("host")
    host = split_host(raw_host) if raw_host is not None else None
    if raw_host is not None and (host is None or not host_allowed(host[0], scope, settings)):
        raise CrossSiteRequestError(
            f"this service does not answer to the host {raw_host[:100]!r}; if it is reached "
            "by that name, add it to ASSETSTORE_ALLOWED_HOSTS (or set the public URL)"
        )
    if scope["method"] in SAFE_METHODS:
        return
    origin = headers.get("origin")
    if origin is not None:
        normalized = _normalized_origin(origin)
        if normalized is None or normalized not in trusted_origins(
            scope.get("scheme", "http"), host, settings
        ):
            raise CrossSiteRequestError(
                f"a {scope['method']} from the web page at {origin[:100]!r} is refused: this "
                "service takes changes only from its own pages and the configured CORS origins"
            )
        return
    if headers.get("sec-fetch-site", "").strip().lower() in ("cross-site", "same-site"):
        raise CrossSiteRequestError(
            f"a {scope['method']} sent by a page of another site is refused"
        )


class RequestGuard:
    """ASGI middleware applying :func:`check_request` with the app's current settings."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings: ServiceSettings = scope["app"].state.settings
        try:
            check_request(scope, settings)
        except AssetStoreError as exc:
            response = response_for(exc)
            response.headers["Connection"] = "close"  # the body, if any, is not read
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


__all__ = ["RequestGuard", "check_request", "host_allowed", "split_host", "trusted_origins"]
