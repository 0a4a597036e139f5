"""Everything one run measured (:class:`Results`), and ``results.json``: written from the
records with ``dataclasses.asdict``, read back into them by :func:`load_results`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Settings
from .machine import GitState, Machine
from .sections.bulk import BulkResult
from .sections.metadata import MetadataResult
from .sections.mlflow import MlflowResult
from .sections.query_engine import QueryEngineResult
from .sections.sync import SyncResult
from .sections.transfers import TransfersResult
from .serde import FormatError, load, to_json
from .targets import Target

#: The layout of ``results.json``; a file of another one is refused, not misread.
FORMAT = 3


@dataclass
class SectionGit:
    """The commit a section measured, and the library files that differed from it."""

    commit: str | None
    changed_library_files: list[str]


@dataclass
class RunMeta:
    """How, where and when a run measured."""

    command: str
    #: ``quick`` or ``full``: the profile ``settings`` started from.
    profile: str
    settings: Settings
    #: The sections asked for (``--only``), in the order they ran.
    sections: list[str]
    started: str
    load_start: list[float]
    machine: Machine
    versions: dict[str, str | None]
    git: GitState
    section_seconds: dict[str, float] = field(default_factory=dict)
    section_git: dict[str, SectionGit] = field(default_factory=dict)
    #: A failed section's traceback, by section.
    errors: dict[str, str] = field(default_factory=dict)
    finished: str | None = None
    duration_s: float | None = None
    load_end: list[float] | None = None
    #: The tree at the end (it is shared: did it change meanwhile?).
    git_end: GitState | None = None


@dataclass
class Results:
    """One run: its meta, one record per section (None: not run) and the targets."""

    meta: RunMeta
    query_engine: QueryEngineResult | None = None
    metadata_ops: MetadataResult | None = None
    bulk_import: BulkResult | None = None
    transfers: TransfersResult | None = None
    mlflow: MlflowResult | None = None
    sync: SyncResult | None = None
    targets: list[Target] = field(default_factory=list)
    format: int = FORMAT


def save_results(results: Results, path: Path) -> None:
    """Write ``results`` as JSON (NaN stays NaN: a median of no call)."""
    path.write_text(json.dumps(to_json(results), indent=2) + "\n")


def load_results(path: Path) -> Results:
    """Read a ``results.json`` written by :func:`save_results`."""
    data: Any = json.loads(path.read_text())
    found = data.get("format") if isinstance(data, dict) else None
    if found != FORMAT:
        raise FormatError(
            f"{path}: results of format {found or 1}, this code reads format {FORMAT} "
            "(measure again, or render it with the code of its time)"
        )
    return load(Results, data)
