"""The document-store logic shared by the backends that hold documents in this process
(memory and TinyDB): immutable snapshots, each write making a new one that shares almost
everything with the old.

A snapshot holds the documents in insertion order in a persistent vector, a persistent map
from the unique key to the document's slot, and secondary indexes (persistent maps from a
field's values to slots), so a write costs O(log n) whatever the store's size, and readers
take whichever snapshot is current without locking and never see a half-applied change.
Indexes are built the first time a query can use them and then kept up to date by every
write; :mod:`assetstore._planner` decides which documents a filter needs to look at, and the
compiled filter still checks each of them, so answers are the same with or without an index.

The TinyDB file keeps TinyDB's own layout (``{doc_id: document}``, doc ids the strings of
increasing integers): each slot remembers its document's doc id.
"""

from __future__ import annotations

import sys
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import immutables
import orjson
from pyrsistent import PVector, pvector

from assetstore._planner import IndexKey, index_keys, plan
from assetstore._sorting import compile_sort
from assetstore.errors import AlreadyExistsError
from assetstore.models import DEFAULT_INDEXES, Filter, Sort
from assetstore.ports import DocumentStore
from assetstore.query import compile_filter, run_query

Document = dict[str, Any]
Slot = tuple[int, Document]  # (TinyDB doc id, document)
Postings = immutables.Map[int, None]  # a persistent set of slots
_EMPTY_POSTINGS: Postings = immutables.Map()

#: Repeated string values (store ids, tags, sources, types) are interned when documents are
#: loaded, so a hundred thousand assets of one store share one copy of each.
_INTERN_LIMIT = 64


def copy_document(doc: Mapping[str, Any]) -> Document:
    """A deep copy of a JSON document (the fastest exact copy for JSON values)."""
    return orjson.loads(orjson.dumps(doc))


#: Fields whose strings repeat across the documents of a store (one store id, a few sources,
#: tags, versions, types, names shared by every version): held once each when interned.
_SHARED_FIELDS = ("assets_db_id", "asset_source", "asset_name", "updated_at")
_SHARED_IN = ("asset_version", "asset_file_info")


def share_strings(doc: Document) -> None:
    """Intern, in place, the strings of ``doc`` that documents of one store repeat (a
    hundred thousand assets then hold one copy of each), and let ``updated_at`` share
    ``created_at``'s string when they are equal. Values stay equal: only memory changes."""
    intern = sys.intern
    for field in _SHARED_FIELDS:
        value = doc.get(field)
        if value.__class__ is str and len(value) <= _INTERN_LIMIT:
            doc[field] = intern(value)
    created = doc.get("created_at")
    if created is not None and created == doc.get("updated_at"):
        doc["created_at"] = doc["updated_at"]
    for field in _SHARED_IN:
        inner = doc.get(field)
        if inner.__class__ is dict:
            for key, value in inner.items():
                if value.__class__ is str and len(value) <= _INTERN_LIMIT and key != "sha256":
                    inner[key] = intern(value)
    tags = doc.get("asset_tags")
    if tags.__class__ is list:
        for i, tag in enumerate(tags):
            if tag.__class__ is str and len(tag) <= _INTERN_LIMIT:
                tags[i] = intern(tag)


class FieldIndex:
    """The slots of the documents holding each value of one field (a dot path)."""

    __slots__ = ("_sorted", "path", "postings")

    def __init__(self, path: str, postings: immutables.Map[IndexKey, Postings]) -> None:
        self.path = path
        self.postings = postings
        self._sorted: dict[str, list[Any]] = {}

    @classmethod
    def build(cls, path: str, slots: Iterable[tuple[int, Document]]) -> FieldIndex:
        parts = tuple(path.split("."))
        found: dict[IndexKey, dict[int, None]] = {}
        for position, doc in slots:
            for key in index_keys(doc, parts):
                found.setdefault(key, {})[position] = None
        return cls(path, immutables.Map({k: immutables.Map(v) for k, v in found.items()}))

    def updated(
        self, changes: Iterable[tuple[int, Document | None, Document | None]]
    ) -> FieldIndex:
        """A new index after documents at slots changed from ``old`` to ``new``."""
        parts = tuple(self.path.split("."))
        with self.postings.mutate() as postings:
            for position, old, new in changes:
                old_keys = index_keys(old, parts) if old is not None else set()
                new_keys = index_keys(new, parts) if new is not None else set()
                for key in old_keys - new_keys:
                    remaining = postings.get(key, _EMPTY_POSTINGS).delete(position)
                    if remaining:
                        postings[key] = remaining
                    else:
                        del postings[key]
                for key in new_keys - old_keys:
                    postings[key] = postings.get(key, _EMPTY_POSTINGS).set(position, None)
            new_postings = postings.finish()
        return FieldIndex(self.path, new_postings)

    def lookup(self, key: IndexKey) -> Postings:
        """The slots whose field holds ``key``."""
        return self.postings.get(key, _EMPTY_POSTINGS)

    def sorted_values(self, kind: str) -> list[Any]:
        """The distinct values of one kind (``"s"`` strings, ``"n"`` numbers), sorted; made
        on first use for this index and kept with it."""
        values = self._sorted.get(kind)
        if values is None:
            values = sorted(value for k, value in self.postings if k == kind)
            self._sorted[kind] = values
        return values


class Snapshot:
    """One immutable state of a table. Never mutate a document it holds."""

    __slots__ = ("_indexes", "ids", "key_field", "next_id", "ops", "slots", "tombstones")

    def __init__(
        self,
        table: Mapping[str, Document],
        key_field: str,
    ) -> None:
        """A snapshot of a TinyDB table (``{doc_id: document}``). Its documents become the
        snapshot's: their repeated strings are interned in place (see :func:`share_strings`)."""
        items: Iterable[tuple[str, Document]] = table.items()
        last = 0
        for doc_id in table:  # files written here are in doc id order: no sort needed
            number = int(doc_id) if doc_id.isdigit() else -1
            if number <= last:
                items = sorted(table.items(), key=lambda item: _doc_id_order(item[0]))
                break
            last = number
        slots: list[Slot | None] = []
        ids: dict[str, int] = {}
        next_id = 1
        for doc_id, doc in items:
            found = int(doc_id) if doc_id.isdigit() else None
            if found is not None and found >= next_id:
                next_id = found + 1
            key = doc.get(key_field)
            if key is None:
                continue
            share_strings(doc)
            ids[key] = len(slots)
            slots.append((found if found is not None else -1, doc))
        self.key_field = key_field
        self.slots: PVector[Slot | None] = pvector(slots)
        self.ids: immutables.Map[str, int] = immutables.Map(ids)
        self.next_id = next_id
        self.tombstones = 0
        self.ops: list[tuple[str, Any]] = []
        self._indexes: dict[str, FieldIndex] = {}

    @classmethod
    def _make(
        cls,
        key_field: str,
        slots: PVector[Slot | None],
        ids: immutables.Map[str, int],
        next_id: int,
        tombstones: int,
        indexes: dict[str, FieldIndex],
        ops: list[tuple[str, Any]],
    ) -> Snapshot:
        snapshot = cls.__new__(cls)
        snapshot.key_field = key_field
        snapshot.slots = slots
        snapshot.ids = ids
        snapshot.next_id = next_id
        snapshot.tombstones = tombstones
        snapshot._indexes = indexes
        snapshot.ops = ops
        return snapshot

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self.ids)

    def get(self, key: str) -> Document | None:
        position = self.ids.get(key)
        if position is None:
            return None
        slot = self.slots[position]
        return None if slot is None else slot[1]

    def documents(self) -> Iterator[Document]:
        """Every document, in insertion order."""
        return (slot[1] for slot in self.slots if slot is not None)

    @property
    def table(self) -> dict[str, Document]:
        """The table as TinyDB lays it out: ``{doc_id: document}``."""
        table: dict[str, Document] = {}
        number = self.next_id
        for slot in self.slots:
            if slot is None:
                continue
            doc_id, doc = slot
            if doc_id < 0:  # a doc id that was not a number in the file: renumbered
                doc_id, number = number, number + 1
            table[str(doc_id)] = doc
        return table

    def index(self, path: str) -> FieldIndex:
        """The index of ``path``, built now if this snapshot does not have it yet."""
        found = self._indexes.get(path)
        if found is None:
            live = ((p, s[1]) for p, s in enumerate(self.slots) if s is not None)
            found = self._indexes[path] = FieldIndex.build(path, live)
        return found

    def at(self, positions: Iterable[int]) -> list[Document]:
        """The documents at these slots, in insertion order."""
        slots = self.slots
        out = []
        for position in sorted(positions):
            slot = slots[position]
            if slot is not None:
                out.append(slot[1])
        return out

    # ------------------------------------------------------------------ writing
    def with_changes(self, puts: Sequence[Document] = (), deletes: Sequence[str] = ()) -> Snapshot:
        """A new snapshot with keys removed and documents added or replaced (by key)."""
        return self.with_ops([*(("del", key) for key in deletes), *(("put", doc) for doc in puts)])

    def with_ops(self, ops: Sequence[tuple[str, Any]]) -> Snapshot:
        """A new snapshot after ``("put", document)`` and ``("del", key)`` operations, in
        order. The new snapshot remembers them in ``ops`` (what a journal records)."""
        slots = self.slots.evolver()
        next_id = self.next_id
        tombstones = self.tombstones
        changes: list[tuple[int, Document | None, Document | None]] = []
        with self.ids.mutate() as ids:
            for op, value in ops:
                if op == "del":
                    position = ids.get(value)
                    if position is None:
                        continue
                    del ids[value]
                    old = slots[position]
                    slots[position] = None
                    tombstones += 1
                    changes.append((position, old[1] if old else None, None))
                    continue
                doc = value
                share_strings(doc)
                key = doc[self.key_field]
                position = ids.get(key)
                if position is None:
                    position = len(slots)
                    slots.append((next_id, doc))
                    next_id += 1
                    ids[key] = position
                    changes.append((position, None, doc))
                else:
                    old = slots[position]
                    slots[position] = (old[0] if old else next_id, doc)
                    changes.append((position, old[1] if old else None, doc))
            new_ids = ids.finish()
        indexes = {path: index.updated(changes) for path, index in self._indexes.items()}
        snapshot = Snapshot._make(
            self.key_field, slots.persistent(), new_ids, next_id, tombstones, indexes, list(ops)
        )
        if tombstones > 1024 and tombstones > len(new_ids):
            snapshot = snapshot._compacted()
        return snapshot

    def _compacted(self) -> Snapshot:
        """The same snapshot without the empty slots deleted documents left (indexes are
        rebuilt on their next use)."""
        live = [slot for slot in self.slots if slot is not None]
        ids = {slot[1][self.key_field]: position for position, slot in enumerate(live)}
        return Snapshot._make(
            self.key_field, pvector(live), immutables.Map(ids), self.next_id, 0, {}, self.ops
        )


def _doc_id_order(doc_id: str) -> tuple[int, int | str]:
    return (0, int(doc_id)) if doc_id.isdigit() else (1, doc_id)


class NoChange(Exception):
    """Raised by a change function to end a write without writing anything."""


class InProcessDocumentStore(DocumentStore):
    """A :class:`DocumentStore` over snapshots; subclasses say where snapshots live.

    ``index_fields`` are the fields a query may look up through an index (built on first
    use); the unique key is always one."""

    def __init__(self, key_field: str, index_fields: Iterable[str] | None = None) -> None:
        self.key_field = key_field
        if index_fields is None:
            index_fields = DEFAULT_INDEXES.get(key_field, ())
        self.index_fields = frozenset(index_fields)

    def create_index(self, field: str) -> None:
        if field not in self.index_fields and field != self.key_field:
            self.index_fields = self.index_fields | {field}
            self._declared(self.index_fields)

    def _declared(self, fields: frozenset[str]) -> None:
        """Keep the index declarations with the data (stores that persist override)."""

    def indexes(self) -> list[str]:
        return sorted(self.index_fields)

    @abstractmethod
    def _current(self) -> Snapshot:
        """The latest committed snapshot (another process's commit included)."""

    @abstractmethod
    def _write(self, change: Callable[[Snapshot], Snapshot]) -> None:
        """Under the writers' lock: apply ``change`` to the latest snapshot and commit the
        result durably. ``change`` may raise (nothing is written)."""

    # ----------------------------------------------------------------- writes
    def insert(self, doc: Mapping[str, Any]) -> None:
        self.insert_many([doc])

    def insert_many(self, docs: Sequence[Mapping[str, Any]]) -> None:
        new_docs = [dict(doc) for doc in docs]
        keys = [doc[self.key_field] for doc in new_docs]
        if len(set(keys)) != len(keys):
            seen: set[str] = set()
            duplicate = next(k for k in keys if k in seen or seen.add(k))  # type: ignore[func-returns-value]
            raise AlreadyExistsError(f"{self.key_field} {duplicate!r} is given twice")
        if not new_docs:
            return

        def change(snapshot: Snapshot) -> Snapshot:
            for key in keys:
                if key in snapshot.ids:
                    raise AlreadyExistsError(f"{self._what(key)} already exists")
            return snapshot.with_changes(puts=new_docs)

        self._write(change)

    def replace(self, key: str, doc: Mapping[str, Any], *, expected_revision: int) -> bool:
        new_doc = dict(doc)

        def change(snapshot: Snapshot) -> Snapshot:
            current = snapshot.get(key)
            if current is None or current.get("revision") != expected_revision:
                raise NoChange
            return snapshot.with_changes(puts=[new_doc])

        return self._try_write(change)

    def delete(self, key: str, *, expected_revision: int | None = None) -> bool:
        def change(snapshot: Snapshot) -> Snapshot:
            current = snapshot.get(key)
            if current is None or (
                expected_revision is not None and current.get("revision") != expected_revision
            ):
                raise NoChange
            return snapshot.with_changes(deletes=[key])

        return self._try_write(change)

    def _try_write(self, change: Callable[[Snapshot], Snapshot]) -> bool:
        try:
            self._write(change)
        except NoChange:
            return False
        return True

    def _what(self, key: str) -> str:
        return f"asset {key!r}" if self.key_field == "asset_uri" else f"{self.key_field} {key!r}"

    # ------------------------------------------------------------------ reads
    def get(self, key: str) -> Document | None:
        doc = self._current().get(key)
        return None if doc is None else copy_document(doc)

    def find_one(self, field: str, value: str) -> Document | None:
        snapshot = self._current()
        if field == self.key_field:
            doc = snapshot.get(value)
        else:
            found = self._candidates(snapshot, {field: value})
            docs = snapshot.documents() if found is None else iter(snapshot.at(found))
            doc = next((d for d in docs if d.get(field) == value), None)
        return None if doc is None else copy_document(doc)

    def _candidates(self, snapshot: Snapshot, filter: Filter | None) -> set[int] | None:
        """The slots a filter may match, through the indexes; None: every document."""
        if not filter:
            return None
        return plan(filter, _SnapshotIndexes(snapshot, self.index_fields))

    def _matching(self, snapshot: Snapshot, filter: Filter | None) -> Iterable[Document]:
        predicate = compile_filter(filter)
        candidates = self._candidates(snapshot, filter)
        docs: Iterable[Document] = (
            snapshot.documents() if candidates is None else snapshot.at(candidates)
        )
        return docs if not filter else (d for d in docs if predicate(d))

    def find(
        self,
        filter: Filter | None = None,
        *,
        sort: Sort | None = None,
        skip: int = 0,
        limit: int | None = None,
        all_scopes: bool = False,
        shared: bool = False,
    ) -> list[Document]:
        snapshot = self._current()
        compile_filter(filter)  # a bad filter fails before any index is built
        compile_sort(sort)
        docs = run_query(self._matching(snapshot, filter), None, sort, skip, limit)
        if shared:
            return docs  # type: ignore[return-value]
        return [copy_document(doc) for doc in docs]

    def count(self, filter: Filter | None = None, *, all_scopes: bool = False) -> int:
        snapshot = self._current()
        if not filter:
            return len(snapshot)
        compile_filter(filter)
        return sum(1 for _ in self._matching(snapshot, filter))


class _SnapshotIndexes:
    """What the planner may look up in one snapshot."""

    __slots__ = ("_fields", "_snapshot")

    def __init__(self, snapshot: Snapshot, fields: frozenset[str]) -> None:
        self._snapshot = snapshot
        self._fields = fields

    def indexed(self, path: str) -> bool:
        return path in self._fields or path == self._snapshot.key_field

    def lookup(self, path: str, key: IndexKey) -> Iterable[int]:
        if path == self._snapshot.key_field:
            if key[0] != "s":
                return ()
            position = self._snapshot.ids.get(key[1])
            return () if position is None else (position,)
        return self._snapshot.index(path).lookup(key)

    def values(self, path: str, kind: str) -> list[Any] | None:
        if path == self._snapshot.key_field:
            return None  # ranges over the unique key are scanned
        return self._snapshot.index(path).sorted_values(kind)


__all__: list[str] = []
