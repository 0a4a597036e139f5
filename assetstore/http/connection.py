"""The client's HTTP plumbing: one connection to a served store or registry, request
bodies, the service's envelopes, and its errors turned back into assetstore's exceptions.

The server names the exception class in ``error_type``; the status code is the fallback, so
``except AssetNotFoundError`` works the same against a local or a remote store. An
unreachable server is a :class:`BackendUnavailableError`.
"""


from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from assetstore import errors as _errors
from assetstore.errors import (
    AssetStoreError,
    AuthenticationError,
    BackendUnavailableError,
    InvalidInputError,
    InvalidQueryError,
    NotFoundError,
    PayloadTooLargeError,
    RevisionMismatchError,
)
from assetstore.interfaces import Filter, Sort
from assetstore.query import compile_sort

#: Seconds to wait to connect, and between bytes of an answer.
DEFAULT_TIMEOUT = 60.0
TOKEN_ENV = "ASSETSTORE_TOKEN"

_ERROR_CLASSES: dict[str, type[AssetStoreError]] = {
    name: value
    for name, value in vars(_errors).items()
    if isinstance(value, type) and issubclass(value, AssetStoreError)
}
_BY_STATUS: dict[int, type[AssetStoreError]] = {
    400: InvalidInputError,
    401: AuthenticationError,
    403: AuthenticationError,
    409: _errors.AlreadyExistsError,
    412: RevisionMismatchError,
    413: PayloadTooLargeError,
    416: InvalidInputError,
    422: InvalidInputError,
    502: BackendUnavailableError,
    503: BackendUnavailableError,
    504: BackendUnavailableError,
}


def url_path(value: str) -> str:
    """``value`` for a URL path: ``/`` and ``:`` kept (the spec's URIs read as they are),
    everything else that could be misread percent-encoded, dot segments included."""
    return "/".join(
        seg.replace(".", "%2E") if seg in (".", "..") else quote(seg, safe=":@!$&'()*+,;=")
        for seg in value.split("/")
    )


def url_segment(value: str) -> str:
    """``value`` as one URL path segment."""
    return quote(value, safe="") if value not in (".", "..") else value.replace(".", "%2E")


def json_body(value: Any, what: str) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError as exc:
        raise InvalidInputError(f"{what} is not JSON-serializable: {exc}") from None


def sort_param(sort: Sort | None) -> str | None:
    if sort is None:
        return None
    compile_sort(sort)  # InvalidQueryError for a malformed sort, as a local store raises
    items = sort.items() if isinstance(sort, Mapping) else sort
    parts = []
    for field, direction in items:
        if "," in field:
            raise InvalidQueryError(f"sort field {field!r} contains ',' (not expressible)")
        parts.append(f"{field}:{'desc' if direction == -1 else 'asc'}")
    return ",".join(parts) or None


class Connection:
    """One httpx client, the token, and the mapping of answers back to exceptions."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
        verify: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"User-Agent": "assetstore-client/1", "Accept": "application/json"}
        token = token if token is not None else os.environ.get(TOKEN_ENV) or None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            verify=verify,
            follow_redirects=False,
            trust_env=transport is None,
        )

    def send(
        self,
        method: str,
        path: str,
        *,
        not_found: type[NotFoundError] = NotFoundError,
        stream: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """The response (2xx only); anything else raised as the matching exception."""
        try:
            request = self.client.build_request(method, path, **kwargs)
            response = self.client.send(request, stream=stream)
        except httpx.TimeoutException as exc:
            raise BackendUnavailableError(
                f"{self.base_url} did not answer {method} {path.split('?')[0]} in time"
            ) from exc
        except httpx.TransportError as exc:
            raise BackendUnavailableError(f"cannot reach {self.base_url}: {exc}") from exc
        if response.is_success:
            return response
        if stream:
            response.read()
            response.close()
        raise error_from(response, not_found)

    def json(self, method: str, path: str, *, body: Any = None, what: str = "request body",
             **kwargs: Any) -> dict[str, Any]:
        """Send JSON (``body``), return the decoded success envelope."""
        if body is not None:
            kwargs["content"] = json_body(body, what)
            kwargs.setdefault("headers", {})["Content-Type"] = "application/json"
        return envelope(self.send(method, path, **kwargs))

    def close(self) -> None:
        self.client.close()


def envelope(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("success") is not True:
        raise AssetStoreError(
            f"{response.request.url} did not answer like an assetstore service "
            f"(HTTP {response.status_code})"
        )
    return body


def error_from(response: httpx.Response, not_found: type[NotFoundError]) -> AssetStoreError:
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    status = response.status_code
    message = body.get("error")
    if not isinstance(message, str) or not message:
        message = f"HTTP {status} from {response.request.method} {response.request.url}"
    error_class = _ERROR_CLASSES.get(str(body.get("error_type")))
    if error_class is None or error_class is NotFoundError:
        if status == 404:
            error_class = not_found
        elif 300 <= status < 400:
            location = response.headers.get("location", "?")
            return AssetStoreError(
                f"{response.request.url} redirects to {location}; give the final URL "
                "(clients do not follow redirects)"
            )
        else:
            error_class = _BY_STATUS.get(status, AssetStoreError)
    if error_class is AssetStoreError and status >= 500:
        message = f"server error (HTTP {status}): {message}"
    return error_class(message)


def pages(
    connection: Connection,
    path: str,
    filter: Filter | None,
    *,
    sort: Sort | None,
    skip: int,
    limit: int | None,
    params: Mapping[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every result of a paged query, fetching pages until ``limit`` or the end; ``params``
    are sent with every page."""
    for name, value in (("skip", skip), ("limit", limit)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 0):
            raise InvalidQueryError(f"{name} must be a non-negative integer, got {value!r}")
    body = json_body({} if filter is None else filter, "the filter")
    sort_text = sort_param(sort)
    wanted = limit or None  # as in MongoDB, limit 0 means no limit
    position = skip
    while True:
        query: dict[str, Any] = {**(params or {}), "skip": position}
        if wanted is not None:
            query["limit"] = wanted
        if sort_text:
            query["sort"] = sort_text
        page = connection.json("POST", path, content=body, params=query,
                               headers={"Content-Type": "application/json"})
        items = page.get("data") or []
        yield from items
        if wanted is not None:
            wanted -= len(items)
            if wanted <= 0:
                return
        next_skip = page.get("next_skip")
        if next_skip is None or not items:
            return
        position = int(next_skip)


