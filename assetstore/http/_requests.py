"""The HTTP client's requests to an assetstore service: paths, conditional headers, sort
parameters and paging. The connection itself (deadlines, TLS, error decoding) is
:class:`assetstore._outbound.Connection`."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

from assetstore._outbound import Connection, json_body
from assetstore._sorting import compile_sort
from assetstore.errors import InvalidQueryError, TooManyResultsError
from assetstore.models import Filter, Sort

#: Seconds to wait to connect, and between bytes of an answer.
DEFAULT_TIMEOUT = 60.0
#: Results asked for in one page of a query (fewer if the service caps its answers).
PAGE_SIZE = 1000


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


class PageSize:
    """The page size a client asks for: :data:`PAGE_SIZE`, or the service's
    ``max_results`` once the service has refused a page as too large."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.value = PAGE_SIZE

    def shrink(self) -> bool:
        """Read the service's cap (``/health``); True if pages must be smaller."""
        data = self._connection.json("GET", "/health").get("data") or {}
        cap = (data.get("limits") or {}).get("max_results")
        if isinstance(cap, int) and not isinstance(cap, bool) and 0 < cap < self.value:
            self.value = cap
            return True
        return False


def pages(
    connection: Connection,
    path: str,
    filter: Filter | None,
    *,
    sort: Sort | None,
    skip: int,
    limit: int | None,
    identity: Callable[[dict[str, Any]], Hashable],
    page_size: PageSize,
    params: Mapping[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every result of a query, page by page, until ``limit`` or the end.

    Pages continue from the service's ``next_cursor`` (keyset paging: results that do not
    change meanwhile come exactly once, whatever is deleted or uploaded between pages); a
    record whose sort values change between pages may be met twice, and only its first
    copy is yielded (``identity`` names it). ``page_size`` is the size asked for;
    ``params`` are sent with every page. A service older than cursors is paged by offset."""
    for name, value in (("skip", skip), ("limit", limit)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise InvalidQueryError(f"{name} must be a non-negative integer, got {value!r}")
    body = json_body({} if filter is None else filter, "the filter")
    sort_text = sort_param(sort)
    wanted = limit or None  # as in MongoDB, limit 0 means no limit
    seen: set[Hashable] = set()
    where: dict[str, Any] = {"skip": skip} if skip else {}
    while True:
        size = page_size.value
        query: dict[str, Any] = {**(params or {}), **where, "limit": min(size, wanted or size)}
        if sort_text:
            query["sort"] = sort_text
        try:
            page = connection.json(
                "POST",
                path,
                content=body,
                params=query,
                headers={"Content-Type": "application/json"},
            )
        except TooManyResultsError:
            if page_size.shrink():
                continue  # the same page again, within the service's cap
            raise
        items = page.get("data") or []
        for item in items:
            key = identity(item)
            if key in seen:
                continue
            seen.add(key)
            yield item
            if wanted is not None:
                wanted -= 1
                if not wanted:
                    return
        if "next_cursor" in page:
            cursor = page["next_cursor"]
            where = {"cursor": cursor}
        else:  # a service without cursors
            cursor = page.get("next_skip")
            where = {"skip": cursor}
        if cursor is None or not items:
            return
