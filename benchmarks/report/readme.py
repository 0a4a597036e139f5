"""The README's "Performance" section: one summary table and the headline numbers."""

from __future__ import annotations

from typing import Any

from ..records import Results
from ..sections.bulk import BulkRow
from ..sections.metadata import OPS
from ..sections.mlflow import OPS as MLFLOW_OPS
from ..targets import BULK_TARGET_SIZE, TARGET_SIZE
from .markdown import ms, table

#: The operations of the summary table.
SUMMARY_OPS = ("upload", "register", "get", "update", "query_tag", "query_field_large", "resolve")


def summary_table(results: Results) -> tuple[int | None, str | None, bool]:
    """(store size, table, whether MLflow is in it): the local store, the HTTP client and
    MLflow at 10,000 assets (or the largest size measured)."""
    data = results.metadata_ops
    if data is None or not data.cells:
        return None, None, False
    size = TARGET_SIZE if data.cell("local", TARGET_SIZE) else max(data.sizes())
    local, http = data.cell("local", size), data.cell("http", size)
    peer = results.mlflow.measured() if results.mlflow else []
    mlf = next((c for c in peer if c.size == size), None)
    rows = []
    for op in SUMMARY_OPS:
        row = [
            OPS[op],
            ms(local.ops[op].median_ms) if local else "",
            ms(http.ops[op].median_ms) if http else "",
        ]
        if mlf:
            row.append(ms(mlf.ops[op].median_ms) if op in MLFLOW_OPS else "")
        rows.append(row)
    headers = [f"at {size:,} assets", "local store", "HTTP client"]
    if mlf:
        headers.append("MLflow registry (SQLite)")
    return size, table(headers, rows, "l" + "r" * (len(headers) - 1)), mlf is not None


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
    return {
        "rel": rel,
        "size": size,
        "summary_table": summary,
        "with_mlflow": with_mlflow,
        "imports": largest_local_imports(results),
        "upload": upload,
        "scored": scored,
        "target_size": TARGET_SIZE,
        "bulk_target_size": BULK_TARGET_SIZE,
        "missed": [t.target for t in scored if not t.met],
        "minutes": (results.meta.duration_s or 0) / 60,
    }
