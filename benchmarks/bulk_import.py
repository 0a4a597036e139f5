"""Bulk import: ``register_many`` and ``upload_many`` of many small assets in one call.

    python -m benchmarks.bulk_import --sizes 1000,10000,100000 --json bulk.json

Each import runs in a fresh process into a fresh, empty store and reports the seconds of the
one call and the process's own peak RSS (VmHWM, which includes the list of items it was
given). ``upload_many`` gets 1 KiB files given as bytes, each different; ``register_many``
gets external assets (metadata only). Both are all or nothing: one metadata commit, and for
uploads one flush of the blobs.

* ``local``: the embedded default (TinyDB);
* ``mongomock``: the MongoDB backend on mongomock, a pure-Python in-memory emulator. Its
  unique index is checked by scanning the collection on every insert, so an import is
  O(n^2) there (10,000 assets took over 5 minutes in a probe): it is measured up to
  ``--mongomock-cap`` assets only. This is an artefact of the emulator, not of MongoDB;
* ``http``: through the HTTP client. The service has no bulk endpoint, so the client's
  ``upload_many`` / ``register_many`` send one request per asset; measured up to
  ``--http-cap`` assets, and the larger sizes are extrapolated linearly (labelled).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._harness import measure

METHODS = ("register_many", "upload_many")
BACKENDS = {
    "local": "local (TinyDB)",
    "mongomock": "MongoDB (mongomock)",
    "http": "HTTP client (one request per asset)",
}

_ITEMS = """
import os
from benchmarks.metadata_ops import asset_name, asset_record, asset_version
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
    "mongomock": (
        "import mongomock\nfrom assetstore import open_store\n"
        "store = open_store(args[3], metadata='mongodb://localhost/bench',"
        " mongo_client=mongomock.MongoClient())"
    ),
}
_TIMED = {
    "register_many": "done = store.register_many(items)",
    "upload_many": "done = store.upload_many(items)",
}


def import_once(backend: str, method: str, size: int, workdir: Path) -> dict[str, float]:
    """One import of ``size`` assets into a fresh store, in a fresh process."""
    root = workdir / f"store-{backend}-{method}-{size}"
    if backend == "http":
        from .http_service import server

        with server(root) as (url, process):
            result = measure(
                _OPEN[backend] + _ITEMS, _TIMED[method], url, str(size), method, str(root)
            )
            result["server_rss_mb"] = process.memory_info().rss / (1 << 20)
            return result
    return measure(_OPEN[backend] + _ITEMS, _TIMED[method], str(root), str(size), method, str(root))


def bench_bulk(
    backends: list[str],
    sizes: list[int],
    repeat: int,
    *,
    mongomock_cap: int,
    http_cap: int,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Every backend, method and size; sizes of 100,000 and more run once."""
    rows = []
    for size in sizes:
        for backend in backends:
            cap = {"mongomock": mongomock_cap, "http": http_cap}.get(backend)
            for method in METHODS:
                row: dict[str, Any] = {"backend": backend, "method": method, "size": size}
                if cap is not None and size > cap:
                    row["skipped"] = f"above the {backend} cap of {cap:,} assets"
                    rows.append(row)
                    continue
                runs = []
                try:
                    for _ in range(1 if size >= 100_000 else repeat):
                        with tempfile.TemporaryDirectory(prefix="bench-bulk-") as tmp:
                            runs.append(import_once(backend, method, size, Path(tmp)))
                except Exception as exc:  # one failed import is a result, not the end
                    row["error"] = str(exc)[-1500:]
                    log(f"  bulk {backend} {method} {size:,}: FAILED: {row['error'][-300:]}")
                    rows.append(row)
                    continue
                seconds = statistics.median(r["seconds"] for r in runs)
                row.update(
                    {
                        "runs": len(runs),
                        "seconds": seconds,
                        "per_asset_ms": seconds / size * 1000,
                        "assets_per_s": size / seconds,
                        "peak_mb": max(r["peak_mb"] for r in runs),
                    }
                )
                if "server_rss_mb" in runs[-1]:
                    row["server_rss_mb"] = runs[-1]["server_rss_mb"]
                log(
                    f"  bulk {backend} {method} {size:,}: {seconds:.2f}s "
                    f"({row['per_asset_ms']:.3f} ms/asset, peak {row['peak_mb']:.0f} MB)"
                )
                rows.append(row)
    return rows


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


def extrapolate(
    rows: list[dict[str, Any]], curves: dict[str, list[tuple[int, float]]] | None = None
) -> None:
    """Give skipped HTTP rows an estimate. The client sends one request per asset and each
    request commits to a store that grows, so with ``curves`` (method -> [(store size, ms per
    request)], from the metadata benchmark) the estimate adds up the cost of every request
    at the size the store has then; without, it is the largest measured import's cost per
    asset times the count, a lower bound."""
    for row in rows:
        if row["backend"] != "http" or "skipped" not in row:
            continue
        curve = sorted((curves or {}).get(row["method"], []))
        if curve:
            steps = 1000
            width = row["size"] / steps
            total_ms = sum(_cost_at(curve, (k + 0.5) * width) for k in range(steps)) * width
            row["extrapolated_seconds"] = total_ms / 1000
            row["extrapolated_how"] = (
                "sum of the per-request cost measured at store sizes "
                + "/".join(f"{s:,}" for s, _ in curve)
                + " (metadata benchmark)"
            )
            continue
        measured = [
            r
            for r in rows
            if r["backend"] == "http" and r["method"] == row["method"] and "seconds" in r
        ]
        if measured:
            basis = max(measured, key=lambda r: r["size"])
            row["extrapolated_seconds"] = basis["per_asset_ms"] * row["size"] / 1000
            row["extrapolated_how"] = (
                f"lower bound: {row['size']:,} x the cost per asset "
                f"of the {basis['size']:,}-asset import"
            )


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| backend | call | assets | seconds | ms per asset | assets/s | peak RSS |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        label = f"| {BACKENDS[row['backend']]} | `{row['method']}` | {row['size']:,} |"
        if "seconds" in row:
            runs = f" (median of {row['runs']})" if row["runs"] > 1 else ""
            lines.append(
                f"{label} {row['seconds']:.2f}{runs} | {row['per_asset_ms']:.3f} | "
                f"{row['assets_per_s']:,.0f} | {row['peak_mb']:.0f} MB |"
            )
        elif "extrapolated_seconds" in row:
            lines.append(
                f"{label} ~{row['extrapolated_seconds']:,.0f} (estimate, not "
                f"measured: {row['extrapolated_how']}) | | | |"
            )
        elif "skipped" in row:
            lines.append(f"{label} not measured: {row['skipped']} | | | |")
        else:
            lines.append(f"{label} failed | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--repeat", type=int, default=3, help="runs below 100,000 (median)")
    parser.add_argument("--mongomock-cap", type=int, default=1000)
    parser.add_argument("--http-cap", type=int, default=1000)
    parser.add_argument("--json", help="also write the results here as JSON")
    args = parser.parse_args(argv)
    rows = bench_bulk(
        [b for b in args.backends.split(",") if b],
        [int(s) for s in args.sizes.split(",") if s],
        args.repeat,
        mongomock_cap=args.mongomock_cap,
        http_cap=args.http_cap,
        log=lambda text: print(text, file=sys.stderr),
    )
    extrapolate(rows)
    print(markdown(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
