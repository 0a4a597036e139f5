"""Blob stores on fsspec file systems: one family for every fsspec URL.

* :class:`FsspecBlobStore`: any fsspec file system (``memory://``, ``gcs://``...): writes go to
  a temporary key and are moved into place when whole.
* :class:`LocalBlobStore`: local directories, durable: temp file, fsync, rename, directory fsync.
* ``S3BlobStore`` (``assetstore.backends.s3``): multipart uploads that stay invisible until
  completed, aborted on failure.

Keys come from the core, but a key is never trusted to stay inside the store: one with an
empty, ``.`` or ``..`` segment, a backslash or a NUL is refused (:func:`check_key`). The local
store also refuses any path that resolves outside its root (a symbolic link inside the
store pointing elsewhere), refuses to open a store whose top-level data directories
(``objects/``, ``.tmp/``) are symbolic links, and lists (for ``gc`` and ``fsck``) only
regular files, never descending into a linked directory: ``gc`` cannot be steered into
deleting files elsewhere.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import fsspec

from assetstore._fileio import ensure_dir, fsync_dir, local_path, sync_filesystem
from assetstore.errors import AlreadyExistsError, IntegrityError, InvalidInputError
from assetstore.ports import BlobInfo, BlobStore, ResumableWrite

#: Where writes in progress live, under the store's root.
TMP_PREFIX = ".tmp/"
#: The store's top-level data directories: a symbolic link in their place is refused.
DATA_DIRECTORIES = ("objects", ".tmp")
#: Bytes between two background flushes of a large file being written.
WRITEBACK_EVERY = 32 << 20
#: Smallest write to a local file: below about 2 MiB per call, writing costs several times
#: more per byte (measured on ext4), so smaller incoming chunks are joined first.
WRITE_SIZE = 4 << 20


def _coalesced(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """The chunks, with runs of small ones joined into blocks of at least ``size`` bytes."""
    pending: list[bytes] = []
    pending_size = 0
    for chunk in chunks:
        if not pending and len(chunk) >= size:
            yield chunk
            continue
        pending.append(chunk)
        pending_size += len(chunk)
        if pending_size >= size:
            yield b"".join(pending)
            pending.clear()
            pending_size = 0
    if pending:
        yield b"".join(pending)


class RangeReader(io.RawIOBase):
    """Reads at most ``length`` bytes from ``raw`` (already positioned at the start)."""

    def __init__(self, raw: BinaryIO, length: int) -> None:
        super().__init__()
        self._raw = raw
        self._left = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")[: self._left]
        if not view:
            return 0
        if hasattr(self._raw, "readinto"):
            count = self._raw.readinto(view) or 0
        else:
            data = self._raw.read(len(view))
            count = len(data)
            view[:count] = data
        self._left -= count
        return count

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def check_key(key: str, *, prefix: bool = False) -> str:
    """``key`` if it names a place inside the store: relative, ``/``-separated, with no
    empty, ``.`` or ``..`` segment, no backslash and no NUL (a ``prefix`` may end in ``/``).
    ``InvalidInputError`` otherwise."""
    if not isinstance(key, str):
        raise InvalidInputError(f"blob key {key!r} is not a string")
    segments = key.split("/")
    if prefix and len(segments) > 1 and segments[-1] == "":
        segments.pop()
    if (
        not key
        or "\\" in key
        or "\x00" in key
        or any(segment in ("", ".", "..") for segment in segments)
    ):
        raise InvalidInputError(f"blob key {str(key)[:80]!r} does not name a place in the store")
    return key


def _timestamp(info: dict[str, Any]) -> float:
    for field in ("mtime", "LastModified", "last_modified", "modified", "created"):
        value = info.get(field)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return 0.0


class FsspecBlobStore(BlobStore):
    """Blobs under ``url`` on any fsspec file system."""

    def __init__(
        self, url: str, *, fs: fsspec.AbstractFileSystem | None = None, **storage_options: Any
    ) -> None:
        if fs is None:
            fs, root = fsspec.core.url_to_fs(url, **storage_options)
        else:
            root = fs._strip_protocol(url)
        self.fs = fs
        self.root = str(root).rstrip("/")
        self.url = url.rstrip("/")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    @classmethod
    def from_url(cls, url: str, **options: Any) -> FsspecBlobStore:
        """The blobs at an fsspec URL (``memory://name``...); ``options`` are fsspec's
        storage options."""
        return cls(url, **options)

    def _path(self, key: str) -> str:
        return f"{self.root}/{check_key(key, prefix=key.endswith('/'))}"

    def write(
        self, key: str, chunks: Iterable[bytes], *, overwrite: bool = True, sync: bool = True
    ) -> int:
        path = self._path(key)
        if not overwrite and self.fs.exists(path):
            raise AlreadyExistsError(f"blob {key!r} already exists")
        tmp = self._path(f"{TMP_PREFIX}{uuid.uuid4().hex}")
        size = 0
        try:
            with self.fs.open(tmp, "wb") as file:
                for chunk in chunks:
                    file.write(chunk)
                    size += len(chunk)
            if not overwrite and self.fs.exists(path):
                raise AlreadyExistsError(f"blob {key!r} already exists")
            self.fs.mv(tmp, path)
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.rm_file(tmp)
            raise
        return size

    def open(self, key: str, start: int = 0, end: int | None = None) -> BinaryIO:
        file = self._open_file(key)
        if start:
            file.seek(start)
        if end is None:
            return file
        return RangeReader(file, end - start)  # type: ignore[return-value]

    def _open_file(self, key: str) -> BinaryIO:
        """The blob opened for reading from its start."""
        return self.fs.open(self._path(key), "rb")

    def size(self, key: str) -> int | None:
        try:
            return int(self.fs.info(self._path(key))["size"])
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._path(key))

    def list_blobs(self, prefix: str) -> Iterator[BlobInfo]:
        base = self._path(prefix).rstrip("/")
        try:
            found = self.fs.find(base, detail=True, withdirs=False)
        except FileNotFoundError:
            return
        for path, info in found.items():
            key = path[len(self.root) + 1 :] if path.startswith(self.root + "/") else path
            yield BlobInfo(key=key, size=int(info.get("size") or 0), modified=_timestamp(info))

    def remove_incomplete(self, older_than: float) -> list[str]:
        cutoff = time.time() - older_than
        removed = []
        for info in self.list_blobs(TMP_PREFIX):
            if info.modified <= cutoff:
                self.delete(info.key)
                removed.append(info.key)
        return removed


class EarlyWriteback:
    """Flushes a file being written in a helper thread, every ``every`` bytes, so the disk
    works while the writer goes on reading and hashing; on exit, a final fsync makes the
    whole file durable. Small files never start the thread."""

    def __init__(self, fd: int, every: int = WRITEBACK_EVERY, *, durable: bool = True) -> None:
        self._fd = fd
        self._durable = durable
        self._every = every
        self._pending = 0
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._error: OSError | None = None

    def wrote(self, count: int) -> None:
        """Note ``count`` more bytes written."""
        if not self._durable:
            return
        self._pending += count
        if self._pending >= self._every:
            self._pending = 0
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, daemon=True, name="assetstore-writeback"
                )
                self._thread.start()
            self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                os.fdatasync(self._fd)
            except OSError as exc:
                self._error = exc
                return

    def __enter__(self) -> EarlyWriteback:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if self._thread is not None:
            self._stopping = True
            self._wake.set()
            self._thread.join()
        if exc_type is None and self._durable:
            if self._error is not None:
                raise self._error
            os.fsync(self._fd)


class LocalBlobStore(FsspecBlobStore):
    """Blobs in a local directory, written durably: temp file, fsync, rename, directory fsync.

    A reader never sees a partial blob, and a blob that ``write`` returned survives a crash."""

    @classmethod
    def from_url(cls, url: str, **options: Any) -> LocalBlobStore:
        """A directory, as a plain path or a ``file://`` URL."""
        if options:
            raise TypeError(f"unknown options for a local store: {sorted(options)}")
        root = local_path(url)
        if root.exists() and not root.is_dir():
            raise InvalidInputError(f"{str(root)!r} exists and is not a directory")
        return cls(root)

    def __init__(self, root: str | os.PathLike[str]) -> None:
        path = Path(root).expanduser().resolve()
        super().__init__(path.as_uri(), fs=fsspec.filesystem("file"))
        self.root = str(path)
        self._root = path
        self._refuse_linked_directories()

    def _refuse_linked_directories(self) -> None:
        """``IntegrityError`` if a top-level data directory is a symbolic link: ``gc`` and
        ``fsck`` would work on whatever it points to."""
        for name in DATA_DIRECTORIES:
            if (self._root / name).is_symlink():
                raise IntegrityError(
                    f"{self._root / name} is a symbolic link; the store refuses to work "
                    "through it (make it a real directory inside the store)"
                )

    def _inside(self, path: Path, what: Path) -> Path:
        real = os.path.realpath(what)
        if real != self.root and not real.startswith(self.root + os.sep):
            raise IntegrityError(
                f"{path.relative_to(self._root)} leads outside the store (a symbolic link?); "
                "refused"
            )
        return path

    def _file(self, key: str, *, follow: bool = True) -> Path:
        """The path of ``key``, which must resolve inside the root: the file itself (when
        ``follow``: it is read) or only its directory (it is created, replaced or removed,
        which never follows a final symbolic link)."""
        path = self._root / check_key(key)
        return self._inside(path, path if follow else path.parent)

    def write(
        self, key: str, chunks: Iterable[bytes], *, overwrite: bool = True, sync: bool = True
    ) -> int:
        self._refuse_linked_directories()
        target = self._file(key, follow=False)
        tmp_dir = self._root / TMP_PREFIX
        ensure_dir(tmp_dir)
        ensure_dir(target.parent)
        tmp = tmp_dir / uuid.uuid4().hex
        size = 0
        try:
            with (
                open(tmp, "xb", buffering=0) as file,
                EarlyWriteback(file.fileno(), durable=sync) as flusher,
            ):
                for block in _coalesced(chunks, WRITE_SIZE):
                    view = memoryview(block)
                    while view:
                        written = file.write(view)
                        view = view[written:]
                    size += len(block)
                    flusher.wrote(len(block))
            if overwrite:
                os.replace(tmp, target)
            else:
                try:
                    os.link(tmp, target)
                except FileExistsError as exc:
                    raise AlreadyExistsError(f"blob {key!r} already exists") from exc
                os.unlink(tmp)
            if sync:
                fsync_dir(target.parent)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return size

    def resume_write(self, key: str) -> ResumableWrite:
        """Through a partial file under ``.tmp/`` that a later process continues
        (:mod:`assetstore.backends._resumable`)."""
        from assetstore.backends._resumable import LocalResumableWrite

        return LocalResumableWrite(self._root, key, TMP_PREFIX)

    def sync_all(self) -> None:
        """One ``syncfs`` of the store's file system (``sync`` where it is missing)."""
        sync_filesystem(self._root)

    def _open_file(self, key: str) -> BinaryIO:
        return open(self._file(key), "rb", buffering=0)

    def size(self, key: str) -> int | None:
        path = self._root / check_key(key)
        try:
            path.lstat()
        except FileNotFoundError:
            return None
        try:
            return self._inside(path, path).stat().st_size
        except FileNotFoundError:  # a dangling link inside the store: no file
            return None

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._file(key, follow=False).unlink()

    def list_blobs(self, prefix: str) -> Iterator[BlobInfo]:
        """Regular files under ``prefix``: symbolic links are neither listed nor followed
        (a linked top-level directory is refused), so nothing outside the root is seen."""
        self._refuse_linked_directories()
        base = self._root / check_key(prefix, prefix=True)
        if base.is_symlink() or not base.is_dir():
            return
        self._inside(base, base)
        for directory, _, files in os.walk(base, followlinks=False):
            for name in files:
                path = Path(directory) / name
                try:
                    info = path.lstat()
                except FileNotFoundError:
                    continue
                if not stat.S_ISREG(info.st_mode):
                    continue
                key = path.relative_to(self._root).as_posix()
                yield BlobInfo(key=key, size=info.st_size, modified=info.st_mtime)


__all__ = ["FsspecBlobStore", "LocalBlobStore", "check_key"]
