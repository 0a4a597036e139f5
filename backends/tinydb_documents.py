"""Documents in one TinyDB file, safe with several processes and with crashes.

The file is TinyDB's own format (``{"table": {"1": {...}, "2": {...}}}``); stock
``tinydb.TinyDB(path)`` opens it. What this module adds around TinyDB's storage contract:

* a change is one checksummed, fsynced append to ``<file>.journal``
  (:mod:`assetstore.backends._journal`): a small durable write instead of a rewrite of the
  whole file, so a change costs the same with ten or a hundred thousand documents;
* the journal is folded into the TinyDB file (a checkpoint) when it has grown to half the
  file's size, and when the store is closed: the file is written to a temp file, fsynced,
  given the old file's mode, renamed over the old one, and the directory fsynced. A crash
  leaves the old file or the new one, never a mix, and the journal says what follows;
* every write holds a file lock (``path + ".lock"``) from read to append, so concurrent
  processes never lose each other's changes;
* reads take no lock: the file is replaced whole, and journal records count only when
  complete. The parsed file is cached while the path names the same inode with the same
  size and mtime (the cache holds that inode open, so its number cannot be reused), and only
  journal records past what was already read are parsed. Another process's write is seen on
  the next call; an unchanged file is never parsed twice;
* documents are looked up by their unique key through an index, not by scanning.

Between checkpoints, a stock TinyDB reader of the file sees the state of the last
checkpoint; assetstore always reads the file and the journal together.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import filelock
import orjson
from tinydb.storages import Storage

from assetstore._fileio import ensure_dir, local_path, replace_durably
from assetstore.backends._journal import FileId, Journal
from assetstore.backends._snapshots import InProcessDocumentStore, Snapshot, copy_document
from assetstore.errors import BackendUnavailableError, IntegrityError
from assetstore.models import DEFAULT_INDEXES

#: Seconds a writer waits for another process's write before giving up.
LOCK_TIMEOUT = 120.0
_LOCK_POLL_INTERVAL = 0.001
#: The journal beside the TinyDB file: ``metadata.json.journal``.
JOURNAL_SUFFIX = ".journal"
#: Beside the TinyDB file: the indexes declared with create_index.
INDEXES_SUFFIX = ".indexes"
#: The TinyDB table recording the last journal change folded into the file.
JOURNAL_TABLE = "_journal"
#: A checkpoint folds the journal into the file once the journal is this large, or half
#: the file's size if that is more (the ``checkpoint_bytes`` argument, from
#: ``ASSETSTORE_CHECKPOINT_BYTES``, overrides; 0 folds it after every change, as a store
#: without a journal would).
CHECKPOINT_BYTES = 1 << 20
_READ_ATTEMPTS = 50
_log = logging.getLogger("assetstore")


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
            raise IntegrityError(f"{self.path} is not valid JSON: {exc}") from exc
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
        ensure_dir(self.path.parent)
        try:
            fd, stat = replace_durably(self.path, orjson.dumps(data))
        except BaseException:
            self._forget()
            raise
        self._remember((stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns), data, fd)

    def close(self) -> None:
        self._forget()


class _State(NamedTuple):
    """What a reader knows: the file as parsed, and the journal records applied on top."""

    base: dict[str, Any] | None  # the file's content (shared: never mutate)
    base_seq: int  # the last change folded into the file
    snapshot: Snapshot  # the table with every change up to ``seq``
    seq: int
    journal_id: FileId | None
    journal_end: int


class TinyDBDocumentStore(InProcessDocumentStore):
    """One table of a TinyDB file as a :class:`~assetstore.contract.DocumentStore`.

    A change is one durable append to ``<file>.journal``; the journal is folded into the
    TinyDB file (a checkpoint) once it has grown to half the file's size (at least
    ``checkpoint_bytes``), and when the store is closed."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        table: str,
        key_field: str,
        lock_timeout: float = LOCK_TIMEOUT,
        checkpoint_bytes: int | None = None,
    ) -> None:
        super().__init__(key_field)
        self.path = Path(path)
        self._table = table
        self._storage = AtomicJSONStorage(self.path)
        self._journal = Journal(self.path.with_name(self.path.name + JOURNAL_SUFFIX))
        self._file_lock = filelock.FileLock(
            f"{self.path}.lock",
            timeout=lock_timeout,
            thread_local=False,
            poll_interval=_LOCK_POLL_INTERVAL,
        )
        self._thread_lock = threading.Lock()
        self._lock_timeout = lock_timeout
        self._checkpoint_bytes = CHECKPOINT_BYTES if checkpoint_bytes is None else checkpoint_bytes
        # Swapped as one reference, so readers need no lock.
        self._state = _State(None, 0, Snapshot({}, key_field), 0, None, 0)
        #: Indexes declared with create_index, kept beside the file (``<file>.indexes``).
        self._indexes_path = self.path.with_name(self.path.name + INDEXES_SUFFIX)
        self._indexes_stamp: tuple[int, int, int] | None = None
        self._read_declared()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        table: str,
        key_field: str,
        default_file: str,
        scope: Mapping[str, str] | None = None,
        **options: Any,
    ) -> TinyDBDocumentStore:
        """A TinyDB file (``.json``), or a directory to hold ``default_file``; a plain path
        or a ``file://`` URL. A file belongs to one store, so ``scope`` is not needed."""
        path = local_path(url)
        if path.suffix != ".json":
            path = path / default_file
        return cls(path, table=table, key_field=key_field, **options)

    def __repr__(self) -> str:
        return f"TinyDBDocumentStore({str(self.path)!r}, table={self._table!r})"

    # ------------------------------------------------------------------ reading
    def _from_file(self, base: dict[str, Any] | None) -> _State:
        data = base or {}
        seq = int(data.get(JOURNAL_TABLE, {}).get("1", {}).get("seq", 0))
        return _State(base, seq, Snapshot(data.get(self._table, {}), self.key_field), seq, None, 0)

    def _refresh(self) -> _State:
        """The latest committed state: the file, plus the journal's records past it."""
        for _ in range(_READ_ATTEMPTS):
            base = self._storage.read_shared()
            state = self._state
            if base is not state.base:
                state = self._from_file(base)
            read = self._journal.read(state.journal_id, state.journal_end)
            if read.file_id != state.journal_id:
                if state.seq != state.base_seq:
                    state = self._from_file(base)
                if read.base > state.base_seq:
                    continue  # the file was rewritten after we parsed it: parse it again
            records = [r for r in read.records if r["seq"] > state.seq]
            if any(r["seq"] != state.seq + 1 + i for i, r in enumerate(records)):
                continue  # a gap: we raced a checkpoint
            snapshot = state.snapshot
            if records:
                snapshot = snapshot.with_ops(
                    [(op, value) for r in records for op, value in r["ops"]]
                )
            state = _State(
                state.base,
                state.base_seq,
                snapshot,
                state.seq + len(records),
                read.file_id,
                read.end,
            )
            self._state = state
            return state
        raise BackendUnavailableError(f"{self.path} kept changing while it was being read")

    def _current(self) -> Snapshot:
        self._read_declared()
        return self._refresh().snapshot

    # ------------------------------------------------------------------ indexes
    def _read_declared(self) -> None:
        """Take the indexes another process declared since the last read."""
        try:
            stat = os.stat(self._indexes_path)
        except FileNotFoundError:
            return
        stamp = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if stamp == self._indexes_stamp:
            return
        try:
            declared = orjson.loads(self._indexes_path.read_bytes()).get("indexes", [])
        except (OSError, ValueError, AttributeError) as exc:
            raise IntegrityError(f"{self._indexes_path} is not a list of indexes: {exc}") from exc
        self.index_fields = self.index_fields | {str(field) for field in declared}
        self._indexes_stamp = stamp

    def _declared(self, fields: frozenset[str]) -> None:
        with self._locked():
            self._read_declared()
            extra = sorted(
                (fields | self.index_fields) - set(DEFAULT_INDEXES.get(self.key_field, ()))
            )
            fd, _ = replace_durably(self._indexes_path, orjson.dumps({"indexes": extra}))
            os.close(fd)
            self._indexes_stamp = None
            self._read_declared()

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock:
            ensure_dir(self.path.parent)
            try:
                self._file_lock.acquire()
            except filelock.Timeout as exc:
                raise BackendUnavailableError(
                    f"{self.path} stayed locked by another writer for {self._lock_timeout:.0f}s"
                ) from exc
            try:
                yield
            finally:
                self._file_lock.release()

    def _write(self, change: Callable[[Snapshot], Snapshot]) -> None:
        with self._locked():
            state = self._refresh()
            new = change(state.snapshot)
            if state.journal_id is None:
                read = self._journal.reset(base=state.seq)
                state = state._replace(journal_id=read.file_id, journal_end=read.end)
            end = self._journal.append(
                {"seq": state.seq + 1, "table": self._table, "ops": new.ops},
                after=state.journal_end,
            )
            state = state._replace(snapshot=new, seq=state.seq + 1, journal_end=end)
            self._state = state
            if self._checkpoint_due(end):
                try:
                    self._checkpoint(state)
                except OSError as exc:
                    # The change is committed (durable in the journal); folding it into the
                    # file is retried on the next write or close, so the call succeeds.
                    _log.warning("checkpoint of %s failed, will retry: %s", self.path, exc)

    def _checkpoint_due(self, journal_end: int) -> bool:
        if self._checkpoint_bytes <= 0:
            return True
        return journal_end >= max(self._checkpoint_bytes, self._storage.size // 2)

    def _checkpoint(self, state: _State) -> None:
        """Fold the journal into the file; then start an empty journal."""
        data = {
            **(state.base or {}),
            self._table: state.snapshot.table,
            JOURNAL_TABLE: {"1": {"seq": state.seq}},
        }
        self._storage.write(data)
        read = self._journal.reset(base=state.seq)
        self._state = _State(data, state.seq, state.snapshot, state.seq, read.file_id, read.end)

    def checkpoint(self) -> None:
        """Fold the journal into the TinyDB file now, if it holds any change."""
        with self._locked():
            state = self._refresh()
            if state.seq != state.base_seq:
                self._checkpoint(state)

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
        # The journal already holds every change durably; folding it in keeps the TinyDB
        # file current for other readers. If that fails (a full disk), nothing is lost.
        with contextlib.suppress(OSError, BackendUnavailableError):
            self.checkpoint()
        self._storage.close()
        self._journal.close()


__all__ = ["AtomicJSONStorage", "TinyDBDocumentStore"]
