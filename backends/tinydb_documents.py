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
* documents are looked up by their unique key through an index, not by scanning;
* damage is found, never taken for something else: the file is sealed with its own sha256
  (:mod:`assetstore.backends._sealed_json`, still a plain TinyDB file), journal records
  carry checksums and sequence numbers, and the two must agree (the journal continues the
  very change the file ends at). A damaged file, record or table, a journal that went
  missing, or a file older than its journal raises :class:`DamageError` naming the file
  and the record, on reads and writes alike; :meth:`TinyDBDocumentStore.check` lists all
  of it for ``fsck``.

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
from assetstore._gc import gc_paused
from assetstore.backends._journal import Cursor, Entry, Journal, JournalRead
from assetstore.backends._sealed_json import seal, unseal
from assetstore.backends._snapshots import InProcessDocumentStore, Snapshot, copy_document
from assetstore.errors import BackendUnavailableError, DamageError
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


FileKey = tuple[int, int, int, int]


def _key_of(stat: os.stat_result) -> FileKey:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


class AtomicJSONStorage(Storage):
    """A TinyDB ``Storage``: whole-file JSON, sealed with its sha256, replaced atomically
    and durably, read through a cache that is checked against the file on every call.

    It can be given to TinyDB itself: ``TinyDB(path, storage=AtomicJSONStorage)``."""

    def __init__(self, path: str | os.PathLike[str], **_: Any) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._cached_key: FileKey | None = None
        self._cached_data: dict[str, Any] | None = None
        self._cached_fd: int | None = None

    def read_shared(self) -> dict[str, Any] | None:
        """The current content, shared with other callers: never mutate it."""
        return self.read_versioned()[1]

    def read_versioned(self) -> tuple[FileKey | None, dict[str, Any] | None]:
        """The file's identity (device, inode, size, mtime) and its content, shared with
        other callers (never mutate it); ``(None, None)`` if there is no file.
        :class:`DamageError` if the file is not a JSON object or fails its seal."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None, None
        key = _key_of(stat)
        with self._lock:
            if key == self._cached_key:
                return key, self._cached_data
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None, None
        try:
            stat = os.fstat(fd)
            with os.fdopen(os.dup(fd), "rb") as file:
                raw = file.read()
            data = unseal(raw, str(self.path))
        except BaseException:
            os.close(fd)
            raise
        key = _key_of(stat)
        self._remember(key, data, fd)
        return key, data

    def changed_since(self, key: FileKey | None) -> bool:
        """Whether the path names another file (or content) than ``key`` now."""
        try:
            return _key_of(os.stat(self.path)) != key
        except FileNotFoundError:
            return key is not None

    def _remember(self, key: FileKey, data: dict[str, Any], fd: int) -> None:
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

    @property
    def key(self) -> FileKey | None:
        """The identity of the file last read or written."""
        return self._cached_key

    def read(self) -> dict[str, Any] | None:
        """TinyDB's read: a private copy of the content, or None if there is no file."""
        data = self.read_shared()
        return None if data is None else copy_document(data)

    def write(self, data: dict[str, Any]) -> None:
        """Replace the file with ``data``, sealed, atomically and durably (callers hold
        the lock). ``data`` becomes the cached content: the caller must not mutate it."""
        ensure_dir(self.path.parent)
        try:
            fd, stat = replace_durably(self.path, seal(data))
        except BaseException:
            self._forget()
            raise
        self._remember(_key_of(stat), data, fd)

    def close(self) -> None:
        self._forget()


class _State(NamedTuple):
    """What a reader knows: the file as parsed, and the journal records applied on top."""

    base: dict[str, Any] | None  # the file's content (shared: never mutate)
    base_key: FileKey | None  # the file it was parsed from
    base_seq: int  # the last change folded into the file
    snapshot: Snapshot  # the table with every change up to ``seq``
    seq: int
    journal: Cursor | None  # where the journal was read up to (None: no journal)
    torn: int  # bytes of a torn tail past ``journal.end``


def _is_operation(op: object, key_field: str) -> bool:
    """``["put", document with its key]`` or ``["del", key]``."""
    if not isinstance(op, list) or len(op) != 2:
        return False
    if op[0] == "put":
        return isinstance(op[1], dict) and isinstance(op[1].get(key_field), str)
    return op[0] == "del" and isinstance(op[1], str)


def _json_type(value: object) -> str:
    names: dict[type, str] = {dict: "object", list: "array", str: "string"}
    return names.get(type(value), type(value).__name__)


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
        self._state = _State(None, None, 0, Snapshot({}, key_field), 0, None, 0)
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
    def _from_file(self, key: FileKey | None, base: dict[str, Any] | None) -> _State:
        """The state the file holds; :class:`DamageError` naming what is malformed."""
        data = base or {}
        name, table_name = str(self.path), self._table
        table = data.get(table_name, {})
        if not isinstance(table, dict):
            raise DamageError(
                f"{name}: table {table_name!r} is a JSON {_json_type(table)}, not an object of "
                "records; restore the file from a backup"
            )
        for doc_id, doc in table.items():
            if not isinstance(doc, dict) or not isinstance(doc.get(self.key_field), str):
                raise DamageError(
                    f"{name}: record {doc_id} of table {table_name!r} is not a document with "
                    f"a {self.key_field}; restore the file from a backup"
                )
        snapshot = Snapshot(table, self.key_field)
        if len(snapshot) != len(table):
            keys = [doc[self.key_field] for doc in table.values()]
            twice = next(k for k in keys if keys.count(k) > 1)
            raise DamageError(f"{name}: table {table_name!r} holds {twice!r} twice")
        marker = data.get(JOURNAL_TABLE, {"1": {"seq": 0}})
        seq = marker.get("1", {}).get("seq") if isinstance(marker, dict) else None
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise DamageError(f"{name}: table {JOURNAL_TABLE!r} is malformed")
        return _State(base, key, seq, snapshot, seq, None, 0)

    def _refresh(self) -> _State:
        """The latest committed state: the file, plus the journal's records past it.
        :class:`DamageError` if either is damaged or the two do not fit together."""
        for _ in range(_READ_ATTEMPTS):
            with gc_paused():  # a changed file is parsed and made a snapshot here
                key, base = self._storage.read_versioned()
                state = self._state
                if base is not state.base:
                    state = self._from_file(key, base)
            read = self._journal.read(state.journal)
            if read.damage:
                raise DamageError(self._describe(read))
            if read.cursor is None:
                if state.journal is not None or (base is not None and JOURNAL_TABLE in base):
                    if self._storage.changed_since(key):
                        continue
                    raise DamageError(self._journal_missing(state))
                self._state = state
                return state
            if read.from_start:
                if state.journal is not None or state.seq != state.base_seq:
                    state = self._from_file(key, base)
                if not read.cursor.base <= state.base_seq <= read.cursor.seq:
                    if self._storage.changed_since(key):
                        continue  # a checkpoint replaced both since the file was read
                    raise DamageError(self._mismatch(state, read.cursor))
            entries = [entry for entry in read.entries if entry.record["seq"] > state.seq]
            snapshot = state.snapshot
            if entries:
                snapshot = snapshot.with_ops([op for entry in entries for op in self._ops(entry)])
            state = state._replace(
                snapshot=snapshot,
                seq=state.seq + len(entries),
                journal=read.cursor,
                torn=read.torn,
            )
            self._state = state
            return state
        raise BackendUnavailableError(f"{self.path} kept changing while it was being read")

    def _ops(self, entry: Entry) -> list[Any]:
        """The operations of a journal record, checked: DamageError names the record."""
        record = entry.record
        ops = record.get("ops")
        problem = ""
        if record.get("table") != self._table:
            problem = f"the change is to table {record.get('table')!r}, not {self._table!r}"
        elif not isinstance(ops, list):
            problem = "the change has no list of operations"
        else:
            for op in ops:
                if not _is_operation(op, self.key_field):
                    problem = f"a malformed operation {orjson.dumps(op)[:60].decode()}"
                    break
        if problem:
            raise DamageError(
                f"{self._journal.path}, line {entry.line} (byte {entry.offset}): {problem}"
            )
        return ops if isinstance(ops, list) else []

    def _describe(self, read: JournalRead) -> str:
        first = read.damage[0]
        follow = (
            f"; {read.intact_after} intact change(s) follow it, so this is damage, not an "
            "interrupted write"
            if read.intact_after
            else ""
        )
        return (
            f"{first}{follow}; nothing was changed: run `assetstore fsck` for every problem "
            "and restore the journal from a backup"
        )

    def _journal_missing(self, state: _State) -> str:
        return (
            f"{self._journal.path} is missing, but {self.path.name} was written with a journal: "
            f"changes made after change {state.base_seq} may be lost; restore the journal "
            "from a backup"
        )

    def _mismatch(self, state: _State, cursor: Cursor) -> str:
        if state.base is None:
            return (
                f"{self.path} is missing, but its journal {self._journal.path.name} continues "
                f"from change {cursor.base}: restore {self.path.name} from a backup"
            )
        if cursor.base > state.base_seq:
            return (
                f"{self._journal.path.name} continues from change {cursor.base}, but "
                f"{self.path} holds changes up to {state.base_seq} only: the file is older "
                "than its journal; restore the pair from one backup"
            )
        return (
            f"{self._journal.path.name} ends at change {cursor.seq}, but {self.path} holds "
            f"changes up to {state.base_seq}: the journal is older than the file; restore "
            "the pair from one backup"
        )

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
            raise DamageError(f"{self._indexes_path} is not a list of indexes: {exc}") from exc
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

    def has_history(self) -> bool:
        """Whether a change was ever committed to this file and journal (sequence number
        above 0): an emptied table has a history, a deleted or blanked-out pair has none."""
        return self._refresh().seq > 0

    def check(self) -> list[str]:
        """Every damage to be seen in the file and its journal, one line each (``fsck``
        lists them); read afresh, not from this store's cache."""
        fresh = TinyDBDocumentStore(self.path, table=self._table, key_field=self.key_field)
        problems: list[str] = []
        try:
            fresh._refresh()
        except DamageError as exc:
            problems.append(str(exc))
        try:
            read = fresh._journal.read()
        finally:
            fresh._storage.close()
            fresh._journal.close()
        problems.extend(str(damage) for damage in read.damage[1:])
        return problems

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
            journal, torn = state.journal, state.torn
            if journal is None:
                journal, torn = self._journal.reset(base=state.seq), 0
            cursor = self._journal.append(
                {"seq": state.seq + 1, "table": self._table, "ops": new.ops},
                after=journal,
                torn=torn,
            )
            state = state._replace(snapshot=new, seq=state.seq + 1, journal=cursor, torn=0)
            self._state = state
            if self._checkpoint_due(cursor.end):
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
        self._keep_if_damaged()
        data = {
            **(state.base or {}),
            self._table: state.snapshot.table,
            JOURNAL_TABLE: {"1": {"seq": state.seq}},
        }
        self._storage.write(data)
        key = self._storage.key
        cursor = self._journal.reset(base=state.seq)
        self._state = _State(data, key, state.seq, state.snapshot, state.seq, cursor, 0)

    def _keep_if_damaged(self) -> None:
        """Before a checkpoint replaces the journal: if the journal on disk was damaged
        after this process read it (so this process holds every change, read intact), keep
        the damaged journal beside it (``<journal>.damaged-<UTC time>``) and log the damage:
        the checkpoint folds intact changes, it does not hide the damage."""
        on_disk = self._journal.read()
        if not on_disk.damage:
            return
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        kept = self._journal.path.with_name(f"{self._journal.path.name}.damaged-{stamp}")
        fd, _ = replace_durably(kept, self._journal.path.read_bytes())
        os.close(fd)
        _log.error(
            "%s; this process read every change before the damage, so its checkpoint keeps "
            "them all; the damaged journal is kept as %s",
            on_disk.damage[0],
            kept.name,
        )

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
