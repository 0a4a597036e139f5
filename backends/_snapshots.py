"""The document-store logic shared by the backends that hold documents in this process
(memory and TinyDB): immutable snapshots, replaced whole on every write.

A snapshot is the table as TinyDB lays it out (``{doc_id: document}``, doc ids being the
strings of increasing integers) plus an index from the unique key to the doc id. Writers
build a new snapshot from the current one under a lock; readers take whichever snapshot is
current without locking and never see a half-applied change.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import orjson

from assetstore.errors import AlreadyExistsError
from assetstore.models import Filter, Sort
from assetstore.ports import DocumentStore
from assetstore.query import compile_filter, run_query

Document = dict[str, Any]


def copy_document(doc: Mapping[str, Any]) -> Document:
    """A deep copy of a JSON document (the fastest exact copy for JSON values)."""
    return orjson.loads(orjson.dumps(doc))


class Snapshot:
    """One immutable state of a table. Never mutate ``table`` or its documents."""

    __slots__ = ("_secondary", "by_key", "key_field", "next_id", "ops", "table")

    def __init__(
        self,
        table: dict[str, Document],
        key_field: str,
        by_key: dict[str, str] | None = None,
        next_id: int | None = None,
    ) -> None:
        self.table = table
        self.key_field = key_field
        if by_key is None:
            by_key = {doc[key_field]: doc_id for doc_id, doc in table.items() if key_field in doc}
        self.by_key = by_key
        if next_id is None:
            next_id = max((int(doc_id) for doc_id in table if doc_id.isdigit()), default=0) + 1
        self.next_id = next_id
        self.ops: list[tuple[str, Any]] = []
        self._secondary: dict[str, dict[Any, str]] = {}

    def get(self, key: str) -> Document | None:
        doc_id = self.by_key.get(key)
        return None if doc_id is None else self.table[doc_id]

    def find_one(self, field: str, value: Any) -> Document | None:
        """Lookup through a secondary index built on first use for this snapshot."""
        index = self._secondary.get(field)
        if index is None:
            index = {}
            for doc_id, doc in self.table.items():
                found = doc.get(field)
                if isinstance(found, (str, int)) and found not in index:
                    index[found] = doc_id
            self._secondary[field] = index
        found_id = index.get(value)
        return None if found_id is None else self.table[found_id]

    def with_changes(self, puts: Sequence[Document] = (), deletes: Sequence[str] = ()) -> Snapshot:
        """A new snapshot with keys removed and documents added or replaced (by key)."""
        return self.with_ops([*(("del", key) for key in deletes), *(("put", doc) for doc in puts)])

    def with_ops(self, ops: Sequence[tuple[str, Any]]) -> Snapshot:
        """A new snapshot after ``("put", document)`` and ``("del", key)`` operations, in
        order. The new snapshot remembers them in ``ops`` (what a journal records)."""
        table = dict(self.table)
        by_key = dict(self.by_key)
        next_id = self.next_id
        for op, value in ops:
            if op == "del":
                doc_id = by_key.pop(value, None)
                if doc_id is not None:
                    del table[doc_id]
                continue
            key = value[self.key_field]
            doc_id = by_key.get(key)
            if doc_id is None:
                doc_id = str(next_id)
                next_id += 1
                by_key[key] = doc_id
            table[doc_id] = value
        snapshot = Snapshot(table, self.key_field, by_key, next_id)
        snapshot.ops = list(ops)
        return snapshot


class NoChange(Exception):
    """Raised by a change function to end a write without writing anything."""


class InProcessDocumentStore(DocumentStore):
    """A :class:`DocumentStore` over snapshots; subclasses say where snapshots live."""

    def __init__(self, key_field: str) -> None:
        self.key_field = key_field

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
                if key in snapshot.by_key:
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
        doc = snapshot.get(value) if field == self.key_field else snapshot.find_one(field, value)
        return None if doc is None else copy_document(doc)

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
        docs = run_query(self._current().table.values(), filter, sort, skip, limit)
        if shared:
            return cast("list[Document]", docs)
        return [copy_document(doc) for doc in docs]

    def count(self, filter: Filter | None = None, *, all_scopes: bool = False) -> int:
        table = self._current().table
        if not filter:
            return len(table)
        matches = compile_filter(filter)
        return sum(1 for doc in table.values() if matches(doc))
