"""The sections, in the order they run: what ``--only`` takes and where each record goes.

A new section is a module in ``sections/`` with a record and ``run(config, results)``, a
field of :class:`~benchmarks.records.Results`, a line here, and its part of the report
(``report/<section>.py`` and ``templates/report/<section>.md.j2``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .config import Config
from .records import Results
from .sections import bulk, metadata, mlflow, query_engine, sync, transfers


@dataclass(frozen=True)
class Section:
    """One section: its name (for ``--only``), its field of ``Results``, its ``run``."""

    name: str
    key: str
    run: Callable[[Config, Results], Any]


SECTIONS: tuple[Section, ...] = (
    Section("query_engine", "query_engine", query_engine.run),
    Section("metadata", "metadata_ops", metadata.run),
    Section("bulk", "bulk_import", bulk.run),
    Section("transfers", "transfers", transfers.run),
    Section("mlflow", "mlflow", mlflow.run),
    Section("sync", "sync", sync.run),
)
NAMES: tuple[str, ...] = tuple(section.name for section in SECTIONS)
