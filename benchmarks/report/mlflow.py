"""The MLflow section's tables: MLflow beside our local store and HTTP client."""

from __future__ import annotations

from typing import Any

from ..records import Results
from ..sections.metadata import OPS
from ..sections.mlflow import OPS as MLFLOW_OPS
from .markdown import ms, table, times


def comparison_table(results: Results) -> str:
    """MLflow against our local store (and HTTP client), operation by operation."""
    assert results.mlflow is not None
    ours = results.metadata_ops
    rows = []
    pairs = [("upload", "register"), *[(op, op) for op in MLFLOW_OPS]]
    for ours_op, peer_op in pairs:
        for cell in results.mlflow.measured():
            peer = cell.ops[peer_op].median_ms
            local = ours.cell("local", cell.size) if ours else None
            http = ours.cell("http", cell.size) if ours else None
            local_ms = local.ops[ours_op].median_ms if local else None
            http_ms = http.ops[ours_op].median_ms if http else None
            rows.append(
                [
                    f"{OPS[ours_op]} / `{MLFLOW_OPS[peer_op]}`",
                    f"{cell.size:,}",
                    ms(local_ms) if local_ms else "",
                    ms(http_ms) if http_ms else "",
                    ms(peer),
                    times(peer / local_ms) if local_ms else "",
                    times(peer / http_ms) if http_ms else "",
                ]
            )
    headers = [
        "operation (ours / MLflow)",
        "assets",
        "local store",
        "HTTP client",
        "MLflow",
        "MLflow ÷ local",
        "MLflow ÷ HTTP",
    ]
    return table(headers, rows, "lrrrrrr")


def setup_table(results: Results) -> str:
    """MLflow's setup costs, and an estimate of importing one version at a time."""
    assert results.mlflow is not None
    rows = []
    for cell in results.mlflow.measured():
        one_by_one = cell.ops["register"].median_ms * cell.size / 1000
        rows.append(
            [
                f"{cell.size:,}",
                f"{cell.import_s:.1f}",
                f"{cell.init_s:.1f}",
                f"{cell.populate_s:.1f}",
                f"{cell.db_mb:.0f} MB",
                f"{cell.peak_rss_mb:.0f} MB",
                f"~{one_by_one:,.0f} s",
            ]
        )
    headers = [
        "assets",
        "import mlflow (s)",
        "create schema (s)",
        "fill (s)",
        "SQLite file",
        "peak RSS",
        "one by one via the API (estimate)",
    ]
    return table(headers, rows, "rrrrrrr")


def context(results: Results) -> dict[str, Any] | None:
    """The template's ``mlflow``: the record, and its tables when it ran; None if not run."""
    data = results.mlflow
    if data is None:
        return None
    if data.status != "ok":
        return {"data": data}
    return {
        "data": data,
        "comparison_table": comparison_table(results),
        "setup_table": setup_table(results),
        "failed": [cell for cell in data.cells if cell.error is not None],
    }
