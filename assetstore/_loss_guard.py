"""A document store that will not answer "nothing" for metadata that was lost.

When records were committed to a store (``store.json`` says so) but its metadata shows no
history of changes (its files were deleted, or replaced by an empty file), an empty answer
would be a silent loss, and a write would bury it under a new history (after which ``gc``
would take the old files for orphans). So then every write, and every read that finds
nothing, raises :class:`~assetstore.errors.DamageError` instead. A backend that cannot
tell its history (``has_history()`` is None: MongoDB) is trusted.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from assetstore.errors import DamageError
from assetstore.models import Filter, Sort
from assetstore.ports import DocumentStore


class LossGuard(DocumentStore):
    """``inner``, refusing as above; ``had_records()`` says whether records were ever
    committed to the store."""

    def __init__(self, inner: DocumentStore, had_records: Callable[[], bool]) -> None:
        self._inner = inner
        self._had_records = had_records
        self.key_field = inner.key_field

    def __repr__(self) -> str:
        return repr(self._inner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # the backend's own attributes, as they are

    def _check(self) -> None:
        if self._inner.has_history() is False and self._had_records():
            raise DamageError(
                f"{self._inner!r} holds no change, although records were committed to this "
                "store: its metadata was deleted or replaced; restore it from a backup "
                "(nothing was changed)"
            )

    # writes: refused on lost metadata
    def insert(self, doc: Mapping[str, Any]) -> None:
        self._check()
        self._inner.insert(doc)

    def insert_many(self, docs: Sequence[Mapping[str, Any]]) -> None:
        self._check()
        self._inner.insert_many(docs)

    def replace(self, key: str, doc: Mapping[str, Any], *, expected_revision: int) -> bool:
        self._check()
        return self._inner.replace(key, doc, expected_revision=expected_revision)

    def delete(self, key: str, *, expected_revision: int | None = None) -> bool:
        self._check()
        return self._inner.delete(key, expected_revision=expected_revision)

    # reads: "nothing" is checked
    def get(self, key: str) -> dict[str, Any] | None:
        found = self._inner.get(key)
        if found is None:
            self._check()
        return found

    def find_one(self, field: str, value: str) -> dict[str, Any] | None:
        found = self._inner.find_one(field, value)
        if found is None:
            self._check()
        return found

    def find(
        self,
        filter: Filter | None = None,
        *,
        sort: Sort | None = None,
        skip: int = 0,
        limit: int | None = None,
        all_scopes: bool = False,
        shared: bool = False,
    ) -> list[dict[str, Any]]:
        found = self._inner.find(
            filter, sort=sort, skip=skip, limit=limit, all_scopes=all_scopes, shared=shared
        )
        if not found:
            self._check()
        return found

    def iter_find(
        self,
        filter: Filter | None = None,
        *,
        sort: Sort | None = None,
        all_scopes: bool = False,
    ) -> Iterator[dict[str, Any]]:
        found = self._inner.iter_find(filter, sort=sort, all_scopes=all_scopes)
        first = next(found, None)
        if first is None:
            self._check()
            return iter(())
        return itertools.chain([first], found)

    def count(self, filter: Filter | None = None, *, all_scopes: bool = False) -> int:
        found = self._inner.count(filter, all_scopes=all_scopes)
        if not found:
            self._check()
        return found

    # the rest, as they are (every method of the port: its defaults would hide the
    # backend's own, as create_index once did)
    def remove_incomplete(self, older_than: float) -> list[str]:
        return self._inner.remove_incomplete(older_than)

    def create_index(self, field: str) -> None:
        self._inner.create_index(field)

    def indexes(self) -> list[str]:
        return self._inner.indexes()

    def has_history(self) -> bool | None:
        return self._inner.has_history()

    def check(self) -> list[str]:
        problems = self._inner.check()
        try:
            self._check()
        except DamageError as exc:
            problems.append(str(exc))
        return problems

    def close(self) -> None:
        self._inner.close()


__all__ = ["LossGuard"]
