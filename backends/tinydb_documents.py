"""Documents in one TinyDB file, safe with several processes and with crashes.

The file is TinyDB's own format (``{"table": {"1": {...}, "2": {...}}}``); stock
``tinydb.TinyDB(path)`` opens it. What this module adds around TinyDB's storage contract:

* every write holds a file lock (``path + ".lock"``) from read to replace, so concurrent
  processes never lose each other's changes;
* a write goes to a temp file in the same directory, is fsynced, gets the old file's mode,
  and replaces the file with ``os.replace``; then the directory is fsynced. A crash leaves
  the old file or the new one, never a mix;
* reads take no lock: a replaced file is whole. The parsed file is cached while the path still
  names the same inode with the same size and mtime; the cache holds that inode open, so the
  number cannot be reused by a newer file. Another process's write is therefore seen on the
  next call, and an unchanged file is never parsed twice;
* documents are looked up by their unique key through an index, not by scanning.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import filelock
import orjson
from tinydb.storages import Storage

from assetstore.backends.fsspec_blobs import ensure_dir
from assetstore.backends.in_process import InProcessDocumentStore, Snapshot, copy_document
from assetstore.errors import BackendUnavailableError, IntegrityError

#: Seconds a writer waits for another process's write before giving up.
LOCK_TIMEOUT = 120.0
_LOCK_POLL_INTERVAL = 0.001


class AtomicJSONStorage(Storage):
    """A TinyDB ``Storage``: whole-file JSON, replaced atomically and durably, read through a
    cache that is checked against the file on every call.

    It can be given to TinyDB itself: ``TinyDB(path, storage=AtomicJSONStorage)``."""

    def __init__(self, path: str | os.PathLike[str], **_: Any) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._cached_key: tuple[int, int, int, int] | None = None
        self._cached_data: dict[str, Any] | None = None
        self._cached_fd: int | None = None

    def read_shared(self) -> dict[str, Any] | None:
        """The current content, shared with other callers: never mutate it."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None
        key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
        with self._lock:
            if key == self._cached_key:
                return self._cached_data
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            stat = os.fstat(fd)
            with os.fdopen(os.dup(fd), "rb") as file:
                raw = file.read()
            data = orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError as exc:
            os.close(fd)
            raise IntegrityError(f"{self.path} is not valid JSON: {exc}") from None
        except BaseException:
            os.close(fd)
            raise
        if not isinstance(data, dict):
            os.close(fd)
            raise IntegrityError(f"{self.path} does not hold a TinyDB JSON object")
        self._remember((stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns), data, fd)
        return data

    def _remember(self, key: tuple[int, int, int, int], data: dict[str, Any], fd: int) -> None:
        with self._lock:
            old_fd, self._cached_fd = self._cached_fd, fd
            self._cached_key, self._cached_data = key, data
        if old_fd is not None:
            os.close(old_fd)

    def _forget(self) -> None:
        with self._lock:
            old_fd, self._cached_fd = self._cached_fd, None
            self._cached_key = self._cached_data = None
        if old_fd is not None:
            os.close(old_fd)

    @property
    def size(self) -> int:
        """The size in bytes of the file last read or written (0 before)."""
        key = self._cached_key
        return key[2] if key else 0

    def read(self) -> dict[str, Any] | None:
        """TinyDB's read: a private copy of the content, or None if there is no file."""
        data = self.read_shared()
        return None if data is None else copy_document(data)

    def write(self, data: dict[str, Any]) -> None:
        """Replace the file with ``data`` atomically and durably (callers hold the lock).

        ``data`` becomes the cached content: the caller must not mutate it afterwards."""
        directory = self.path.parent
        ensure_dir(directory)
        try:
            mode = os.stat(self.path).st_mode & 0o7777
        except FileNotFoundError:
            mode = None
        tmp = directory / f".{self.path.name}.{uuid.uuid4().hex}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            payload = orjson.dumps(data)
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
            if mode is not None:
                os.fchmod(fd, mode)
            os.fsync(fd)
            stat = os.fstat(fd)
            os.replace(tmp, self.path)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            self._forget()
            raise
        try:
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except BaseException:
            os.close(fd)  # the file is in place; only its durability is in doubt
            self._forget()
            raise
        self._remember((stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns), data, fd)

    def close(self) -> None:
        self._forget()


class TinyDBDocumentStore(InProcessDocumentStore):
    """One table of a TinyDB file as a :class:`~assetstore.interfaces.DocumentStore`."""

    def __init__(self, path: str | os.PathLike[str], *, table: str, key_field: str,
                 lock_timeout: float = LOCK_TIMEOUT) -> None:
        super().__init__(key_field)
        self.path = Path(path)
        self._table = table
        self._storage = AtomicJSONStorage(self.path)
        self._file_lock = filelock.FileLock(
            f"{self.path}.lock", timeout=lock_timeout, thread_local=False,
            poll_interval=_LOCK_POLL_INTERVAL,
        )
        self._thread_lock = threading.Lock()
        self._lock_timeout = lock_timeout
        # (file content, its snapshot), swapped as one reference so readers need no lock.
        self._cached: tuple[dict[str, Any] | None, Snapshot] = (None, Snapshot({}, key_field))

    def __repr__(self) -> str:
        return f"TinyDBDocumentStore({str(self.path)!r}, table={self._table!r})"

    def _snapshot_of(self, data: dict[str, Any] | None) -> Snapshot:
        if data is None:
            return Snapshot({}, self.key_field)
        source, snapshot = self._cached
        if data is not source:
            snapshot = Snapshot(data.get(self._table, {}), self.key_field)
            self._cached = (data, snapshot)
        return snapshot

    def _current(self) -> Snapshot:
        return self._snapshot_of(self._storage.read_shared())

    def _write(self, change: Callable[[Snapshot], Snapshot]) -> None:
        with self._thread_lock:
            ensure_dir(self.path.parent)
            try:
                self._file_lock.acquire()
            except filelock.Timeout:
                raise BackendUnavailableError(
                    f"{self.path} stayed locked by another writer for {self._lock_timeout:.0f}s"
                ) from None
            try:
                data = self._storage.read_shared() or {}
                new = change(self._snapshot_of(data))
                new_data = {**data, self._table: new.table}
                self._storage.write(new_data)
                self._cached = (new_data, new)
            finally:
                self._file_lock.release()

    def remove_incomplete(self, older_than: float) -> list[str]:
        cutoff = time.time() - older_than
        removed = []
        for tmp in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                if tmp.stat().st_mtime <= cutoff:
                    tmp.unlink()
                    removed.append(tmp.name)
        return removed

    def close(self) -> None:
        self._storage.close()
