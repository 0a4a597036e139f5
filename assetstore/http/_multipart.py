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
import re
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

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
)
from assetstore.http._bodies import declared_length, parse_json_object
from assetstore.http._bridge import (
    END,
    FLUSH_BYTES,
    MIN_BATCH,
    Bridge,
    Reservation,
    UploadAborted,
    UploadLimits,
    idle_limited,
    upload_limits,
)
from assetstore.http._errors import UnprocessableBodyError
from assetstore.http._form_parts import FormParts
from assetstore.models import AssetObject, StagedFile
from assetstore.settings import ServiceSettings
from assetstore.uri import build_uri

FILE_FIELD = "asset"
METADATA_FIELD = "asset_metadata"
#: Longest Content-Type header parsed (the boundary is at most 70 characters).
MAX_CONTENT_TYPE = 1024
#: Allowance for boundaries and part headers when checking Content-Length up front.
FORM_OVERHEAD = 64 * 1024
#: Most parts a form may have (the upload needs two; Starlette's own forms stop at 1000):
#: thousands of tiny parts would cost parser callbacks on the event loop for nothing.
MAX_PARTS = 1000
_MIME = re.compile(r"[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*")

FORM_HELP = (
    "an upload is multipart/form-data with a file part 'asset' and a field 'asset_metadata' "
    'holding JSON: {"asset_name": ..., "asset_version": {"version": ..., "tag": ...}, '
    '"asset_metadata": {...}, "asset_tags": [...]}'
)


class _FileReader:
    """The worker's file object for the upload's file part (``read``): the store streams
    it like any file. Pieces are handed over as the parser found them."""

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge
        self._pieces: list[bytes] = []  # what the worker has yet to read, last piece first
        self._ended = False

    def read(self, size: int = -1) -> bytes:
        """The next piece of the file (at most ``size`` bytes), b"" at its end: no copy
        unless a piece is larger than ``size``."""
        while not self._pieces:
            if self._ended:
                return b""
            item = self.bridge.take()
            if item is END:
                self._ended = True
                return b""
            self._pieces.extend(reversed(item))
        if self.bridge.aborted:
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
class _Form(FormParts):
    """The parser's callbacks and what they found so far."""

    field_value: bytearray = field(default_factory=bytearray)
    pending: list[bytes] = field(default_factory=list)  # file pieces not yet handed over
    pending_bytes: int = 0
    file_seen: bool = False
    file_ended: bool = False
    file_size: int = 0
    filename: str = ""
    content_type: str | None = None
    metadata_raw: bytes | None = None

    def max_parts(self) -> tuple[int, str]:
        return MAX_PARTS, f"the form has more than {MAX_PARTS} parts"

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
            self._ignore(size)

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
        self.held = Reservation(limits)
        self.loop = asyncio.get_running_loop()
        self.bridge: Bridge | None = None
        self.worker: asyncio.Future[StagedFile] | None = None
        self.eof_sent = False
        self.fields: UploadFields | None = None
        self.refusal: AssetStoreError | None = None  # found early: drain, then raise it

    def _stage(self) -> StagedFile:
        assert self.bridge is not None
        try:
            reader = _FileReader(self.bridge)
            return self.store.stage(reader, filename=self.form.filename or None)
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
            self.held.take_worker()
            self.bridge = Bridge(self.loop, self.settings.upload_idle_timeout)
            self.worker = self.loop.run_in_executor(self.executor, self._stage)
        if self.bridge is None:
            return
        if self.bridge.idle:
            raise self.bridge.idle_error()
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
            await self.bridge.put(END)

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
            self.held.release_worker()
        await run_in_threadpool(self.store.discard, staged)


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
        async for chunk in idle_limited(request, settings.upload_idle_timeout):
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
            upload.held.hold_fields(form.held_bytes())
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
        upload.held.release()
