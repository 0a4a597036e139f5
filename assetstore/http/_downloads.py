"""``GET /asset-object/{asset_id}``: a stored file, streamed, with HTTP ranges.

* ``Range: bytes=a-b`` / ``a-`` / ``-n`` (one range) answers 206 with ``Content-Range``; a
  range past the end answers 416; several ranges, or a malformed header, get the whole file
  (RFC 9110 lets a server ignore them); ``If-Range`` with another ETag gets the whole file.
* ``ETag`` is the quoted sha256, ``Accept-Ranges: bytes``, ``Content-Type:
  application/octet-stream``, ``X-Content-Type-Options: nosniff`` and an attachment
  ``Content-Disposition`` with an ASCII ``filename`` and the RFC 5987 ``filename*``.
* A whole file is read through the store's verifying reader, holding back the last chunk
  until the sha256 has been checked: if the stored bytes are corrupt, the connection is cut
  before the final bytes are sent, so a client can never take a corrupt file for a whole one.
"""

from __future__ import annotations

import logging
from typing import Any, BinaryIO
from urllib.parse import quote

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from assetstore.errors import IntegrityError
from assetstore.http._errors import RangeNotSatisfiableError
from assetstore.models import AssetObject

logger = logging.getLogger("assetstore.http")

CHUNK = 1 << 20
#: Longest ``Range`` header read; a longer one is ignored (the whole file is sent). A range
#: of one part needs at most 2 x 20 digits and a few blanks.
MAX_RANGE_HEADER = 200
_BLANKS = " \t"


def _digits(text: str) -> str | None:
    """``text`` without surrounding blanks if it is empty or ASCII digits (at most 20), else
    None."""
    text = text.strip(_BLANKS)
    if text and not (len(text) <= 20 and text.isascii() and text.isdigit()):
        return None
    return text


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``[start, end)`` of a single-range ``Range`` header, None to send the whole file.

    Linear in the header (string methods, no regular expression), and headers longer than
    :data:`MAX_RANGE_HEADER` are ignored before they are looked at, so parsing a hostile
    header costs nothing on the event loop. Raises :class:`RangeNotSatisfiableError` for a
    well-formed range naming no byte."""
    if not header or len(header) > MAX_RANGE_HEADER:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip(_BLANKS).lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.partition("-")
    first, last = _digits(first_text), _digits(last_text)
    if not dash or first is None or last is None or (not first and not last):
        return None
    if not first:  # suffix: the last n bytes
        count = int(last)
        if count == 0 or size == 0:
            raise RangeNotSatisfiableError(size)
        return max(0, size - count), size
    start = int(first)
    if last and int(last) < start:
        return None  # invalid: ignore the header
    if start >= size:
        raise RangeNotSatisfiableError(size)
    end = size if not last else min(int(last) + 1, size)
    return start, end


def content_disposition(filename: str, fallback: str) -> str:
    """``attachment`` with an ASCII-safe ``filename`` and the exact UTF-8 ``filename*``."""
    name = filename or fallback
    ascii_name = (
        "".join(
            char if 32 <= ord(char) < 127 and char not in '"\\;%' else "_" for char in name
        ).strip()
        or fallback
    )
    encoded = quote(name, safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"


def file_headers(asset: AssetObject) -> dict[str, str]:
    """Headers every answer about this file carries."""
    return {
        "ETag": f'"{asset.sha256}"',
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(
            str(asset.asset_file_info.get("filename") or ""), asset.asset_id
        ),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache",
    }


class FileResponse(Response):
    """Streams ``reader`` in chunks read in a worker thread; stops reading when the client
    goes away; on :class:`IntegrityError` ends without completing the response, which makes
    the server close the connection mid-body."""

    media_type = "application/octet-stream"

    def __init__(
        self,
        reader: BinaryIO | None,
        *,
        status_code: int,
        length: int,
        headers: dict[str, str],
        label: str,
    ) -> None:
        self.reader = reader
        self.label = label
        self.status_code = status_code
        self.background = None
        self.init_headers({**headers, "Content-Length": str(length)})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            if self.reader is None:  # HEAD
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            async with anyio.create_task_group() as group:

                async def stream() -> None:
                    await self._stream(send)
                    group.cancel_scope.cancel()

                group.start_soon(stream)
                await _wait_for_disconnect(receive)
                group.cancel_scope.cancel()
        finally:
            if self.reader is not None:
                with anyio.CancelScope(shield=True):
                    await run_in_threadpool(self.reader.close)

    async def _stream(self, send: Send) -> None:
        assert self.reader is not None
        held: bytes | None = None
        try:
            while chunk := await run_in_threadpool(self.reader.read, CHUNK):
                if held is not None:
                    await send({"type": "http.response.body", "body": held, "more_body": True})
                held = chunk
        except IntegrityError as exc:
            logger.error("aborting the download of %s: %s", self.label, exc)
            return  # incomplete response: the server cuts the connection
        if held is not None:
            await send({"type": "http.response.body", "body": held, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message: dict[str, Any] = dict(await receive())
        if message["type"] == "http.disconnect":
            return
