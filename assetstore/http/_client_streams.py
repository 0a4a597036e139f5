"""Byte streams of the HTTP client: responses read as files (verified by the caller), and
multipart upload bodies generated chunk by chunk from the source."""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import secrets
from collections.abc import Iterator
from typing import Any

import httpx

from assetstore.errors import BackendUnavailableError
from assetstore.models import Progress


class ResponseReader(io.RawIOBase):
    """A file object over a streamed response body (anything with ``readinto`` and
    ``close``); closing it closes the response. ``readinto`` fills the caller's buffer, so a
    reader with a 1 MiB buffer makes one call per MiB, not one per network read. With
    ``exact`` (a range, which nothing else verifies), a body that ends before ``expected``
    bytes raises."""

    def __init__(self, body: Any, label: str, expected: int, *, exact: bool = False) -> None:
        super().__init__()
        self._body = body
        self._label = label
        self._expected = expected
        self._exact = exact
        self._seen = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            try:
                count = self._body.readinto(view[filled:])
            except (OSError, http.client.HTTPException, httpx.HTTPError) as exc:
                raise BackendUnavailableError(
                    f"the download of {self._label} was cut off after "
                    f"{self._seen + filled} of {self._expected} bytes ({type(exc).__name__}); "
                    "if it happens again the stored file may be corrupt: the server stops "
                    "sending when its verification fails"
                ) from exc
            if not count:
                if self._exact and not filled and self._seen < self._expected:
                    raise BackendUnavailableError(f"the range of {self._label} ended early")
                break
            filled += count
        self._seen += filled
        return filled

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def multipart_body(
    fields_json: bytes,
    filename: str,
    content_type: str | None,
    chunks: Iterator[bytes],
    size: int | None,
    progress: Progress | None,
) -> tuple[dict[str, str], Iterator[bytes]]:
    """Headers and a streamed body of the upload form: ``asset_metadata`` then ``asset``."""
    boundary = "assetstore-" + secrets.token_hex(16)
    # A quoted-string (RFC 7578 4.2): backslash-escape '"' and '\\'; line breaks cannot be
    # sent in a header and the server drops control characters anyway.
    safe_name = (
        filename.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")
    )
    head = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="asset_metadata"\r\n'
            "Content-Type: application/json\r\n\r\n"
        ).encode()
        + fields_json
        + (
            f"\r\n--{boundary}\r\n"
            f'Content-Disposition: form-data; name="asset"; filename="{safe_name}"\r\n'
            f"Content-Type: {content_type or 'application/octet-stream'}\r\n\r\n"
        ).encode()
    )
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        for chunk in chunks:
            if progress is not None:
                progress(len(chunk))
            yield chunk
        yield tail

    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if size is not None:
        headers["Content-Length"] = str(len(head) + size + len(tail))
    return headers, body()


def source_size(source: Any) -> int | None:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return memoryview(source).nbytes
    if isinstance(source, (str, os.PathLike)):
        with contextlib.suppress(OSError):
            return os.stat(source).st_size
        return None
    with contextlib.suppress(Exception):
        if source.seekable():
            here = source.tell()
            end = source.seek(0, os.SEEK_END)
            source.seek(here)
            return int(end - here)
    return None
