"""Section ``metadata``: metadata operations per backend as the store grows.

Each backend at each size gets a fresh store in a fresh directory, and two fresh Python
processes (``metadata_cell``), one after the other:

1. **populate**: fills the store with ``size`` assets in one ``register_many`` call (the
   records generated on the fly), then declares the index ``asset_metadata.dataset``
   (``store.create_index``); records both times and the process's own peak RSS.
2. **measure**: a process that never saw the store opens it and gets one asset (timed:
   *open + first get*). On the local store it then calls each read operation of the cell
   once (the "usual queries") and takes **bytes per asset** = (RSS after them - RSS before
   opening) / assets. Then it times every operation many times, one call of each in turn
   (round robin), and records the median and p90 of each. An operation stops after
   ``reps`` calls or once it has used ``budget`` seconds (with at least 3 calls; a single
   call longer than 3 budgets is recorded alone, n=1). Its own peak RSS is the memory of "a
   process with the store open and used".

Backends:

* ``local``: the embedded default, files in a directory and metadata in TinyDB;
* ``mongo``: blobs in a directory, metadata through the MongoDB backend, over the wire
  (pymongo) to a real MongoDB-protocol server: FerretDB (SQLite), built and started as the
  test suite does (:func:`benchmarks.servers.ferretdb_server`), a fresh server per cell.
  The backend creates its indexes; ``explain()`` on the server shows which ones the queries
  use (:class:`ExplainRow`);
* ``http``: the local store served by ``assetstore serve`` (uvicorn) in its own process,
  measured through ``open_store("http://127.0.0.1:PORT")``.

Sizes above ``all_backends_max`` (1,000,000 in the full run) are measured on the local store
only, with the operations of :data:`LARGE_OPS`.

Operations (the data set of :mod:`benchmarks.dataset`):

* ``upload``: a 1 KiB file as a new asset (durable: blob and metadata on disk on return);
* ``register``: an external asset (metadata only); ``update``: set the tags of an asset;
* ``delete``: delete an external asset (registered just before, untimed);
* ``get``: get by URI; ``get_by_id``: get by ``asset_id``;
* ``resolve``: ``store.resolve(name)``, the latest of a name's 20 versions;
* ``query_tag``: ``{"asset_tags": "group7"}`` (1/30 of the assets, a default index);
* ``query_indexed``: ``{"asset_metadata.dataset": "ds7"}``, 50 hits on the declared index;
* ``query_field_small``: ``{"asset_metadata.shard": "shard7"}``, the same 50 hits on a field
  that has no index (a full scan: its rate in documents per second is ``size / median``);
* ``query_field_large``: ``{"asset_metadata.framework": "pytorch"}`` (1/3 of the assets,
  no index: the cost of materializing many results).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..log import log
from ..processes import run_child
from ..serde import load
from ..timing import Timing

if TYPE_CHECKING:
    from ..config import Config, Settings
    from ..records import Results

#: The backends, in the order of tables and plots, with their short labels.
BACKENDS: dict[str, str] = {
    "local": "local (TinyDB)",
    "mongo": "MongoDB backend on FerretDB",
    "http": "HTTP client",
}
#: The operations, in the order of tables and plots, with their labels.
OPS: dict[str, str] = {
    "upload": "upload 1 KiB (durable)",
    "register": "register external asset",
    "update": "update tags",
    "delete": "delete",
    "get": "get by URI",
    "get_by_id": "get by asset id",
    "resolve": "resolve latest (20 versions)",
    "query_tag": "query by tag (1/30 of assets)",
    "query_indexed": "query on a declared index (50 hits)",
    "query_field_small": "query on an undeclared field (50 hits, full scan)",
    "query_field_large": "query on an undeclared field (1/3 of assets)",
}
#: The operations measured above ``all_backends_max`` (local store only). Left out there:
#: ``upload`` (a register plus a 1 KiB file: the file's cost does not grow with the store),
#: ``query_tag`` (33,334 hits at 1,000,000) and ``query_field_large`` (333,334 hits), whose
#: calls would take most of the time and memory of the cell while measuring materialization.
LARGE_OPS: tuple[str, ...] = (
    "register",
    "update",
    "delete",
    "get",
    "get_by_id",
    "resolve",
    "query_indexed",
    "query_field_small",
)
#: The read operations the local store's fresh process calls once before it takes the RSS
#: "after" of bytes per asset (those of the cell's set).
READS: tuple[str, ...] = (
    "get_by_id",
    "resolve",
    "query_tag",
    "query_indexed",
    "query_field_small",
    "query_field_large",
)
#: The MongoDB backend's server-side time limit in the children: its default (10 s) refuses
#: the scans FerretDB makes at 100,000 assets, and the benchmark measures them instead.
MONGO_MAX_TIME_MS = 30 * 60 * 1000


def ops_for(size: int, settings: Settings) -> list[str]:
    """The operations measured at ``size``: all of them, or :data:`LARGE_OPS` above
    ``all_backends_max``."""
    return list(OPS) if size <= settings.all_backends_max else list(LARGE_OPS)


def backends_for(size: int, settings: Settings) -> list[str]:
    """The backends measured at ``size``: all of them, or the local store above
    ``all_backends_max``; the MongoDB backend up to ``mongo_cap`` (FerretDB scans the
    whole collection for every query: at 10,000 assets a get takes most of a second)."""
    if size > settings.all_backends_max:
        return ["local"]
    return [b for b in BACKENDS if b != "mongo" or size <= settings.mongo_cap]


@dataclass
class ExplainRow:
    """What the server's ``explain()`` said of one query the MongoDB backend sends."""

    query: str
    #: The filter as sent (the store's scope id shortened to ``<id>``).
    filter: str
    #: The index the plan uses, or None: the plan reads every document.
    index: str | None
    #: The plan: FerretDB's ``queryPlanner.Plan`` (SQLite's EXPLAIN QUERY PLAN), or
    #: MongoDB's winning plan's stages.
    plan: list[str]
    #: FerretDB's ``filterPushdown``: whether the filter went to SQLite at all.
    pushdown: bool | None = None


@dataclass
class StoreCell:
    """What the two children measured: one backend at one size."""

    backend: str
    size: int
    #: Seconds of the one ``register_many`` call that filled the store, and how.
    populate_s: float
    populate_method: str
    #: Seconds of ``create_index("asset_metadata.dataset")`` after the fill.
    index_s: float
    #: The filling process's own peak RSS, in MiB.
    populate_peak_rss_mb: float
    #: Seconds to open the filled store and get one asset, in a process that never saw it.
    open_and_first_get_s: float
    #: The operations timed in the fresh process.
    ops: dict[str, Timing]
    #: The fresh process's own peak RSS (open, reads, every timed operation), in MiB.
    client_peak_rss_mb: float
    #: The fresh process's RSS before opening, after open + first get, and after the reads
    #: of ``reads`` (one call each), in MiB; local store only.
    rss_before_open_mb: float | None = None
    rss_after_open_mb: float | None = None
    rss_after_reads_mb: float | None = None
    reads: list[str] = field(default_factory=list)
    #: The indexes the store reports (``indexes()`` of its documents), when it can.
    indexes: list[str] | None = None
    #: The store's files on disk (blobs, metadata, FerretDB's SQLite files), in MiB.
    disk_mb: float | None = None
    #: The server's RSS at the end, in MiB (HTTP and FerretDB).
    server_rss_mb: float | None = None
    #: ``explain()`` of the backend's queries (MongoDB backend only).
    explain: list[ExplainRow] | None = None

    @property
    def bytes_per_asset(self) -> float | None:
        """(RSS after the reads - RSS before opening) / assets, in bytes (local store)."""
        if self.rss_before_open_mb is None or self.rss_after_reads_mb is None:
            return None
        return (self.rss_after_reads_mb - self.rss_before_open_mb) * (1 << 20) / self.size

    @property
    def bytes_per_asset_open(self) -> float | None:
        """The same after open + first get only, before any query."""
        if self.rss_before_open_mb is None or self.rss_after_open_mb is None:
            return None
        return (self.rss_after_open_mb - self.rss_before_open_mb) * (1 << 20) / self.size

    def scan_rate(self) -> float | None:
        """Documents per second of the full scan (the 50-hit query on an undeclared field)."""
        timing = self.ops.get("query_field_small")
        if timing is None or not timing.median_ms > 0:
            return None
        return self.size / (timing.median_ms / 1000)


@dataclass
class MetadataCell:
    """One backend at one size, as the parent saw it: the record, its error, or why it was
    not measured."""

    backend: str
    size: int
    #: Seconds from starting the first child to the end of the second.
    wall_s: float
    measured: StoreCell | None = None
    error: str | None = None
    skipped: str | None = None


@dataclass
class MetadataResult:
    """The section's record."""

    reps: int
    budget_s: float
    cells: list[MetadataCell]
    #: Sizes above this: the local store only, with ``large_ops``.
    all_backends_max: int = 100_000
    large_ops: list[str] = field(default_factory=lambda: list(LARGE_OPS))
    #: The server behind the MongoDB backend (``FerretDB v1.24.2 (SQLite)``).
    mongo_server: str | None = None

    def cell(self, backend: str, size: int) -> StoreCell | None:
        """The measured cell of ``backend`` at ``size``, if it ran and did not fail."""
        for cell in self.cells:
            if (cell.backend, cell.size) == (backend, size) and cell.measured is not None:
                return cell.measured
        return None

    def sizes(self) -> list[int]:
        """Every size measured (or tried), ascending."""
        return sorted({cell.size for cell in self.cells})


def _disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / (1 << 20)


@contextlib.contextmanager
def _mongo_server(workdir: Path) -> Iterator[tuple[str | None, Any]]:
    from ..servers import ferretdb_server

    with ferretdb_server(workdir / "ferretdb") as (url, process):
        yield url + "bench", process


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    done = run_child(f"{__package__}.metadata_cell", spec)
    if done.answer is None:
        raise ChildFailed(done.error or "no answer")
    return done.answer


class ChildFailed(RuntimeError):
    """A child process failed; the message is the end of its stderr."""


def measure_cell(backend: str, size: int, settings: Settings, workdir: Path | None) -> MetadataCell:
    """One backend at one size: a fresh store filled by one child, measured by another."""
    from ..servers import ServerUnavailable, assetstore_server

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-meta-", dir=workdir) as tmp:
        work = Path(tmp)
        root = work / "store"
        base = {
            "backend": backend,
            "size": size,
            "root": str(root),
            "work": str(work),
            "rss_cap_mb": settings.rss_cap_mb,
        }
        try:
            with contextlib.ExitStack() as stack:
                server = None
                if backend == "mongo":
                    base["metadata"], server = stack.enter_context(_mongo_server(work))
                filled = _child({**base, "phase": "populate"})
                log(
                    f"  metadata {backend} {size:,}: filled in {filled['populate_s']:.1f}s "
                    f"(peak {filled['populate_peak_rss_mb']:.0f} MB)"
                )
                disk_mb = _disk_mb(work)
                location = str(root)
                if backend == "http":
                    location, server = stack.enter_context(assetstore_server(root))
                spec = {
                    **base,
                    "phase": "measure",
                    "location": location,
                    "ops": ops_for(size, settings),
                    "reps": settings.reps,
                    "budget": settings.budget,
                }
                measured = _child(spec)
                server_rss = server.memory_info().rss / (1 << 20) if server else None
        except ServerUnavailable as exc:
            return MetadataCell(backend, size, time.perf_counter() - started, skipped=str(exc))
        except (Exception, SystemExit) as exc:  # a failed cell is a result, not the end
            return MetadataCell(backend, size, time.perf_counter() - started, error=str(exc))
    record = {**filled, **measured, "disk_mb": disk_mb, "server_rss_mb": server_rss}
    cell = load(StoreCell, {"backend": backend, "size": size, **record})
    return MetadataCell(backend, size, time.perf_counter() - started, measured=cell)


def _summary(cell: MetadataCell) -> str:
    if cell.measured is None:
        what = "not measured" if cell.skipped else "FAILED"
        return f"{what}: {(cell.skipped or cell.error or '')[-300:]}"
    m = cell.measured
    ops = ", ".join(f"{op} {row.median_ms:.2f}" for op, row in m.ops.items())
    extra = f"open+get {m.open_and_first_get_s:.2f}s, peak {m.client_peak_rss_mb:.0f} MB"
    if m.bytes_per_asset is not None:
        extra += f", {m.bytes_per_asset:,.0f} B/asset"
    return f"({cell.wall_s:.0f}s) {extra}; {ops} ms"


def mongo_server_label() -> str | None:
    """What the MongoDB backend is measured against."""
    from ..servers import ferretdb_version

    return f"FerretDB {ferretdb_version()} (SQLite backend)"


def run(config: Config, results: Results) -> MetadataResult:
    """Every backend at every size, each cell in fresh processes and a fresh store."""
    settings = config.settings
    cells = []
    for size in settings.sizes:
        for backend in backends_for(size, settings):
            cell = measure_cell(backend, size, settings, config.workdir)
            log(f"  metadata {backend} {size:,}: {_summary(cell)}")
            cells.append(cell)
    return MetadataResult(
        reps=settings.reps,
        budget_s=settings.budget,
        cells=cells,
        all_backends_max=settings.all_backends_max,
        large_ops=list(LARGE_OPS),
        mongo_server=mongo_server_label(),
    )
