"""The client's HTTP plumbing: one connection to a served store or registry, request
bodies, the service's envelopes, and its errors turned back into assetstore's exceptions.

The server names the exception class in ``error_type``; the status code is the fallback, so
``except AssetNotFoundError`` works the same against a local or a remote store. An
unreachable server is a :class:`BackendUnavailableError`.
"""

from __future__ import annotations

import http.client
import os
import ssl
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import orjson

from assetstore.errors import (
    AssetStoreError,
    AuthenticationError,
    BackendUnavailableError,
    InvalidInputError,
    InvalidQueryError,
    NotFoundError,
    error_classes,
)
from assetstore.models import Filter, Sort
from assetstore.query import compile_sort

#: Seconds to wait to connect, and between bytes of an answer.
DEFAULT_TIMEOUT = 60.0
TOKEN_ENV = "ASSETSTORE_TOKEN"

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
            403: AuthenticationError,
            416: InvalidInputError,
            422: InvalidInputError,
            502: BackendUnavailableError,
            504: BackendUnavailableError,
        }
    )
    return by_status


_BY_STATUS = _classes_by_status()


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


def if_match(expected_revision: int | None) -> dict[str, str]:
    """The ``If-Match`` header naming ``expected_revision`` (none for None)."""
    return {} if expected_revision is None else {"If-Match": f'"{expected_revision}"'}


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
        self._headers = headers
        self._timeout = timeout
        self._verify = verify
        self._parts = urlsplit(self.base_url)
        self._tls: ssl.SSLContext | None = None  # made on the first https download
        # Bodies are streamed over the standard library's HTTP client where nothing stands in
        # between (it reads into the caller's buffer: 1.5-1.8x httpx's download rate here);
        # a custom transport (the address policy) or a proxy keeps them on httpx.
        self._direct = transport is None and not _proxied(self.base_url)
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

    def download(
        self, path: str, headers: Mapping[str, str], *, not_found: type[NotFoundError]
    ) -> tuple[int, Any]:
        """GET a body to stream: ``(status, file object)`` for a 2xx answer, else the
        matching exception. The file object has ``readinto`` and ``close``."""
        if not self._direct:
            response = self.send(
                "GET", path, headers=dict(headers), stream=True, not_found=not_found
            )
            return response.status_code, HttpxBody(response)
        parts = self._parts
        if parts.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=self._timeout, context=self._tls_context()
            )
        else:
            connection = http.client.HTTPConnection(
                parts.hostname or "", parts.port, timeout=self._timeout
            )
        url = f"{self.base_url}{path}"
        try:
            connection.request(
                "GET", f"{parts.path.rstrip('/')}{path}", headers={**self._headers, **headers}
            )
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise BackendUnavailableError(f"cannot reach {self.base_url}: {exc}") from exc
        if 200 <= response.status < 300:
            return response.status, response
        try:
            content = response.read(1 << 20)
        except (OSError, http.client.HTTPException):
            content = b""
        finally:
            connection.close()
        raise error_for(
            response.status, content, "GET", url, response.getheader("location"), not_found
        )

    def _tls_context(self) -> ssl.SSLContext:
        """One TLS context for every download (making one loads the CA store: ~50 ms)."""
        if self._tls is None:
            context = ssl.create_default_context()
            if not self._verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._tls = context
        return self._tls

    def json(
        self, method: str, path: str, *, body: Any = None, what: str = "request body", **kwargs: Any
    ) -> dict[str, Any]:
        """Send JSON (``body``), return the decoded success envelope."""
        if body is not None:
            kwargs["content"] = json_body(body, what)
            kwargs.setdefault("headers", {})["Content-Type"] = "application/json"
        return envelope(self.send(method, path, **kwargs))

    def close(self) -> None:
        self.client.close()


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
    """The exception an error answer stands for."""
    return error_for(
        response.status_code,
        response.content,
        response.request.method,
        str(response.request.url),
        response.headers.get("location"),
        not_found,
    )


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
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
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
        page = connection.json(
            "POST", path, content=body, params=query, headers={"Content-Type": "application/json"}
        )
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
