"""Documents in this process's memory: for tests, notebooks and short-lived runs.

``memory://name`` URLs share one store per name within the process, like fsspec's
``memory://`` file system that holds their blobs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from assetstore.backends._snapshots import InProcessDocumentStore, Snapshot

_NAMED: dict[tuple[str, str], MemoryDocumentStore] = {}
_NAMED_LOCK = threading.Lock()


class MemoryDocumentStore(InProcessDocumentStore):
    """A document collection held in memory, safe to share between threads."""

    def __init__(self, key_field: str, index_fields: Iterable[str] | None = None) -> None:
        super().__init__(key_field, index_fields)
        self._snapshot = Snapshot({}, key_field)
        self._lock = threading.Lock()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        table: str,
        key_field: str,
        default_file: str = "",
        scope: Mapping[str, str] | None = None,
        **options: Any,
    ) -> MemoryDocumentStore:
        """``memory://name``: the process-wide collection of that name."""
        if options:
            raise TypeError(f"unknown options for memory:// metadata: {sorted(options)}")
        return cls.named(url[len("memory://") :], key_field)

    @classmethod
    def named(cls, name: str, key_field: str) -> MemoryDocumentStore:
        """The process-wide collection called ``name`` (created on first use)."""
        with _NAMED_LOCK:
            store = _NAMED.get((name, key_field))
            if store is None:
                store = _NAMED[(name, key_field)] = cls(key_field)
            return store

    def _current(self) -> Snapshot:
        return self._snapshot

    def _write(self, change: Callable[[Snapshot], Snapshot]) -> None:
        with self._lock:
            self._snapshot = change(self._snapshot)


__all__ = ["MemoryDocumentStore"]
