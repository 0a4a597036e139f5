"""The optional bearer token: required for writes, and for reads when configured; and the
rule that keeps a write from being a form any web page could send.

The token is compared in constant time and never logged or echoed."""

from __future__ import annotations

import hmac

from fastapi import Request

from assetstore.errors import AuthenticationError, CrossSiteRequestError
from assetstore.settings import ServiceSettings

#: Content types a web page may POST to any site without asking first (CORS "simple"
#: requests), "" for none at all.
SIMPLE_CONTENT_TYPES = frozenset(
    {"", "application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)
#: The one write that is a form by specification (its cURL command is a plain multipart
#: POST): the guard has already refused it if it came from a foreign page.
FORM_CONTENT_TYPE = "multipart/form-data"


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


def refuse_bare_form(request: Request) -> None:
    """Raise :class:`CrossSiteRequestError` for a write that any web page could have sent
    without the browser asking first: a POST with no token, no ``X-Requested-With`` and a
    "simple" content type (``text/plain`` JSON, a urlencoded form, none at all). Such
    requests are how cross-site writes are made; real clients say what they send
    (``Content-Type: application/json``) or carry a token. The multipart upload form is the
    exception the specification needs; :mod:`assetstore.http._guard` refuses it (and every
    other write) when a browser says it comes from a foreign page."""
    if request.method != "POST":
        return  # PUT, DELETE...: a browser asks first (CORS preflight), and we do not agree
    headers = request.headers
    if "authorization" in headers or "x-requested-with" in headers:
        return
    media_type = headers.get("content-type", "").split(";", 1)[0].strip(" \t").lower()
    if media_type not in SIMPLE_CONTENT_TYPES or media_type == FORM_CONTENT_TYPE:
        return
    raise CrossSiteRequestError(
        "a write without a token must say what it sends: use Content-Type: application/json "
        "(or an X-Requested-With header); a web page can send a plain form to this service "
        "without asking"
    )


def require_write(request: Request) -> None:
    """Dependency of every endpoint that changes something."""
    check_token(request.app.state.settings, request.headers.get("authorization"))
    refuse_bare_form(request)


def require_upload_write(request: Request) -> None:
    """Dependency of the upload, a form by specification: the token only (it answers 422 to
    anything but the multipart form, which :func:`refuse_bare_form` lets through anyway)."""
    check_token(request.app.state.settings, request.headers.get("authorization"))


def require_read(request: Request) -> None:
    """Dependency of every read endpoint: open unless ``auth_reads`` is set."""
    settings: ServiceSettings = request.app.state.settings
    if settings.auth_reads:
        check_token(settings, request.headers.get("authorization"))
