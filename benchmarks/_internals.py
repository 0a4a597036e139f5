"""Every use of assetstore's internals by the benchmarks, in one place.

Everything else uses the public API (``assetstore.open_store``, ``compile_filter``...). When
the library renames a module or a private method, this file is the one to re-point.
"""

from __future__ import annotations

from typing import Any

#: The module behind the ``assetstore`` command (``python -m CLI_MODULE ... serve``).
CLI_MODULE = "assetstore.cli"


def external_document(store: Any, record: dict[str, Any]) -> dict[str, Any]:
    """The MongoDB document ``store.register(record)`` would insert (validated, URI and
    timestamps filled in), without inserting it."""
    return store._external_record(record).to_document()


def peak_rss_sampler(pid: int, interval: float) -> Any:
    """A context manager sampling a process's RSS while its block runs (``.peak`` in bytes)."""
    from assetstore.testing.rss import PeakRss

    return PeakRss(pid, interval=interval)


def store_indexes(store: Any) -> list[str]:
    """The fields the store's documents are indexed on (defaults and declared)."""
    return list(store._documents.indexes())


def mongo_collection(store: Any) -> Any:
    """The pymongo collection behind a store on the MongoDB backend."""
    return store._documents._collection


def mongo_scope(store: Any) -> dict[str, Any]:
    """The fields the MongoDB backend adds to every filter (``{"assets_db_id": ...}``)."""
    return dict(store._documents._scope)


def mongo_where(store: Any, filter: dict[str, Any]) -> dict[str, Any]:
    """The filter the MongoDB backend sends to the server for ``store.query(filter)``."""
    return store._documents._where(filter)
