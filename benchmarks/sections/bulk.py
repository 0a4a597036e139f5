"""Section ``bulk``: ``register_many`` and ``upload_many`` of many small assets in one call.

Each import runs in a fresh process into a fresh, empty store and records the seconds of the
one call and the process's own peak RSS (VmHWM, which includes the list of items it was
given). ``upload_many`` gets 1 KiB files given as bytes, each different; ``register_many``
gets external assets (metadata only). Both are all or nothing: one metadata commit, and for
uploads one flush of the blobs.

* ``local``: the embedded default (TinyDB);
* ``mongo``: the MongoDB backend over the wire to a real server, FerretDB (SQLite), a fresh
  server per import (:func:`benchmarks.servers.ferretdb_server`); up to ``mongo_cap``
  assets;
* ``http``: through the HTTP client. The service has no bulk endpoint, so the client's
  ``upload_many`` / ``register_many`` send one request per asset; measured up to
  ``http_cap`` assets, and the larger sizes are extrapolated (labelled).
"""

from __future__ import annotations

import itertools
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..log import log
from ..processes import ProcessRun, measure

if TYPE_CHECKING:
    from ..config import Config
    from ..records import Results
    from .metadata import MetadataResult

METHODS = ("register_many", "upload_many")
#: The backends, in the order of tables and plots, with their labels.
BACKENDS = {
    "local": "local (TinyDB)",
    "mongo": "MongoDB backend on FerretDB",
    "http": "HTTP client (one request per asset)",
}

#: The child's setup after the store is open (``args``: location, size, method, root and,
#: for the MongoDB backend, the database's URL).
_ITEMS = """
import os
from benchmarks.dataset import asset_name, asset_record, asset_version
n = int(args[1])
if args[2] == 'register_many':
    items = [asset_record(i, n) for i in range(n)]
else:
    base = os.urandom(1020)
    items = []
    for i in range(n):
        record = asset_record(i, n)
        items.append({'source': base + i.to_bytes(4, 'big'), 'name': asset_name(i),
                      'version': asset_version(i), 'tag': 'stable', 'filename': 'tiny.bin',
                      'metadata': record['asset_metadata'], 'tags': record['asset_tags']})
"""
_OPEN = {
    "local": "from assetstore import open_store\nstore = open_store(args[0])",
    "http": "from assetstore import open_store\nstore = open_store(args[0])",
    "mongo": "from assetstore import open_store\nstore = open_store(args[3], metadata=args[4])",
}
_TIMED = {
    "register_many": "done = store.register_many(items)",
    "upload_many": "done = store.upload_many(items)",
}


@dataclass
class BulkRow:
    """One backend, method and size: measured, skipped (maybe estimated) or failed."""

    backend: str
    method: str
    size: int
    #: Imports measured (the median is given), None when not measured.
    runs: int | None = None
    seconds: float | None = None
    #: The highest peak RSS of the importing process, in MiB.
    peak_mb: float | None = None
    #: The server's RSS after the last import, in MiB (HTTP only).
    server_rss_mb: float | None = None
    #: Why it was not measured.
    skipped: str | None = None
    error: str | None = None
    #: An estimate for a skipped HTTP import, and how it was made.
    extrapolated_seconds: float | None = None
    extrapolated_how: str | None = None

    @property
    def per_asset_ms(self) -> float | None:
        """Milliseconds per asset of a measured import."""
        return None if self.seconds is None else self.seconds / self.size * 1000

    @property
    def assets_per_s(self) -> float | None:
        """Assets per second of a measured import."""
        return None if self.seconds is None else self.size / self.seconds


@dataclass
class BulkResult:
    """The section's record."""

    sizes: list[int]
    repeat: int
    rows: list[BulkRow]

    def row(self, backend: str, method: str, size: int) -> BulkRow | None:
        """The row of ``backend``, ``method`` and ``size``, if there is one."""
        for row in self.rows:
            if (row.backend, row.method, row.size) == (backend, method, size):
                return row
        return None


def import_once(
    backend: str, method: str, size: int, workdir: Path
) -> tuple[ProcessRun, float | None]:
    """One import of ``size`` assets into a fresh store, in a fresh process; and for HTTP the
    server's RSS (MiB) after it."""
    root = workdir / f"store-{backend}-{method}-{size}"
    setup = _OPEN[backend] + _ITEMS
    if backend == "http":
        from ..servers import assetstore_server

        with assetstore_server(root) as (url, process):
            run = measure(setup, _TIMED[method], url, str(size), method, str(root))
            return run, process.memory_info().rss / (1 << 20)
    if backend == "mongo":
        from ..servers import ferretdb_server

        with ferretdb_server(workdir / "ferretdb") as (url, process):
            args = (str(root), str(size), method, str(root), url + "bench")
            run = measure(setup, _TIMED[method], *args)
            return run, process.memory_info().rss / (1 << 20)
    return measure(setup, _TIMED[method], str(root), str(size), method, str(root)), None


def measure_row(backend: str, method: str, size: int, repeat: int) -> BulkRow:
    """``repeat`` imports (one at 100,000 assets and more); a failure is kept as ``error``,
    a server this machine cannot run as ``skipped``."""
    from ..servers import ServerUnavailable

    row = BulkRow(backend, method, size)
    runs = []
    try:
        for _ in range(1 if size >= 100_000 else repeat):
            with tempfile.TemporaryDirectory(prefix="bench-bulk-") as tmp:
                run, row.server_rss_mb = import_once(backend, method, size, Path(tmp))
                runs.append(run)
    except ServerUnavailable as exc:
        row.skipped = str(exc)
        return row
    except Exception as exc:  # one failed import is a result, not the end
        row.error = str(exc)[-1500:]
        row.server_rss_mb = None
        return row
    row.runs = len(runs)
    row.seconds = statistics.median(r.seconds for r in runs)
    row.peak_mb = max(r.peak_mb for r in runs)
    return row


def bench_bulk(
    backends: list[str], sizes: list[int], repeat: int, *, mongo_cap: int, http_cap: int
) -> list[BulkRow]:
    """Every backend, method and size; sizes above a backend's cap are skipped."""
    rows = []
    for size in sizes:
        for backend in backends:
            cap = {"mongo": mongo_cap, "http": http_cap}.get(backend)
            for method in METHODS:
                if cap is not None and size > cap:
                    skipped = f"above the {backend} cap of {cap:,} assets"
                    rows.append(BulkRow(backend, method, size, skipped=skipped))
                    continue
                row = measure_row(backend, method, size, repeat)
                if row.skipped is not None:
                    log(f"  bulk {backend} {method} {size:,}: not measured: {row.skipped}")
                elif row.error is not None:
                    log(f"  bulk {backend} {method} {size:,}: FAILED: {row.error[-300:]}")
                else:
                    log(
                        f"  bulk {backend} {method} {size:,}: {row.seconds:.2f}s "
                        f"({row.per_asset_ms:.3f} ms/asset, peak {row.peak_mb:.0f} MB)"
                    )
                rows.append(row)
    return rows


def http_curves(metadata: MetadataResult | None) -> dict[str, list[tuple[int, float]]]:
    """The HTTP client's cost per register / upload (ms) at each measured store size."""
    curves: dict[str, list[tuple[int, float]]] = {}
    for cell in metadata.cells if metadata else []:
        if cell.backend == "http" and cell.measured is not None:
            for method, op in (("register_many", "register"), ("upload_many", "upload")):
                curves.setdefault(method, []).append((cell.size, cell.measured.ops[op].median_ms))
    return curves


def _cost_at(curve: list[tuple[int, float]], size: float) -> float:
    """The cost (ms) at store size ``size``, interpolated linearly between measured points,
    flat below the first and extended along the last segment beyond the last."""
    if len(curve) == 1 or size <= curve[0][0]:
        return curve[0][1]
    for (s0, c0), (s1, c1) in itertools.pairwise(curve):
        if size <= s1:
            return c0 + (c1 - c0) * (size - s0) / (s1 - s0)
    (s0, c0), (s1, c1) = curve[-2], curve[-1]
    return max(c1, c1 + (c1 - c0) * (size - s1) / (s1 - s0))


def extrapolate(rows: list[BulkRow], curves: dict[str, list[tuple[int, float]]]) -> None:
    """Give skipped HTTP rows an estimate. The client sends one request per asset and each
    request commits to a store that grows, so with ``curves`` (method -> [(store size, ms per
    request)], from the metadata section) the estimate adds up the cost of every request
    at the size the store has then; without, it is the largest measured import's cost per
    asset times the count, a lower bound."""
    for row in rows:
        if row.backend != "http" or row.skipped is None:
            continue
        curve = sorted(curves.get(row.method, []))
        if curve:
            steps = 1000
            width = row.size / steps
            total_ms = sum(_cost_at(curve, (k + 0.5) * width) for k in range(steps)) * width
            row.extrapolated_seconds = total_ms / 1000
            row.extrapolated_how = (
                "sum of the per-request cost measured at store sizes "
                + "/".join(f"{s:,}" for s, _ in curve)
                + " (metadata benchmark)"
            )
            continue
        measured = [
            r
            for r in rows
            if r.backend == "http" and r.method == row.method and r.per_asset_ms is not None
        ]
        if measured:
            basis = max(measured, key=lambda r: r.size)
            assert basis.per_asset_ms is not None
            row.extrapolated_seconds = basis.per_asset_ms * row.size / 1000
            row.extrapolated_how = (
                f"lower bound: {row.size:,} x the cost per asset of the {basis.size:,}-asset import"
            )


def run(config: Config, results: Results) -> BulkResult:
    """Every backend, method and size; HTTP estimates use the metadata section's curves."""
    settings = config.settings
    sizes = settings.bulk_sizes or settings.shared_sizes()
    rows = bench_bulk(
        list(BACKENDS),
        sizes,
        settings.repeat,
        mongo_cap=settings.mongo_cap,
        http_cap=settings.http_cap,
    )
    extrapolate(rows, http_curves(results.metadata_ops))
    return BulkResult(sizes=sizes, repeat=settings.repeat, rows=rows)
