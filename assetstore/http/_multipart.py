"""``POST /upload_asset``: a multipart form parsed as it arrives, its file part streamed
straight into :meth:`AssetStore.stage`, never held whole in memory nor spooled twice.

The event loop feeds the request body to python-multipart's streaming parser. File bytes
(the request's own chunks, not copied) are batched by ~1 MiB and handed through a small
bounded queue to one worker thread running ``store.stage(reader)``; when the queue is full
the loop stops reading the socket, so memory stays flat whatever the file size. When the
form is complete the staged file is published with the metadata, which may come before or
after the file part.

Any error, and a client that disconnects, aborts the worker (the store's blob write then
leaves nothing) or discards the staged file: nothing becomes visible.

Limits (:class:`UploadLimits`, one per app): at most ``upload_workers`` file parts stream at
once, each reserving :data:`UPLOAD_RESERVATION` bytes of ``upload_buffer_bytes`` (which also
counts metadata fields being received); an upload that finds no room gets a 503 with
``Retry-After`` at once instead of queueing in memory. An upload that sends nothing for
``upload_idle_timeout`` seconds, or holds a worker without handing it :data:`MIN_BATCH`
bytes (or the end of its file) for that long, gets a 408 and its worker back: a client
trickling a byte a second cannot keep a worker. A form whose metadata
arrives first and is invalid (bad JSON, a bad name, a taken URI) is refused without staging
anything: the rest of the body is read and dropped, so the client gets a clean answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import re
from collections.abc import AsyncIterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import anyio
from fastapi import FastAPI
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from assetstore.contract import AssetStore
from assetstore.errors import (
    AlreadyExistsError,
    AssetNotFoundError,
    AssetStoreError,
    InvalidInputError,
    PayloadTooLargeError,
    RequestTimeoutError,
    ServiceBusyError,
)
from assetstore.http._bodies import declared_length, parse_json_object
from assetstore.http._errors import UnprocessableBodyError
from assetstore.models import AssetObject, StagedFile
from assetstore.settings import ServiceSettings
from assetstore.uri import build_uri

FILE_FIELD = "asset"
METADATA_FIELD = "asset_metadata"
#: File bytes handed to the worker at once, and how many such chunks may wait in the queue.
FLUSH_BYTES = 1 << 20
QUEUE_DEPTH = 4
#: The most file bytes one upload holds in memory (the batches in the queue, the one the
#: worker reads, the one being gathered): what it reserves from ``upload_buffer_bytes``.
UPLOAD_RESERVATION = (QUEUE_DEPTH + 2) * FLUSH_BYTES
#: A worker with nothing to do is handed what has arrived once it is this much: the rate
#: (per ``upload_idle_timeout``) below which an upload loses its worker.
MIN_BATCH = 64 * 1024
#: Longest Content-Type header parsed (the boundary is at most 70 characters).
MAX_CONTENT_TYPE = 1024
#: Allowance for boundaries and part headers when checking Content-Length up front.
FORM_OVERHEAD = 64 * 1024
#: Most parts a form may have (the upload needs two; Starlette's own forms stop at 1000):
#: thousands of tiny parts would cost parser callbacks on the event loop for nothing.
MAX_PARTS = 1000
_MIME = re.compile(r"[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*")
_EOF = object()
_ABORT = object()

FORM_HELP = (
    "an upload is multipart/form-data with a file part 'asset' and a field 'asset_metadata' "
    'holding JSON: {"asset_name": ..., "asset_version": {"version": ..., "tag": ...}, '
    '"asset_metadata": {...}, "asset_tags": [...]}'
)


class UploadAborted(Exception):
    """Raised inside the worker when the request failed or the client went away."""


class _Bridge:
    """File pieces from the event loop to one worker thread: batches of about
    ``FLUSH_BYTES``, at most ``QUEUE_DEPTH`` batches in flight.

    The worker sees a file object (``read``) and the store streams it like any file."""

    def __init__(self, loop: asyncio.AbstractEventLoop, idle_timeout: float) -> None:
        self._loop = loop
        self._queue: queue.Queue[Any] = queue.Queue(QUEUE_DEPTH)
        self._space = asyncio.Event()
        self._aborted = False
        self._idle_timeout = idle_timeout
        self.closed = False  # the worker stopped reading (finished or failed)
        self.idle = False  # the worker gave up waiting for data
        self._pieces: list[bytes] = []  # what the worker has yet to read, last piece first

    # event-loop side
    async def put(self, item: Any) -> None:
        while not self.closed:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                self._space.clear()
                if not self._queue.full():
                    continue
                await self._space.wait()

    def abort(self) -> None:
        self._aborted = True
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_ABORT)

    def starving(self) -> bool:
        """The worker has nothing queued to read."""
        return self._queue.empty()

    # worker side
    def _signal_space(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            self._loop.call_soon_threadsafe(self._space.set)

    def worker_done(self) -> None:
        self.closed = True
        self._signal_space()

    def read(self, size: int = -1) -> bytes:
        """The next piece of the file (at most ``size`` bytes), b"" at its end. Pieces are
        handed over as the parser found them: no copy unless one is larger than ``size``."""
        while not self._pieces:
            try:
                item = self._queue.get(timeout=self._idle_timeout)
            except queue.Empty:
                self.idle = True
                raise UploadAborted(
                    f"the upload handed its worker nothing for {self._idle_timeout:g} s"
                ) from None
            self._signal_space()
            if item is _EOF:
                return b""
            if item is _ABORT:
                raise UploadAborted("the upload was abandoned")
            self._pieces.extend(reversed(item))
        if self._aborted:
            raise UploadAborted("the upload was abandoned")
        piece = self._pieces.pop()
        if 0 <= size < len(piece):
            self._pieces.append(piece[size:])
            piece = piece[:size]
        return piece


@dataclass
class UploadFields:
    """What the ``asset_metadata`` form field says."""

    name: Any
    version: Any
    tag: Any
    metadata: Any
    tags: Any
    uri: str = ""


def parse_metadata_field(raw: bytes) -> UploadFields:
    """The form field ``asset_metadata`` (422 unless a JSON object with an object
    ``asset_version``); names are checked by :func:`build_uri`, the rest by the store."""
    value = parse_json_object(raw, f"form field '{METADATA_FIELD}'")
    version = value.get("asset_version")
    if version is None:
        version = {}
    if not isinstance(version, dict):
        raise UnprocessableBodyError(
            'asset_version must be an object like {"version": "1.0", "tag": "initial"}'
        )
    fields = UploadFields(
        name=value.get("asset_name"),
        version=version.get("version"),
        tag=version.get("tag"),
        metadata=value.get("asset_metadata"),
        tags=value.get("asset_tags"),
    )
    fields.uri = build_uri(fields.name, fields.version, fields.tag)
    return fields


def _clean_filename(raw: bytes | None) -> str:
    if not raw:
        return ""
    text = raw.decode("utf-8", errors="replace")
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(char for char in text if char.isprintable()).strip()
    return "" if text in (".", "..") else text[:255]


def _clean_content_type(raw: str) -> str | None:
    ctype = raw.split(";", 1)[0].strip().lower()
    if len(ctype) > 127 or not _MIME.fullmatch(ctype) or ctype == "application/octet-stream":
        return None
    return ctype


@dataclass
class _Form:
    """The parser's callbacks and what they found so far."""

    settings: ServiceSettings
    kind: str = ""  # of the current part: "file", "field" or "ignore"
    headers: dict[str, str] = field(default_factory=dict)
    header_name: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    field_value: bytearray = field(default_factory=bytearray)
    ignored_bytes: int = 0
    pending: list[bytes] = field(default_factory=list)  # file pieces not yet handed over
    pending_bytes: int = 0
    file_seen: bool = False
    file_ended: bool = False
    file_size: int = 0
    filename: str = ""
    content_type: str | None = None
    metadata_raw: bytes | None = None
    parts: int = 0
    ended: bool = False

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise PayloadTooLargeError(f"the form has more than {MAX_PARTS} parts")
        self.kind = ""
        self.headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def _header_end(self) -> None:
        name = self.header_name.decode("latin-1").strip().lower()
        self.headers[name] = self.header_value.decode("latin-1").strip()
        self.header_name.clear()
        self.header_value.clear()

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self.headers.get("content-disposition", ""))
        name = params.get(b"name", b"").decode("utf-8", errors="replace")
        if name == FILE_FIELD:
            if self.file_seen:
                raise UnprocessableBodyError(f"more than one '{FILE_FIELD}' file part")
            self.kind = "file"
            self.file_seen = True
            self.filename = _clean_filename(params.get(b"filename"))
            self.content_type = _clean_content_type(self.headers.get("content-type", ""))
        elif name == METADATA_FIELD:
            if self.metadata_raw is not None:
                raise UnprocessableBodyError(f"more than one '{METADATA_FIELD}' field")
            self.kind = "field"
            self.field_value.clear()
        else:
            self.kind = "ignore"

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        size = end - start
        if self.kind == "file":
            self.file_size += size
            if self.file_size > self.settings.max_upload_bytes:
                raise PayloadTooLargeError(
                    f"the file exceeds the {self.settings.max_upload_bytes}-byte upload limit"
                )
            # The parser hands over slices of the request's own chunks: keep a whole chunk
            # as it is (no copy), slice only the first and last piece of the part.
            self.pending.append(data if start == 0 and end == len(data) else data[start:end])
            self.pending_bytes += size
        elif self.kind == "field":
            if len(self.field_value) + size > self.settings.max_form_field_bytes:
                raise PayloadTooLargeError(
                    f"form field '{METADATA_FIELD}' exceeds "
                    f"{self.settings.max_form_field_bytes} bytes"
                )
            self.field_value += data[start:end]
        else:
            self.ignored_bytes += size
            if self.ignored_bytes > self.settings.max_form_field_bytes:
                raise PayloadTooLargeError("the form's other fields are too large")

    def _part_end(self) -> None:
        if self.kind == "file":
            self.file_ended = True
        elif self.kind == "field":
            self.metadata_raw = bytes(self.field_value)
            self.field_value.clear()
        self.kind = ""

    def held_bytes(self) -> int:
        """Field bytes held in memory (the file's are covered by the reservation)."""
        return len(self.field_value) + len(self.metadata_raw or b"")

    def _end(self) -> None:
        self.ended = True


class UploadLimits:
    """What all uploads of one app hold at once: file parts streaming to a worker (at most
    ``workers``, each reserving :data:`UPLOAD_RESERVATION` bytes) and memory (at most
    ``buffer_bytes``: the reservations and the metadata fields being received). Used from
    the event loop only."""

    def __init__(self, workers: int, buffer_bytes: int) -> None:
        self.workers = workers
        self.buffer_bytes = buffer_bytes
        self.streaming = 0
        self.held = 0

    def take(self, size: int, *, worker: bool = False) -> None:
        """Reserve ``size`` bytes (and a worker); :class:`ServiceBusyError` if either is
        not free: the upload is refused now rather than queued in memory."""
        if worker and self.streaming >= self.workers:
            raise ServiceBusyError(
                f"all {self.workers} upload workers are busy; retry later", retry_after=5
            )
        if self.held + size > self.buffer_bytes:
            raise ServiceBusyError(
                "uploads in progress hold all the memory they may (upload_buffer_bytes); "
                "retry later",
                retry_after=5,
            )
        self.held += size
        self.streaming += worker

    def give_back(self, size: int, *, worker: bool = False) -> None:
        self.held -= size
        self.streaming -= worker


def upload_limits(app: FastAPI) -> UploadLimits:
    """The app's :class:`UploadLimits`, made on first use (anew when the settings change:
    uploads in progress keep the one they started with)."""
    settings: ServiceSettings = app.state.settings
    limits: UploadLimits | None = getattr(app.state, "upload_limits", None)
    if limits is None or (limits.workers, limits.buffer_bytes) != (
        settings.upload_workers,
        settings.upload_buffer_bytes,
    ):
        limits = UploadLimits(settings.upload_workers, settings.upload_buffer_bytes)
        app.state.upload_limits = limits
    return limits


class _Upload:
    """One upload in progress: the parser state, the worker and the early checks."""

    def __init__(
        self,
        store: AssetStore,
        settings: ServiceSettings,
        executor: Executor,
        limits: UploadLimits,
    ) -> None:
        self.store = store
        self.settings = settings
        self.form = _Form(settings)
        self.executor = executor
        self.limits = limits
        self.loop = asyncio.get_running_loop()
        self.bridge: _Bridge | None = None
        self.worker: asyncio.Future[StagedFile] | None = None
        self.eof_sent = False
        self.fields: UploadFields | None = None
        self.refusal: AssetStoreError | None = None  # found early: drain, then raise it
        self.reserved = False  # a worker and UPLOAD_RESERVATION bytes
        self.field_bytes = 0  # charged for the form's fields

    def account(self) -> None:
        """Charge (or give back) what the form's fields hold now."""
        held = self.form.held_bytes()
        if held > self.field_bytes:
            self.limits.take(held - self.field_bytes)
        elif held < self.field_bytes:
            self.limits.give_back(self.field_bytes - held)
        self.field_bytes = held

    def release(self) -> None:
        """Give back everything this upload holds."""
        self.limits.give_back(self.field_bytes)
        self.field_bytes = 0
        self._release_worker()

    def _stage(self) -> StagedFile:
        assert self.bridge is not None
        try:
            return self.store.stage(self.bridge, filename=self.form.filename or None)
        finally:
            self.bridge.worker_done()

    async def _check_metadata(self) -> None:
        assert self.form.metadata_raw is not None
        try:
            self.fields = parse_metadata_field(self.form.metadata_raw)
            if not self.form.file_seen:  # before the file: refuse a taken URI up front
                await run_in_threadpool(_refuse_taken, self.store, self.fields.uri)
        except AssetStoreError as exc:
            self.refusal = exc
            await self.abort_worker()

    async def pump(self, final: bool = False) -> None:
        """Move what the parser found along: start the worker, feed it, check metadata."""
        form = self.form
        if form.metadata_raw is not None and self.fields is None and self.refusal is None:
            await self._check_metadata()
        if self.refusal is not None:
            form.pending, form.pending_bytes = [], 0
            return
        if form.file_seen and self.worker is None:
            self.limits.take(UPLOAD_RESERVATION, worker=True)
            self.reserved = True
            self.bridge = _Bridge(self.loop, self.settings.upload_idle_timeout)
            self.worker = self.loop.run_in_executor(self.executor, self._stage)
        if self.bridge is None:
            return
        if self.bridge.idle:
            raise RequestTimeoutError(
                f"the upload did not send {MIN_BATCH} bytes (or the end of its file) within "
                f"{self.settings.upload_idle_timeout:g} s (upload_idle_timeout); nothing was kept"
            )
        if form.pending and (
            form.pending_bytes >= FLUSH_BYTES
            or form.file_ended
            or final
            or (form.pending_bytes >= MIN_BATCH and self.bridge.starving())
        ):
            batch, form.pending, form.pending_bytes = form.pending, [], 0
            await self.bridge.put(batch)
        if form.file_ended and not self.eof_sent:
            self.eof_sent = True
            await self.bridge.put(_EOF)

    async def abort_worker(self) -> None:
        """Stop the worker; whatever it wrote is thrown away by the store."""
        if self.worker is None:
            return
        worker, self.worker = self.worker, None
        if self.bridge is not None:
            self.bridge.abort()
        try:
            staged = await asyncio.shield(worker)
        except Exception:  # UploadAborted, or the error that stopped it: nothing was staged
            return
        finally:
            self._release_worker()
        await run_in_threadpool(self.store.discard, staged)

    def _release_worker(self) -> None:
        if self.reserved:
            self.reserved = False
            self.limits.give_back(UPLOAD_RESERVATION, worker=True)


def upload_executor(app: FastAPI) -> ThreadPoolExecutor:
    """The app's threads that stream uploads into the store (``upload_workers`` of them),
    made on first use; the app's lifespan shuts them down at exit."""
    executor: ThreadPoolExecutor | None = app.state.upload_executor
    if executor is None:
        executor = ThreadPoolExecutor(
            app.state.settings.upload_workers, thread_name_prefix="assetstore-upload"
        )
        app.state.upload_executor = executor
    return executor


def _refuse_taken(store: AssetStore, uri: str) -> None:
    try:
        store.get(uri)
    except AssetNotFoundError:
        return
    raise AlreadyExistsError(f"asset {uri!r} already exists")


def _check_content_type(request: Request) -> bytes:
    raw = request.headers.get("content-type", "")
    if len(raw) > MAX_CONTENT_TYPE:
        raise UnprocessableBodyError(f"Content-Type is longer than {MAX_CONTENT_TYPE} characters")
    ctype, params = parse_options_header(raw)
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data":  # no parts at all: a 400, as for a missing one
        raise InvalidInputError(f"No file part: the request is not a form; {FORM_HELP}")
    if not boundary:
        raise UnprocessableBodyError(FORM_HELP)
    return boundary


async def receive_upload(
    request: Request, store: AssetStore, settings: ServiceSettings, executor: Executor
) -> AssetObject:
    """Parse the upload form from the request stream and publish the asset."""
    boundary = _check_content_type(request)
    length = declared_length(request)
    allowance = settings.max_upload_bytes + settings.max_form_field_bytes + FORM_OVERHEAD
    if length is not None and length > allowance:
        raise PayloadTooLargeError(
            f"the upload of {length} bytes exceeds the {settings.max_upload_bytes}-byte limit"
        )
    upload = _Upload(store, settings, executor, upload_limits(request.app))
    form = upload.form
    try:
        parser = MultipartParser(boundary, form.callbacks())  # type: ignore[arg-type]
    except FormParserError as exc:
        raise UnprocessableBodyError(f"malformed multipart boundary: {exc}") from None
    staged: StagedFile | None = None
    received = 0
    try:
        async for chunk in _idle_limited(request, settings.upload_idle_timeout):
            # The parts have their own limits, but not what lies around them (a preamble,
            # an epilogue): a chunked body gets the same allowance as a declared one.
            received += len(chunk)
            if received > allowance:
                raise PayloadTooLargeError(
                    f"the upload body exceeds {allowance} bytes (the "
                    f"{settings.max_upload_bytes}-byte upload limit and the form around it)"
                )
            if form.ended:
                continue  # an epilogue after the closing boundary is ignored
            try:
                parser.write(chunk)
            except FormParserError as exc:
                raise UnprocessableBodyError(f"malformed multipart body: {exc}") from None
            upload.account()
            await upload.pump()
        if not form.ended:
            raise UnprocessableBodyError("the multipart body ended before its closing boundary")
        await upload.pump(final=True)
        if upload.refusal is not None:
            raise upload.refusal
        # A missing part is a 400, as in the original service ("No file part").
        if upload.worker is None:
            raise InvalidInputError(
                f"No file part: the form has no file '{FILE_FIELD}'; {FORM_HELP}"
            )
        if upload.fields is None:
            raise InvalidInputError(f"missing form field '{METADATA_FIELD}'; {FORM_HELP}")
        worker, upload.worker = upload.worker, None
        staged = await worker
        fields = upload.fields
        asset = await run_in_threadpool(
            lambda: store.publish(
                staged,  # type: ignore[arg-type]
                name=fields.name,
                version=fields.version,
                tag=fields.tag,
                metadata=fields.metadata,
                tags=fields.tags,
                content_type=form.content_type,
            )
        )
        staged = None  # published: it is the asset's file now
        return asset
    finally:
        await upload.abort_worker()
        if staged is not None:
            await run_in_threadpool(store.discard, staged)
        upload.release()


async def _idle_limited(request: Request, idle_timeout: float) -> AsyncIterator[bytes]:
    """The request's body chunks; :class:`RequestTimeoutError` once none has come for
    ``idle_timeout`` seconds."""
    chunks = request.stream().__aiter__()
    while True:
        try:
            with anyio.fail_after(idle_timeout):
                chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise RequestTimeoutError(
                f"the upload sent nothing for {idle_timeout:g} s (upload_idle_timeout); "
                "nothing was kept"
            ) from None
        yield chunk
