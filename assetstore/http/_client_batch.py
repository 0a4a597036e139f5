"""The HTTP client's side of the batch endpoints (:mod:`assetstore.http._batch_api`): batch
forms generated chunk by chunk from their sources, batches sized to the service's limits,
and the NDJSON export read line by line.

A batch form opens each source when its part starts and closes it when the part ends, so a
batch of ten thousand files holds one open file and a few hundred KiB at a time; small files
are gathered into larger writes so that the socket is not written once per file.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from assetstore._import import source_chunks
from assetstore._outbound import Connection, error_for
from assetstore.errors import BackendUnavailableError, NotFoundError
from assetstore.models import ImportSource, Progress

#: Bytes gathered before a write to the socket (small files go over together).
SEND_BLOCK = 256 * 1024
#: Allowance per item for its manifest entry beyond its own JSON, and per part for its
#: boundary and headers.
PART_OVERHEAD = 512


@dataclass(frozen=True)
class FilePart:
    """One ``file`` part of a batch form: where its bytes come from, and how many there are
    (None: unknown). Its file name and type are in the manifest."""

    source: ImportSource
    size: int | None


@dataclass(frozen=True)
class BatchLimits:
    """What one batch request may hold (the service's ``/health`` limits)."""

    items: int
    manifest_bytes: int
    file_bytes: int


def batches(
    entries: Sequence[bytes], sizes: Sequence[int | None], limits: BatchLimits
) -> Iterator[range]:
    """Consecutive ranges of item indices, each within ``limits``: at most ``items`` items,
    ``manifest_bytes`` of manifest entries and ``file_bytes`` of files. A file of unknown size
    goes in a batch of its own (the service refuses it if it is too large)."""
    start = 0
    count = 0
    manifest = 2
    files = 0
    for index, (entry, size) in enumerate(zip(entries, sizes, strict=True)):
        entry_bytes = len(entry) + 1
        file_bytes = size if size is not None else limits.file_bytes
        full = count and (
            count >= limits.items
            or manifest + entry_bytes > limits.manifest_bytes
            or files + file_bytes > limits.file_bytes
        )
        if full:
            yield range(start, index)
            start, count, manifest, files = index, 0, 2, 0
        count += 1
        manifest += entry_bytes
        files += file_bytes
    if count:
        yield range(start, len(entries))


def form(
    manifest_entries: Sequence[bytes], files: Sequence[FilePart], progress: Progress | None
) -> tuple[dict[str, str], Iterator[bytes]]:
    """Headers and a streamed body: the ``manifest`` (the entries as a JSON array) and then
    each file part, in order. Content-Length is given when every size is known."""
    boundary = "assetstore-batch-" + secrets.token_hex(16)
    manifest = b"[" + b",".join(manifest_entries) + b"]"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="manifest"\r\n'
        "Content-Type: application/json\r\n\r\n"
    ).encode() + manifest
    part_head = f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"\r\n\r\n'
    part_heads = [part_head.encode()] * len(files)
    tail = f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if all(part.size is not None for part in files):
        length = len(head) + len(tail) + sum(len(h) for h in part_heads)
        length += sum(part.size or 0 for part in files)
        headers["Content-Length"] = str(length)

    def pieces() -> Iterator[bytes]:
        yield head
        for part, part_head in zip(files, part_heads, strict=True):
            yield part_head
            with source_chunks(part.source) as chunks:
                for chunk in chunks:
                    if progress is not None:
                        progress(len(chunk))
                    yield chunk
        yield tail

    return headers, _gathered(pieces())


def _gathered(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """The pieces, small ones joined into blocks of about ``SEND_BLOCK`` bytes."""
    pending = bytearray()
    for piece in pieces:
        if len(piece) >= SEND_BLOCK:
            if pending:
                yield bytes(pending)
                pending.clear()
            yield piece
            continue
        pending += piece
        if len(pending) >= SEND_BLOCK:
            yield bytes(pending)
            pending.clear()
    if pending:
        yield bytes(pending)


def post_streamed(
    connection: Connection, path: str, body: bytes, params: dict[str, Any], accept: str
) -> httpx.Response:
    """POST a JSON body and return the answer unread (a stream), or raise the error it
    stands for. A 404 is a :class:`NotFoundError`: here it means a missing route (an older
    service), or an asset that is missing; so is a success in another media type than
    ``accept`` (a server that answers every path alike)."""
    client = connection.client
    try:
        request = client.build_request(
            "POST",
            path,
            content=body,
            params=params,
            headers={"Content-Type": "application/json", "Accept": accept},
        )
        response = client.send(request, stream=True)
    except httpx.TimeoutException as exc:
        raise BackendUnavailableError(f"{connection.base_url} did not answer in time") from exc
    except httpx.TransportError as exc:
        raise BackendUnavailableError(f"cannot reach {connection.base_url}: {exc}") from exc
    if response.is_success:
        media_type = response.headers.get("content-type", "").split(";", 1)[0].strip()
        if accept == "*/*" or media_type == accept:
            return response
        response.close()  # a server that answers any path: no such route here
        raise NotFoundError(f"{connection.base_url}{path} answered {media_type!r}, not {accept}")
    try:
        content = b"".join(response.iter_bytes())[: 1 << 20]
    except httpx.HTTPError:
        content = b""
    finally:
        response.close()
    raise error_for(
        response.status_code,
        content,
        "POST",
        str(response.request.url),
        response.headers.get("location"),
        NotFoundError,
    )


def ndjson_records(
    connection: Connection, path: str, body: bytes, params: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """The records of an NDJSON export, one at a time, read as they arrive. The last line
    must be ``{"end": true, "count": N}`` with N the records read: an answer cut short is a
    :class:`BackendUnavailableError`, never a short listing."""
    response = post_streamed(connection, path, body, params, "application/x-ndjson")
    try:
        yield from _lines(response, connection.base_url)
    finally:
        response.close()


class FramedFiles:
    """The files of a ``/batch/download`` answer, one after the other: each after a line
    ``{"asset_id": ..., "size": N}``, the answer ending with ``{"end": true, "count": N}``."""

    MAX_LINE = 64 * 1024

    def __init__(self, response: httpx.Response, label: str) -> None:
        self._response = response
        self._pieces = response.iter_raw()
        self._buffer = b""  # the piece being read, from ``_position`` on
        self._position = 0
        self._label = label
        self._count = 0

    def _more(self) -> bool:
        try:
            piece = next(self._pieces, b"")
        except httpx.HTTPError as exc:
            raise BackendUnavailableError(
                f"the download from {self._label} broke off: {exc}"
            ) from exc
        self._buffer, self._position = piece, 0
        return bool(piece)

    def take(self, size: int) -> memoryview:
        """At most ``size`` bytes of the answer (empty at its end)."""
        if self._position >= len(self._buffer) and not self._more():
            return memoryview(b"")
        start = self._position
        self._position = min(start + size, len(self._buffer))
        return memoryview(self._buffer)[start : self._position]

    def _line(self) -> dict[str, Any]:
        line = b""
        while True:
            if self._position >= len(self._buffer) and not self._more():
                raise BackendUnavailableError(f"the download from {self._label} ended early")
            end = self._buffer.find(b"\n", self._position)
            if end >= 0:
                line += self._buffer[self._position : end]
                self._position = end + 1
                break
            line += self._buffer[self._position :]
            self._position = len(self._buffer)
            if len(line) > self.MAX_LINE:
                raise BackendUnavailableError(f"{self._label} sent a malformed download")
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            value = None
        if not isinstance(value, dict):
            raise BackendUnavailableError(f"{self._label} sent a malformed download")
        return value

    def next_file(self, asset_id: str, size: int) -> FrameReader:
        """The reader of the next file, which must be ``asset_id`` of ``size`` bytes."""
        head = self._line()
        if head.get("asset_id") != asset_id or head.get("size") != size:
            raise BackendUnavailableError(
                f"{self._label} sent {head.get('asset_id')!r} ({head.get('size')} bytes) where "
                f"{asset_id!r} ({size} bytes) was asked for"
            )
        self._count += 1
        return FrameReader(self, size)

    def finish(self) -> None:
        """Check the answer's last line."""
        tail = self._line()
        if tail.get("end") is not True or tail.get("count") != self._count:
            raise BackendUnavailableError(f"{self._label} sent a malformed download")

    def close(self) -> None:
        self._response.close()


class FrameReader(io.RawIOBase):
    """One file of a :class:`FramedFiles` answer (``size`` bytes of it)."""

    def __init__(self, frames: FramedFiles, size: int) -> None:
        super().__init__()
        self._frames = frames
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view) and self._left:
            piece = self._frames.take(min(len(view) - filled, self._left))
            if not piece:
                raise BackendUnavailableError("a batch download ended in the middle of a file")
            view[filled : filled + len(piece)] = piece
            filled += len(piece)
            self._left -= len(piece)
        return filled

    def drain(self) -> None:
        """Skip what was not read of this file."""
        while self._left:
            piece = self._frames.take(min(self._left, 1 << 20))
            if not piece:
                raise BackendUnavailableError("a batch download ended in the middle of a file")
            self._left -= len(piece)

    def close(self) -> None:  # the answer stays open for the next file
        super().close()


def _lines(response: httpx.Response, base_url: str) -> Iterator[dict[str, Any]]:
    pending = b""
    count = 0
    try:
        for chunk in response.iter_bytes():
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for line in lines:
                if not line:
                    continue
                doc = orjson.loads(line)
                if isinstance(doc, dict) and doc.get("end") is True and "asset_uri" not in doc:
                    if doc.get("count") != count:
                        raise BackendUnavailableError(
                            f"{base_url} sent {count} records, its answer says {doc.get('count')}"
                        )
                    return
                count += 1
                yield doc
    except httpx.HTTPError as exc:
        raise BackendUnavailableError(f"the listing from {base_url} broke off: {exc}") from exc
    except orjson.JSONDecodeError as exc:
        raise BackendUnavailableError(f"{base_url} sent a listing that is not NDJSON") from exc
    raise BackendUnavailableError(
        f"the listing from {base_url} ended after {count} records without its last line"
    )


__all__ = [
    "BatchLimits",
    "FilePart",
    "FrameReader",
    "FramedFiles",
    "batches",
    "form",
    "ndjson_records",
    "post_streamed",
]
