"""The HTTP client's requests to an assetstore service: paths, conditional headers, sort
parameters and paging. The connection itself (deadlines, TLS, error decoding) is
:class:`assetstore._outbound.Connection`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from assetstore._outbound import Connection, json_body
from assetstore._sorting import compile_sort
from assetstore.errors import InvalidQueryError
from assetstore.models import Filter, Sort

#: Seconds to wait to connect, and between bytes of an answer.
DEFAULT_TIMEOUT = 60.0


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
