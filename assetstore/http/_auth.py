"""The optional bearer token: required for writes, and for reads when configured.

The token is compared in constant time and never logged or echoed."""

from __future__ import annotations

import hmac

from fastapi import Request

from assetstore.errors import AuthenticationError
from assetstore.settings import ServiceSettings


def check_token(settings: ServiceSettings, authorization: str | None) -> None:
    """Raise :class:`AuthenticationError` unless ``authorization`` carries the token (or no
    token is configured)."""
    if settings.token is None:
        return
    scheme, _, given = (authorization or "").partition(" ")
    expected = settings.token.get_secret_value().encode()
    # Only the blanks of HTTP (RFC 6750: "Bearer" 1*SP token) separate scheme and token:
    # str.strip() would also drop "\xa0", "\x85"... and accept a token that differs.
    given = given.strip(" \t")
    if scheme.lower() != "bearer" or not given:
        raise AuthenticationError("this endpoint needs an 'Authorization: Bearer <token>' header")
    if not hmac.compare_digest(given.encode(), expected):
        raise AuthenticationError("wrong bearer token")


def require_write(request: Request) -> None:
    """Dependency of every endpoint that changes something."""
    check_token(request.app.state.settings, request.headers.get("authorization"))


def require_read(request: Request) -> None:
    """Dependency of every read endpoint: open unless ``auth_reads`` is set."""
    settings: ServiceSettings = request.app.state.settings
    if settings.auth_reads:
        check_token(settings, request.headers.get("authorization"))
