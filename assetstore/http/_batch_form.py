"""The form of a batch request (``POST /batch/upload``, ``POST /batch/import``): many files in
one multipart body, parsed as it arrives, each file streamed into the store, and all of them
published in one commit or none.

The form is a ``manifest`` field (a JSON array: one item per asset, in order) followed by
the ``file`` parts, one per item that has a file, in the manifest's order (a part's own file
name and type are ignored: the manifest gives them). Nothing of the form is held whole but
the manifest (bounded by ``max_batch_manifest_bytes``).

When the manifest is complete, one worker thread runs the store's own batch call
(``upload_many`` or ``import_assets``) with a reader for each file part; those calls check
every item before they read any file, read the files in order, and commit all or nothing.
The event loop hands the file parts' bytes to the worker through a small bounded queue, in
batches of about ``FLUSH_BYTES`` (many small files go over in one hand-over), so memory stays
flat whatever the number and size of the files. A part the store does not read (a file an
interrupted import already left whole) is skipped. Any error, or a client that goes away,
aborts the worker: the store then keeps nothing.

A batch is an upload under the same limits (:mod:`assetstore.http._bridge`): its worker is
one of ``upload_workers`` and reserves its share of ``upload_buffer_bytes`` (the manifest
being received is charged too), or the request gets a 503 with ``Retry-After``; a body
that sends nothing for ``upload_idle_timeout`` seconds, or feeds the worker less than
``MIN_BATCH`` bytes in that time, gets a 408 and the worker back.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from assetstore.errors import InvalidInputError, PayloadTooLargeError
from assetstore.http._bodies import declared_length
from assetstore.http._bridge import (
    END,
    FLUSH_BYTES,
    MIN_BATCH,
    Bridge,
    Reservation,
    UploadAborted,
    idle_limited,
    upload_executor,
    upload_limits,
)
from assetstore.http._errors import UnprocessableBodyError
from assetstore.http._form_parts import FormParts
from assetstore.settings import ServiceSettings

MANIFEST_FIELD = "manifest"
FILE_FIELD = "file"
#: Allowance per part for boundaries and part headers when checking Content-Length.
PART_OVERHEAD = 1024
#: The Content-Disposition of a file part as the Python client writes it.
_PLAIN_FILE_PART = 'form-data; name="file"'

FORM_HELP = (
    "a batch is multipart/form-data: first a field 'manifest' holding a JSON array with one "
    "item per asset, then one part 'file' per item that has a file, in the same order"
)

#: What the store's batch call gets: the parsed manifest and a reader for each file part.
Runner = Callable[[list[Any], Callable[[int], "PartReader"]], Any]


class _Events:
    """The worker's side of the bridge: ``(part, piece)`` events (``piece`` None: the part
    ended) from batches the loop put, in order; None once the form has ended."""

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge
        self._events: collections.deque[tuple[int, bytes | None]] = collections.deque()
        self._ended = False

    def next_event(self) -> tuple[int, bytes | None] | None:
        while not self._events:
            if self._ended:
                return None
            item = self.bridge.take()
            if item is END:
                self._ended = True
            else:
                self._events.extend(item)
        return self._events.popleft()

    def push_back(self, event: tuple[int, bytes | None]) -> None:
        self._events.appendleft(event)


class PartReader:
    """The worker's file object for the ``index``-th file part (0-based)."""

    def __init__(self, events: _Events, index: int, expected: int) -> None:
        self._bridge = events
        self._index = index
        self._expected = expected
        self._done = False

    def read(self, size: int = -1) -> bytes:
        while not self._done:
            event = self._bridge.next_event()
            if event is None:
                raise UnprocessableBodyError(
                    f"the form ended before file part {self._index + 1} of the "
                    f"{self._expected} its manifest names; {FORM_HELP}"
                )
            part, piece = event
            if part < self._index:
                continue  # a part the store did not read: skipped
            if piece is None:
                self._done = True
                break
            if 0 <= size < len(piece):
                self._bridge.push_back((part, piece[size:]))
                piece = piece[:size]
            if piece:
                return piece
        return b""


@dataclass
class _Form(FormParts):
    """The parser's callbacks and what they found so far."""

    manifest: bytearray = field(default_factory=bytearray)
    manifest_done: bool = False
    files: int = 0  # file parts begun (their names and types are the manifest's)
    file_bytes: int = 0
    pending: list[tuple[int, bytes | None]] = field(default_factory=list)
    pending_bytes: int = 0

    def max_parts(self) -> tuple[int, str]:
        items = self.settings.max_batch_items
        return items + 2, f"the batch has more than {items} files (max_batch_items)"

    def _headers_finished(self) -> None:
        disposition = self.headers.get("content-disposition", "")
        if disposition == _PLAIN_FILE_PART:  # what our client sends: no parsing needed
            name = FILE_FIELD
        else:
            _, params = parse_options_header(disposition)
            name = params.get(b"name", b"").decode("utf-8", errors="replace")
        if name == MANIFEST_FIELD:
            if self.manifest_done or self.manifest:
                raise UnprocessableBodyError(f"more than one '{MANIFEST_FIELD}' field")
            self.kind = "manifest"
        elif name == FILE_FIELD:
            if not self.manifest_done:
                raise UnprocessableBodyError(
                    f"a file part comes before the '{MANIFEST_FIELD}' field; {FORM_HELP}"
                )
            self.kind = "file"
            self.files += 1
        else:
            self.kind = "ignore"

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        size = end - start
        if self.kind == "file":
            self.file_bytes += size
            if self.file_bytes > self.settings.max_upload_bytes:
                raise PayloadTooLargeError(
                    f"the batch's files exceed the {self.settings.max_upload_bytes}-byte "
                    "upload limit together"
                )
            piece = data if start == 0 and end == len(data) else data[start:end]
            self.pending.append((self.files - 1, piece))
            self.pending_bytes += size
        elif self.kind == "manifest":
            if len(self.manifest) + size > self.settings.max_batch_manifest_bytes:
                raise PayloadTooLargeError(
                    f"the batch's '{MANIFEST_FIELD}' exceeds "
                    f"{self.settings.max_batch_manifest_bytes} bytes (max_batch_manifest_bytes)"
                )
            self.manifest += data[start:end]
        else:
            self._ignore(size)

    def _part_end(self) -> None:
        if self.kind == "file":
            self.pending.append((self.files - 1, None))
        elif self.kind == "manifest":
            self.manifest_done = True
        self.kind = ""


def _boundary(request: Request) -> bytes:
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise UnprocessableBodyError(FORM_HELP)
    return boundary


async def receive_batch(
    request: Request,
    parse_manifest: Callable[[bytes], tuple[list[Any], int]],
    run: Runner,
) -> Any:
    """Parse a batch form from the request stream and return what ``run`` returns, under
    the app's settings and upload limits, in one of its upload workers.

    ``parse_manifest(raw)`` (run in a worker thread) checks the manifest and returns its
    items and how many file parts they need; ``run(items, reader_of)`` (the worker) makes
    the store's batch call, reading the ``k``-th file part through ``reader_of(k)``."""
    settings: ServiceSettings = request.app.state.settings
    executor = upload_executor(request.app)
    limits = upload_limits(request.app)
    boundary = _boundary(request)
    length = declared_length(request)
    allowance = (
        settings.max_upload_bytes
        + settings.max_batch_manifest_bytes
        + settings.max_form_field_bytes
        + PART_OVERHEAD * (settings.max_batch_items + 2)
    )
    if length is not None and length > allowance:
        raise PayloadTooLargeError(
            f"the batch of {length} bytes exceeds the {settings.max_upload_bytes}-byte "
            "upload limit and the form around it"
        )
    form = _Form(settings)
    try:
        parser = MultipartParser(boundary, form.callbacks())  # type: ignore[arg-type]
    except FormParserError as exc:
        raise UnprocessableBodyError(f"malformed multipart boundary: {exc}") from None
    loop = asyncio.get_running_loop()
    bridge = Bridge(loop, settings.upload_idle_timeout)
    events = _Events(bridge)
    held = Reservation(limits)
    worker: asyncio.Future[Any] | None = None
    expected = 0
    received = 0

    def work(items: list[Any]) -> Any:
        try:
            return run(items, lambda index: PartReader(events, index, expected))
        finally:
            bridge.worker_done()

    async def flush(final: bool = False) -> None:
        if bridge.idle:
            raise bridge.idle_error()
        if form.pending and (
            form.pending_bytes >= FLUSH_BYTES
            or final
            or (form.pending_bytes >= MIN_BATCH and bridge.starving())
        ):
            batch, form.pending, form.pending_bytes = form.pending, [], 0
            await bridge.put(batch)

    try:
        async for chunk in idle_limited(request, settings.upload_idle_timeout):
            received += len(chunk)
            if received > allowance:
                raise PayloadTooLargeError(
                    f"the batch exceeds {allowance} bytes (the {settings.max_upload_bytes}-byte "
                    "upload limit and the form around it)"
                )
            if form.ended:
                continue
            try:
                parser.write(chunk)
            except FormParserError as exc:
                raise UnprocessableBodyError(f"malformed multipart body: {exc}") from None
            held.hold_fields(len(form.manifest))
            if worker is None and form.manifest_done:
                items, expected = await run_in_threadpool(parse_manifest, bytes(form.manifest))
                form.manifest.clear()
                held.hold_fields(0)
                held.take_worker()
                worker = loop.run_in_executor(executor, work, items)
            if form.files > expected and form.manifest_done:
                raise UnprocessableBodyError(
                    f"the form has more file parts than the {expected} its manifest names"
                )
            if worker is not None:
                await flush()
        if not form.ended:
            raise UnprocessableBodyError("the multipart body ended before its closing boundary")
        if worker is None:
            raise InvalidInputError(f"the batch has no '{MANIFEST_FIELD}' field; {FORM_HELP}")
        if form.files != expected:
            raise UnprocessableBodyError(
                f"the form has {form.files} file parts, its manifest names {expected}"
            )
        await flush(final=True)
        await bridge.put(END)
        running, worker = worker, None
        try:
            return await running
        except UploadAborted:
            if bridge.idle:
                raise bridge.idle_error() from None
            raise
    finally:
        if worker is not None:
            bridge.abort()
            with contextlib.suppress(BaseException):
                await asyncio.shield(worker)
        held.release()


__all__ = ["FILE_FIELD", "MANIFEST_FIELD", "PartReader", "receive_batch"]
