"""Blobs on S3 and S3-compatible servers (AWS, MinIO, Ceph), through s3fs.

Writes are multipart uploads (a few parts in flight at once) that are completed only when
every part has been sent, so an object is invisible until it is whole; a failed or
interrupted write aborts its upload and leaves no object and no pending parts (``gc`` aborts
uploads abandoned by a crashed process). Memory stays at a few parts whatever the file size.

Settings are constructor arguments (``endpoint_url``, ``key``, ``secret``, ``region``,
``create_bucket``, ``checksums``); :mod:`assetstore.open` fills them from the environment
(``S3_ENDPOINT_URL``, ``AWS_*``...) through :mod:`assetstore.settings`. Credentials left
out here are found by botocore's own chain (its config files, instance roles).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from datetime import datetime
from typing import Any, BinaryIO

import s3fs
from aiohttp import ClientError as HTTPClientError
from botocore.exceptions import BotoCoreError

from assetstore.backends.fsspec_blobs import FsspecBlobStore
from assetstore.errors import AlreadyExistsError, BackendUnavailableError
from assetstore.ports import BlobInfo

#: Size of each multipart part and of each ranged read.
PART_SIZE = 8 << 20
#: Parts uploaded at once; memory held by an upload is about (PARALLEL_PARTS + 1) parts.
PARALLEL_PARTS = 2


def _parts(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Regroup chunks into parts of exactly ``size`` bytes (the last may be shorter; an empty
    stream gives one empty part), copying each byte once."""
    pending: list[bytes] = []
    pending_size = 0
    sent = False
    for chunk in chunks:
        pending.append(chunk)
        pending_size += len(chunk)
        if pending_size >= size:
            joined = b"".join(pending)
            pending.clear()
            for start in range(0, len(joined) - size + 1, size):
                yield joined[start : start + size] if len(joined) > size else joined
                sent = True
            rest = len(joined) % size
            if rest:
                pending.append(joined[-rest:])
            pending_size = rest
            del joined
    if pending_size or not sent:
        yield b"".join(pending)


class _MultipartUpload:
    """One object upload through s3fs's client: a single PUT if it fits in one part, else a
    multipart upload with a few parts in flight, completed only at the end."""

    def __init__(
        self, fs: s3fs.S3FileSystem, bucket: str, key: str, *, exclusive: bool, parallel: int
    ) -> None:
        self._fs = fs
        self._bucket = bucket
        self._key = key
        self._condition = {"IfNoneMatch": "*"} if exclusive else {}
        self._parallel = parallel
        self._first: bytes | None = None
        self._upload_id: str | None = None
        self._in_flight: list[tuple[int, Future[dict[str, Any]]]] = []
        self._done: list[dict[str, Any]] = []
        self.size = 0

    def _call(self, method: str, **kwargs: Any) -> Future[dict[str, Any]]:
        return asyncio.run_coroutine_threadsafe(
            self._fs._call_s3(method, Bucket=self._bucket, Key=self._key, **kwargs), self._fs.loop
        )

    def send(self, part: bytes) -> None:
        self.size += len(part)
        if self._first is None and self._upload_id is None:
            self._first = part  # held back: a one-part object is a plain PUT
            return
        if self._upload_id is None:
            self._upload_id = self._call("create_multipart_upload").result()["UploadId"]
            first, self._first = self._first, None
            self._start_part(first or b"")
        self._start_part(part)

    def _start_part(self, part: bytes) -> None:
        number = len(self._done) + len(self._in_flight) + 1
        while len(self._in_flight) >= self._parallel:
            self._finish_oldest()
        self._in_flight.append(
            (
                number,
                self._call("upload_part", PartNumber=number, UploadId=self._upload_id, Body=part),
            )
        )

    def _finish_oldest(self) -> None:
        number, future = self._in_flight.pop(0)
        self._done.append({"PartNumber": number, "ETag": future.result()["ETag"]})

    def complete(self) -> None:
        if self._upload_id is None:
            self._call("put_object", Body=self._first or b"", **self._condition).result()
            return
        while self._in_flight:
            self._finish_oldest()
        self._call(
            "complete_multipart_upload",
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._done},
            **self._condition,
        ).result()
        self._upload_id = None

    def abort(self) -> None:
        for _, future in self._in_flight:
            future.cancel()
        with contextlib.suppress(Exception):
            for _, future in self._in_flight:
                with contextlib.suppress(Exception):
                    future.result(timeout=30)
            if self._upload_id is not None:
                self._call("abort_multipart_upload", UploadId=self._upload_id).result(timeout=30)


@contextlib.contextmanager
def s3_errors(location: str) -> Iterator[None]:
    """Translate connection and permission failures into :class:`BackendUnavailableError`;
    ``FileNotFoundError`` and our own errors pass through."""
    try:
        yield
    except (FileNotFoundError, AlreadyExistsError):
        raise
    except PermissionError as exc:
        raise BackendUnavailableError(
            f"S3 refused access to {location}: check the credentials ({exc})"
        ) from exc
    except (BotoCoreError, HTTPClientError, ConnectionError, TimeoutError) as exc:
        raise BackendUnavailableError(f"cannot reach S3 for {location}: {exc}") from exc
    except OSError as exc:
        if type(exc) is OSError or exc.__class__.__module__.startswith(("aiohttp", "botocore")):
            raise BackendUnavailableError(f"S3 error for {location}: {exc}") from exc
        raise


class _ObjectReader(io.RawIOBase):
    """An S3 object being read: s3fs fetches its bytes on ``read`` (one ranged GET per
    block), long after ``open``, so each call maps its errors too (:func:`s3_errors`)."""

    def __init__(self, file: BinaryIO, location: str) -> None:
        super().__init__()
        self._file = file
        self._location = location

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        with s3_errors(self._location):
            return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        with s3_errors(self._location):
            data = self._file.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._file.close()
        super().close()


class S3BlobStore(FsspecBlobStore):
    """Blobs under ``s3://bucket/prefix``."""

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        key: str | None = None,
        secret: str | None = None,
        region: str | None = None,
        create_bucket: bool = False,
        checksums: str | None = None,
        part_size: int = PART_SIZE,
        parallel_parts: int = PARALLEL_PARTS,
        fs: s3fs.S3FileSystem | None = None,
        **storage_options: Any,
    ) -> None:
        if fs is None:
            client_kwargs = dict(storage_options.pop("client_kwargs", {}))
            if region:
                client_kwargs.setdefault("region_name", region)
            # Other processes add blobs at any time: a cached listing (left by list(), i.e.
            # gc or fsck) would make open() of their new blobs fail with FileNotFoundError.
            storage_options.setdefault("use_listings_cache", False)
            fs = s3fs.S3FileSystem(
                endpoint_url=endpoint_url or None,
                key=key or None,
                secret=secret or None,
                client_kwargs=client_kwargs,
                config_kwargs={
                    "connect_timeout": 5,
                    "read_timeout": 60,
                    "retries": {"max_attempts": 3},
                    "request_checksum_calculation": checksums or "when_required",
                },
                **storage_options,
            )
        super().__init__(url, fs=fs)
        self.bucket = self.root.split("/", 1)[0]
        self.part_size = part_size
        self.parallel_parts = parallel_parts
        with s3_errors(self.url):
            if not self.fs.exists(self.bucket):
                if not create_bucket:
                    raise BackendUnavailableError(
                        f"bucket {self.bucket!r} does not exist; create it, or pass "
                        "create_bucket=True (ASSETSTORE_S3_CREATE_BUCKET=1)"
                    )
                with contextlib.suppress(FileExistsError):
                    self.fs.call_s3("create_bucket", Bucket=self.bucket)
                self.fs.invalidate_cache()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> S3BlobStore:
        """``s3://bucket/prefix`` (or ``s3a://``) with the constructor's options."""
        if url.lower().startswith("s3a://"):
            url = "s3://" + url[len("s3a://") :]
        return cls(url, **options)

    def write(
        self, key: str, chunks: Iterable[bytes], *, overwrite: bool = True, sync: bool = True
    ) -> int:
        path = self._path(key)
        upload = _MultipartUpload(
            self.fs,
            self.bucket,
            path[len(self.bucket) + 1 :],
            exclusive=not overwrite,
            parallel=self.parallel_parts,
        )
        with s3_errors(self.url):
            try:
                for part in _parts(chunks, self.part_size):
                    upload.send(part)
                upload.complete()
            except BaseException as exc:
                upload.abort()
                if isinstance(exc, FileExistsError):
                    raise AlreadyExistsError(f"blob {key!r} already exists") from exc
                raise
            finally:
                self.fs.invalidate_cache(path)
        return upload.size

    def _open_file(self, key: str) -> BinaryIO:
        with s3_errors(self.url):
            file = self.fs.open(
                self._path(key), "rb", block_size=self.part_size, cache_type="readahead"
            )
        return _ObjectReader(file, self.url)  # type: ignore[return-value]

    def size(self, key: str) -> int | None:
        with s3_errors(self.url):
            try:
                return int(self.fs.info(self._path(key), refresh=True)["size"])
            except FileNotFoundError:
                return None

    def delete(self, key: str) -> None:
        with s3_errors(self.url), contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._path(key))
        self.fs.invalidate_cache(self._path(key))

    def list_blobs(self, prefix: str) -> Iterator[BlobInfo]:
        self.fs.invalidate_cache()
        with s3_errors(self.url):
            yield from super().list_blobs(prefix)

    def remove_incomplete(self, older_than: float) -> list[str]:
        """Abort multipart uploads under this store's prefix started over ``older_than``
        seconds ago (a crashed writer's parts cost storage until aborted)."""
        cutoff = time.time() - older_than
        prefix = self.root[len(self.bucket) + 1 :]
        removed = []
        with s3_errors(self.url):
            uploads = self.fs.call_s3(
                "list_multipart_uploads", Bucket=self.bucket, Prefix=prefix
            ).get("Uploads", [])
            for upload in uploads:
                started = upload.get("Initiated")
                if isinstance(started, datetime) and started.timestamp() > cutoff:
                    continue
                self.fs.call_s3(
                    "abort_multipart_upload",
                    Bucket=self.bucket,
                    Key=upload["Key"],
                    UploadId=upload["UploadId"],
                )
                removed.append(f"multipart upload of {upload['Key']}")
        return removed


__all__ = ["S3BlobStore"]
