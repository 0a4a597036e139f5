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
