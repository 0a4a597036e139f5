"""Section ``metadata``: metadata operations per backend as the store grows.

For each backend and size, a fresh process (``metadata_cell``) fills a fresh store with
``size`` assets in one bulk call, then times every operation many times, one call of each in
turn (round robin), and records the median and p90 of each. An operation stops after
``reps`` calls or once it has used ``budget`` seconds (with at least 3 calls; a single call
longer than 3 budgets is recorded alone, n=1).

Backends:

* ``local``: the embedded default, files in a directory and metadata in TinyDB;
* ``mongomock``: blobs in a directory, metadata through the MongoDB backend on mongomock, a
  pure-Python in-memory emulator (not a server: its costs say nothing of MongoDB's, which uses
  indexes where mongomock scans);
* ``http``: the local store served by ``assetstore serve`` (uvicorn) in its own process,
  measured through ``open_store("http://127.0.0.1:PORT")``.

Operations (the data set of :mod:`benchmarks.dataset`):

* ``upload``: a 1 KiB file as a new asset (durable: blob and metadata on disk on return);
* ``register``: an external asset (metadata only);
* ``get``: get by URI; ``update``: set the tags of an asset;
* ``query_tag``: ``{"asset_tags": "group7"}`` (1/30 of the assets);
* ``query_field_small``: ``{"asset_metadata.dataset": "ds7"}`` (50 hits at every size);
* ``query_field_large``: ``{"asset_metadata.framework": "pytorch"}`` (1/3 of the assets: the
  cost of materializing many results);
* ``resolve``: ``store.resolve(name)``, the latest of a name's 20 versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..log import log
from ..processes import run_child
from ..serde import load
from ..timing import Timing

if TYPE_CHECKING:
    from ..config import Config
    from ..records import Results

#: The backends, in the order of tables and plots, with their short labels.
BACKENDS: dict[str, str] = {
    "local": "local (TinyDB)",
    "mongomock": "MongoDB (mongomock)",
    "http": "HTTP client",
}
#: The operations, in the order of tables and plots, with their labels.
OPS: dict[str, str] = {
    "upload": "upload 1 KiB (durable)",
    "register": "register external asset",
    "get": "get by URI",
    "update": "update tags",
    "query_tag": "query by tag (1/30 of assets)",
    "query_field_small": "query by metadata field (50 hits)",
    "query_field_large": "query by metadata field (1/3 of assets)",
    "resolve": "resolve latest (20 versions)",
}


@dataclass
class StoreCell:
    """What the child measured: one backend at one size."""

    backend: str
    size: int
    #: Seconds to fill the store, and how it was filled.
    populate_s: float
    populate_method: str
    #: Seconds to open the filled store and get one asset (the first read parses it all).
    open_and_first_get_s: float
    ops: dict[str, Timing]
    #: The child's own peak RSS, in MiB (it also filled the store).
    client_peak_rss_mb: float
    #: The server's RSS at the end, in MiB (HTTP only).
    server_rss_mb: float | None = None


@dataclass
class MetadataCell:
    """One backend at one size, as the parent saw it: the child's record, or its error."""

    backend: str
    size: int
    #: Seconds from starting the child to its exit.
    wall_s: float
    measured: StoreCell | None = None
    error: str | None = None


@dataclass
class MetadataResult:
    """The section's record."""

    reps: int
    budget_s: float
    cells: list[MetadataCell]

    def cell(self, backend: str, size: int) -> StoreCell | None:
        """The measured cell of ``backend`` at ``size``, if it ran and did not fail."""
        for cell in self.cells:
            if (cell.backend, cell.size) == (backend, size) and cell.measured is not None:
                return cell.measured
        return None

    def sizes(self) -> list[int]:
        """Every size measured (or tried), ascending."""
        return sorted({cell.size for cell in self.cells})


def measure_cell(backend: str, size: int, reps: int, budget: float) -> MetadataCell:
    """One backend at one size in a fresh Python process; a failure is kept as ``error``."""
    spec = {"backend": backend, "size": size, "reps": reps, "budget": budget}
    done = run_child(f"{__package__}.metadata_cell", spec)
    if done.answer is None:
        return MetadataCell(backend, size, done.wall_s, error=done.error)
    return MetadataCell(backend, size, done.wall_s, measured=load(StoreCell, done.answer))


def run(config: Config, results: Results) -> MetadataResult:
    """Every backend at every size, each cell in a fresh process and a fresh store."""
    settings = config.settings
    cells = []
    for size in settings.sizes:
        for backend in BACKENDS:
            cell = measure_cell(backend, size, settings.reps, settings.budget)
            if cell.measured is None:
                log(f"  metadata {backend} {size:,}: FAILED: {(cell.error or '')[-300:]}")
            else:
                summary = ", ".join(
                    f"{op} {row.median_ms:.2f}" for op, row in cell.measured.ops.items()
                )
                log(f"  metadata {backend} {size:,} ({cell.wall_s:.0f}s): {summary} ms")
            cells.append(cell)
    return MetadataResult(reps=settings.reps, budget_s=settings.budget, cells=cells)
