"""The answers of the query endpoints (``POST /assets``, ``POST /asset_registries``):
every match, streamed, or one page, continued with a cursor. Never a silent truncation.

* Without ``limit`` the answer holds every match. It is streamed: results are read from the
  store one at a time and sent in chunks, so the service's memory does not grow with the
  number of results.
* With ``limit`` the answer is one page; ``next_cursor`` continues it (keyset paging, see
  :mod:`assetstore.http._cursors`): every result that does not change while a client pages
  is sent exactly once, whatever else is deleted or uploaded meanwhile. ``skip`` (offset
  paging) keeps working, and ``next_skip`` with it, with offset paging's weakness under
  churn.
* ``max_results``, when the operator sets one, is a hard cap: a request that asks for more
  (a larger ``limit``, or no ``limit`` with more matches) gets a :class:`TooManyResultsError`
  (400) that says how to page; nothing is cut off silently.
* Errors found before the first byte is sent (a bad filter, sort or cursor) are ordinary
  error answers. An error while streaming cuts the connection before the closing bracket,
  so no client can take a partial answer for a whole one.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final

import anyio
import orjson
from fastapi import Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from assetstore.errors import InvalidQueryError, TooManyResultsError
from assetstore.http._cursors import (
    After,
    SortSpec,
    decode_cursor,
    encode_cursor,
    fingerprint,
    paging_sort,
    position_of,
    pushdown_filter,
)
from assetstore.http._downloads import _wait_for_disconnect
from assetstore.models import Filter

logger = logging.getLogger("assetstore.http")

#: The largest ``skip`` and ``limit``.
MAX_SKIP: Final = 1 << 31
#: Bytes of results gathered before they are sent.
CHUNK: Final = 64 * 1024


class Paging(BaseModel):
    """``?skip=&limit=&sort=&cursor=`` of a query endpoint."""

    skip: int = 0
    limit: int | None = None
    sort: list[tuple[str, int]] | None = None
    cursor: str | None = None


def parse_sort(text: str | None) -> list[tuple[str, int]] | None:
    """``field``, ``field:asc`` or ``field:desc``, comma-separated (as the CLI's ``--sort``)."""
    if text is None or not text.strip():
        return None
    result = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        field, colon, direction = part.rpartition(":")
        if not colon:
            field, direction = part, "asc"
        if direction.lower() not in ("asc", "desc", "1", "-1"):
            raise InvalidQueryError(
                f"sort {part!r}: the direction must be asc or desc (e.g. asset_name:desc)"
            )
        result.append((field, -1 if direction.lower() in ("desc", "-1") else 1))
    return result or None


def paging(
    skip: Annotated[
        int, Query(ge=0, le=MAX_SKIP, description="results to skip (after the cursor, if any)")
    ] = 0,
    limit: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_SKIP,
            description="at most this many results (a page; continue with next_cursor); "
            "absent: every match; 0: only the total",
        ),
    ] = None,
    sort: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="comma-separated fields, each optionally :asc or "
            ":desc, e.g. asset_name,asset_version.version:desc",
        ),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            max_length=12_000,
            description="next_cursor of the previous page: continue after its last result "
            "(send the same filter and sort)",
        ),
    ] = None,
) -> Paging:
    """Dependency: the paging parameters."""
    return Paging(skip=skip, limit=limit, sort=parse_sort(sort), cursor=cursor or None)


@dataclass(frozen=True)
class Collection:
    """What a query endpoint pages through."""

    #: Fields that together identify a record: the last fields of every paged order.
    unique_key: tuple[str, ...]
    #: The records matching a filter, in a sort order (the filter checked at once).
    items: Callable[[Filter, SortSpec], Iterator[Any]]
    #: How many records match a filter.
    count: Callable[[Filter], int]
    #: A record as stored (its sort values).
    document: Callable[[Any], Mapping[str, Any]]
    #: A record as the client sees it.
    present: Callable[[Any], Any]
    #: What else the results depend on (``all_stores``): part of a cursor's identity.
    scope: Mapping[str, Any]


def too_many(cap: int, asked: str) -> TooManyResultsError:
    return TooManyResultsError(
        f"{asked}, more than this server's limit of {cap} results per answer (max_results); "
        f"ask for pages: ?limit={cap}, then ?cursor=<next_cursor of each answer> with the same "
        "filter and sort until next_cursor is null (the Python client pages for you)"
    )


class _Page:
    """The results of one answer, with what the trailer needs: how many, the last one, and
    whether more follow."""

    def __init__(self, items: Iterator[Any], limit: int | None) -> None:
        self._items = items
        self._limit = limit
        self.count = 0
        self.last: Any = None
        self.more = False

    def __iter__(self) -> Iterator[Any]:
        for item in self._items:
            if self._limit is not None and self.count >= self._limit:
                self.more = True
                return
            self.count += 1
            self.last = item
            yield item


def _chunks(
    page: _Page, collection: Collection, trailer: Callable[[_Page], bytes]
) -> Generator[bytes, None, None]:
    buffer = bytearray(b'{"success":true,"data":[')
    for item in page:
        if page.count > 1:
            buffer += b","
        buffer += orjson.dumps(collection.present(item))
        if len(buffer) >= CHUNK:
            yield bytes(buffer)
            buffer.clear()
    buffer += b"],"
    buffer += trailer(page)[1:]  # the trailer object without its opening brace
    yield bytes(buffer)


def _start(
    collection: Collection, filter: Filter, paged: Paging, cap: int | None
) -> Generator[bytes, None, None]:
    """The answer's chunks, once the request is checked and the results found."""
    if cap is not None and paged.limit is not None and paged.limit > cap:
        raise too_many(cap, f"limit={paged.limit} asks for up to {paged.limit} results")
    sort = paging_sort(paged.sort, collection.unique_key)
    position = None
    if paged.cursor is not None:
        position = decode_cursor(paged.cursor, fingerprint(filter, sort, collection.scope))
    if paged.limit == 0:
        total = collection.count(filter)
        only_total = {"success": True, "data": [], "count": 0, "total": total, "skip": paged.skip}
        ends = {"limit": 0, "next_skip": None, "next_cursor": None}
        return (chunk for chunk in [orjson.dumps({**only_total, **ends})])
    where, after = filter, None
    if position is not None:
        bound = pushdown_filter(sort, position)
        if bound is None:
            after = After(sort, position)
        else:
            where = {"$and": [filter, bound]} if filter else bound
    items = collection.items(where, sort)
    if after is not None:
        items = itertools.dropwhile(lambda item: not after(collection.document(item)), items)
    items = itertools.islice(items, paged.skip, None)
    limit = paged.limit
    if cap is not None and limit is None:
        head = list(itertools.islice(items, cap + 1))  # at most the operator's cap in memory
        if len(head) > cap:
            raise too_many(cap, "this query matches more results")
        items = iter(head)
    else:
        head = list(itertools.islice(items, 1))  # the first read reports a backend's errors
        items = itertools.chain(head, items)

    def trailer(page: _Page) -> bytes:
        next_cursor = None
        if page.more:
            next_cursor = encode_cursor(
                position_of(collection.document(page.last), sort),
                fingerprint(filter, sort, collection.scope),  # the filter ran: it is valid
            )
        end = paged.skip + page.count
        if position is None and not page.more and (page.count or not paged.skip):
            total = end  # the last page, read from the start: no need to count
        else:
            total = collection.count(filter)
        return orjson.dumps(
            {
                "count": page.count,
                "total": total,
                "skip": paged.skip,
                "limit": limit,
                "next_skip": end if page.more and position is None else None,
                "next_cursor": next_cursor,
            }
        )

    return _chunks(_Page(items, limit), collection, trailer)


async def query_answer(
    request: Request, collection: Collection, filter: Filter, paged: Paging
) -> Response:
    """The answer to a query, made in worker threads. An answer that fits in its first
    chunk is an ordinary response (with its length, and any error an error answer); a
    longer one is streamed as it is made."""
    cap = request.app.state.settings.max_results
    chunks = await run_in_threadpool(_start, collection, filter, paged, cap)
    first = await run_in_threadpool(next, chunks, b"")
    second = await run_in_threadpool(next, chunks, None)
    if second is None:
        return Response(first, media_type="application/json")
    return StreamedJSON(itertools.chain([first, second], chunks), close=chunks.close)


class StreamedJSON(Response):
    """A JSON answer sent as ``chunks`` are made (in worker threads). If making them fails,
    the answer is left incomplete, which makes the server close the connection: a client
    sees a broken answer, never a short one that parses."""

    media_type = "application/json"

    def __init__(self, chunks: Iterator[bytes], *, close: Callable[[], None]) -> None:
        self.chunks = chunks
        self._close = close
        self.status_code = 200
        self.background = None
        self.init_headers({})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async with anyio.create_task_group() as group:

                async def stream() -> None:
                    await self._stream(send)
                    group.cancel_scope.cancel()

                group.start_soon(stream)
                await _wait_for_disconnect(receive)
                group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(self._close)

    async def _stream(self, send: Send) -> None:
        try:
            while (chunk := await run_in_threadpool(next, self.chunks, None)) is not None:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except Exception as exc:
            logger.error(
                "aborting a query answer after it started: %s: %s", type(exc).__name__, exc
            )
            return  # incomplete response: the server cuts the connection
        await send({"type": "http.response.body", "body": b"", "more_body": False})


__all__ = ["Collection", "Paging", "StreamedJSON", "paging", "parse_sort", "query_answer"]
