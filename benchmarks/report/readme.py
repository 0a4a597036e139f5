"""The README's "Performance" section: the summary tables and the headline numbers."""

from __future__ import annotations

from typing import Any

from ..records import Results
from ..sections.bulk import BulkRow
from ..sections.metadata import OPS
from ..sections.mlflow import OPS as MLFLOW_OPS
from ..targets import TARGET_SIZE
from .markdown import ms, table

#: The operations of the summary table.
SUMMARY_OPS = (
    "upload",
    "register",
    "update",
    "delete",
    "get",
    "get_by_id",
    "resolve",
    "query_tag",
    "query_indexed",
    "query_field_small",
    "query_field_large",
)


def summary_table(results: Results) -> tuple[int | None, str | None, bool]:
    """(store size, table, whether MLflow is in it): the local store, the HTTP client, the
    MongoDB backend on FerretDB and MLflow at 100,000 assets (or the largest size all
    backends ran)."""
    data = results.metadata_ops
    if data is None or not data.cells:
        return None, None, False
    shared = [s for s in data.sizes() if s <= data.all_backends_max] or data.sizes()
    size = TARGET_SIZE if data.cell("local", TARGET_SIZE) else max(shared)
    cells = {b: data.cell(b, size) for b in ("local", "http", "mongo")}
    peer = results.mlflow.measured() if results.mlflow else []
    mlf = next((c for c in peer if c.size == size), None)
    rows = []
    for op in SUMMARY_OPS:
        row = [OPS[op]]
        for cell in cells.values():
            timing = cell.ops.get(op) if cell else None
            row.append(ms(timing.median_ms) if timing else "")
        if mlf:
            row.append(ms(mlf.ops[op].median_ms) if op in MLFLOW_OPS else "")
        rows.append(row)
    headers = [f"at {size:,} assets", "local store", "HTTP client", "MongoDB backend (FerretDB)"]
    if mlf:
        headers.append("MLflow registry (SQLite)")
    return size, table(headers, rows, "l" + "r" * (len(headers) - 1)), mlf is not None


def scaling_table(results: Results) -> str | None:
    """The local store per size: filling, opening, memory and the full scan."""
    data = results.metadata_ops
    cells = [c.measured for c in data.cells if c.backend == "local" and c.measured] if data else []
    if not cells:
        return None
    rows = []
    for cell in sorted(cells, key=lambda c: c.size):
        rate = cell.scan_rate()
        get = cell.ops.get("get")
        indexed = cell.ops.get("query_indexed")
        bpa = cell.bytes_per_asset
        rows.append(
            [
                f"{cell.size:,}",
                f"{cell.populate_s:,.1f} s",
                f"{cell.open_and_first_get_s:.2f} s",
                ms(get.median_ms) if get else "",
                ms(indexed.median_ms) if indexed else "",
                "" if rate is None else f"{rate / 1e6:.2f} M/s",
                "" if bpa is None else f"{bpa:,.0f}",
                f"{cell.client_peak_rss_mb:,.0f} MB",
            ]
        )
    headers = [
        "assets",
        "`register_many` (fill)",
        "open + first get",
        "get",
        "50-hit query, declared index",
        "full scan",
        "bytes per asset",
        "peak RSS, open and used",
    ]
    return table(headers, rows, "r" * len(headers))


def largest_local_imports(results: Results) -> list[BulkRow]:
    """The local store's measured bulk imports at the largest size of the section."""
    data = results.bulk_import
    if data is None or not data.rows:
        return []
    largest = max(row.size for row in data.rows)
    found = []
    for method in ("upload_many", "register_many"):
        row = data.row("local", method, largest)
        if row is not None and row.seconds is not None:
            found.append(row)
    return found


def context(results: Results, rel: str) -> dict[str, Any]:
    """The README template's values; ``rel`` is the output directory from the repository."""
    size, summary, with_mlflow = summary_table(results)
    transfers = results.transfers
    upload = None
    if transfers is not None and "upload" in transfers.local.runs:
        runs = transfers.local.runs
        upload = {
            "size_mb": transfers.size_mb,
            "mb_per_s": transfers.size_mb / runs["upload"].seconds,
            "ratio": runs["upload"].seconds / runs["copy+fsync"].seconds,
            "peak_mb": runs["upload"].peak_mb,
        }
    scored = [t for t in results.targets if t.met is not None]
    data = results.metadata_ops
    return {
        "rel": rel,
        "size": size,
        "summary_table": summary,
        "scaling_table": scaling_table(results),
        "with_mlflow": with_mlflow,
        "mongo_server": data.mongo_server if data else None,
        "imports": largest_local_imports(results),
        "upload": upload,
        "scored": scored,
        "target_size": TARGET_SIZE,
        "missed": [f"{t.target} ({t.measured}; goal {t.goal})" for t in scored if not t.met],
        "minutes": (results.meta.duration_s or 0) / 60,
    }
