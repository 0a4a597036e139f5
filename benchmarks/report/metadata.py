"""The metadata section's tables and plots (the MLflow peer's curves join its plot)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..records import Results
from ..sections.metadata import BACKENDS, OPS, READS, MetadataResult, StoreCell
from ..sections.mlflow import OPS as MLFLOW_OPS
from ..targets import (
    LARGE_PEAK_RSS_MB,
    OP_TARGETS,
    OPEN_S,
    PEAK_RSS_MB,
    SCAN_RATE,
    TARGET_SIZE,
)
from . import plotting
from .markdown import ms_bare, size_label, table, times


def _measured(data: MetadataResult, backend: str) -> list[StoreCell]:
    cells = [c.measured for c in data.cells if c.backend == backend and c.measured is not None]
    return sorted(cells, key=lambda c: c.size)


def operations_table(data: MetadataResult) -> str:
    """One row per operation and backend: median (p90) ms at each size, the growth from the
    smallest to the largest size it was measured at, and the ratio to the local store at
    the largest size both have."""
    sizes = data.sizes()
    backends = [b for b in BACKENDS if any(c.backend == b for c in data.cells)]
    tried = {(c.backend, c.size): c for c in data.cells}
    rows = []
    for op, label in OPS.items():
        for backend in backends:
            values = []
            for size in sizes:
                cell = data.cell(backend, size)
                if cell is None:
                    found = tried.get((backend, size))
                    values.append("" if found is None else "n/m" if found.skipped else "failed")
                    continue
                if op not in cell.ops:
                    values.append("-")
                    continue
                timing = cell.ops[op]
                text = f"{ms_bare(timing.median_ms)} ({ms_bare(timing.p90_ms)})"
                values.append(text + (f" n={timing.n}" if timing.n < 3 else ""))
            mine = [c for c in _measured(data, backend) if op in c.ops]
            growth = ratio = ""
            if len(mine) > 1:
                first, last = mine[0], mine[-1]
                growth = times(last.ops[op].median_ms / first.ops[op].median_ms)
                growth += f" ({size_label(first.size)}→{size_label(last.size)})"
            if mine and backend != "local":
                last = mine[-1]
                local = data.cell("local", last.size)
                if local is not None and op in local.ops:
                    ratio = times(last.ops[op].median_ms / local.ops[op].median_ms)
                    ratio += f" at {last.size:,}"
            rows.append([label, BACKENDS[backend], *values, growth, ratio])
    headers = [
        "operation",
        "backend",
        *(f"{s:,} assets" for s in sizes),
        "growth",
        "÷ local",
    ]
    return table(headers, rows, "ll" + "r" * (len(sizes) + 2))


def _rate(value: float) -> str:
    return f"{value / 1e6:.2f} M" if value >= 1e6 else f"{value / 1e3:,.0f} k"


def _mb(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f} MB"


def setup_table(data: MetadataResult) -> str:
    """Filling each store, opening it in a fresh process, and the processes' memory."""
    rows = []
    order = list(BACKENDS)
    for cell in sorted(data.cells, key=lambda c: (order.index(c.backend), c.size)):
        label, m = BACKENDS[cell.backend], cell.measured
        if m is None:
            why = f"not measured: {cell.skipped}" if cell.skipped else "failed"
            rows.append([label, f"{cell.size:,}", why, *[""] * 9])
            continue
        rate = m.scan_rate()
        bpa, bpa_open = m.bytes_per_asset, m.bytes_per_asset_open
        rows.append(
            [
                label,
                f"{cell.size:,}",
                f"{m.populate_s:,.1f}",
                f"{m.index_s:.2f}",
                _mb(m.populate_peak_rss_mb),
                f"{m.open_and_first_get_s:.2f}",
                "" if bpa is None else f"{bpa:,.0f} ({bpa_open:,.0f})",
                _mb(m.client_peak_rss_mb),
                "" if rate is None or cell.backend == "http" else _rate(rate),
                _mb(m.disk_mb),
                _mb(m.server_rss_mb),
                f"{cell.wall_s:,.0f}",
            ]
        )
    headers = [
        "backend",
        "assets",
        "`register_many` (s)",
        "`create_index` (s)",
        "its peak RSS",
        "open + first get (s)",
        "bytes per asset (after open only)",
        "peak RSS, open and used",
        "full scan (docs/s)",
        "on disk",
        "server RSS",
        "wall (s)",
    ]
    return table(headers, rows, "lr" + "r" * 10)


def explain_table(data: MetadataResult) -> tuple[int | None, list[str] | None, str | None]:
    """(size, the collection's indexes, table) of the MongoDB backend's ``explain()`` at the
    largest size it was measured."""
    cells = [c for c in _measured(data, "mongo") if c.explain]
    if not cells:
        return None, None, None
    cell = cells[-1]
    rows = [
        [
            row.query,
            f"`{row.filter}`",
            f"`{row.index}`" if row.index else "none",
            "" if row.pushdown is None else ("yes" if row.pushdown else "no"),
            "<br>".join(f"`{line}`" for line in row.plan),
        ]
        for row in cell.explain or []
    ]
    headers = ["query", "filter sent", "index used", "filter pushdown", "plan (as explain says)"]
    return cell.size, cell.indexes, table(headers, rows, "lllcl")


def explain_scans(data: MetadataResult) -> dict[str, bool] | None:
    """Whether none of the backend's own queries used an index, and whether the ``_id``
    lookup did not either; None without explain rows."""
    cells = [c for c in _measured(data, "mongo") if c.explain]
    rows = cells[-1].explain or [] if cells else []
    own = [r for r in rows if "_id" not in r.query]
    if not own:
        return None
    by_id = [r for r in rows if "_id" in r.query]
    return {
        "none_indexed": all(r.index is None for r in own),
        "id_scans": bool(by_id) and by_id[0].index is None,
    }


def context(results: Results) -> dict[str, Any] | None:
    """The template's ``metadata``: settings and tables; None when the section did not run."""
    data = results.metadata_ops
    if data is None or not data.cells:
        return None
    explain_size, mongo_indexes, explain = explain_table(data)
    large = [s for s in data.sizes() if s > data.all_backends_max]
    local = _measured(data, "local")
    return {
        "data": data,
        "operations_table": operations_table(data),
        "setup_table": setup_table(data),
        "explain_size": explain_size,
        "mongo_indexes": mongo_indexes,
        "explain_table": explain,
        "explain_scans": explain_scans(data),
        "large_sizes": large,
        "large_ops": [OPS[op] for op in data.large_ops],
        "left_out": [OPS[op] for op in OPS if op not in data.large_ops],
        "reads": [OPS[op] for op in READS],
        "local_indexes": local[-1].indexes if local else None,
        "mongo_tried": any(c.backend == "mongo" for c in data.cells),
        "mongo_skipped": next((c.skipped for c in data.cells if c.skipped), None),
    }


def _legend(fig: Any, axes: Any, ncol: int) -> None:
    handles, labels = [], []
    for ax in axes:
        for handle, text in zip(*ax.get_legend_handles_labels(), strict=True):
            if text not in labels:
                handles.append(handle)
                labels.append(text)
    fig.legend(
        handles, labels, loc="upper center", ncol=ncol, frameon=False, bbox_to_anchor=(0.5, 0.965)
    )


def plot_operations(results: Results, path: Path) -> Path | None:
    """Every operation's median against store size, per backend and for MLflow."""
    data = results.metadata_ops
    if data is None or not data.cells:
        return None
    peer = results.mlflow.measured() if results.mlflow else []
    fig, axes = plotting.figure(3, 4, figsize=(18, 12))
    limits = {op: limit for _, op, limit in OP_TARGETS}
    sizes = data.sizes()
    for ax, (op, label) in zip(axes.flat, OPS.items(), strict=False):
        for backend, backend_label in BACKENDS.items():
            points = [
                (c.size, c.ops[op].median_ms) for c in _measured(data, backend) if op in c.ops
            ]
            if points:
                ax.plot(
                    *zip(*points, strict=True),
                    marker="o",
                    color=plotting.COLORS[backend],
                    label=backend_label,
                )
        mlflow_op = "register" if op == "upload" else op
        points = sorted((c.size, c.ops[mlflow_op].median_ms) for c in peer if mlflow_op in c.ops)
        if points and (op in MLFLOW_OPS or op == "upload"):
            ax.plot(
                *zip(*points, strict=True),
                marker="s",
                linestyle="--",
                color=plotting.COLORS["mlflow"],
                label="MLflow registry (SQLite)",
            )
        if op in limits:
            plotting.target_line(
                ax, limits[op], f"target {limits[op]:g} ms (local, {TARGET_SIZE:,})", 0.02
            )
        plotting.log_axes(ax, sizes)
        ax.set_title(label, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_xlabel("assets in the store")
        ax.set_ylabel("median latency (ms)")
    for ax in list(axes.flat)[len(OPS) :]:
        ax.axis("off")
    fig.suptitle(
        "Metadata operations: median latency against store size (log-log)", y=0.995, fontsize=13
    )
    _legend(fig, axes.flat, 4)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return plotting.save(fig, path)


def plot_local(results: Results, path: Path) -> Path | None:
    """The README's plot: the local store's operations against store size."""
    data = results.metadata_ops
    measured = _measured(data, "local") if data else []
    if not measured:
        return None
    fig, ax = plotting.figure(figsize=(8.5, 5.4))
    markers = "os^vDP*Xph<"
    for (op, label), marker in zip(OPS.items(), markers, strict=True):
        points = [(c.size, c.ops[op].median_ms) for c in measured if op in c.ops]
        if points:
            ax.plot(*zip(*points, strict=True), marker=marker, label=label)
    for limit, text in (
        (0.15, "get target 0.15 ms"),
        (2, "register/update/delete target 2 ms"),
        (40, "full scan of 100k: 40 ms"),
    ):
        plotting.target_line(ax, limit, text, 0.22)
    plotting.log_axes(ax, [c.size for c in measured])
    ax.set_xlabel("assets in the store")
    ax.set_ylabel("median latency (ms)")
    ax.set_title("Local store (files + TinyDB): cost of each operation as the store grows")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return plotting.save(fig, path)


def plot_scaling(results: Results, path: Path) -> Path | None:
    """Per size: bytes per asset, open + first get, peak RSS and the full-scan rate."""
    data = results.metadata_ops
    if data is None or not any(c.measured for c in data.cells):
        return None
    fig, axes = plotting.figure(1, 4, figsize=(19, 4.8))
    panels: list[tuple[str, str, Any, float | None]] = [
        ("bytes per asset (fresh process, after the reads)", "bytes", "bpa", None),
        ("open + first get (fresh process)", "seconds", "open", OPEN_S),
        ("peak RSS: store open and used", "MiB", "peak", PEAK_RSS_MB),
        ("full scan: 50-hit query, undeclared field", "documents / s", "scan", SCAN_RATE),
    ]
    for ax, (title, unit, key, limit) in zip(axes, panels, strict=True):
        for backend, label in BACKENDS.items():
            points = []
            for c in _measured(data, backend):
                value = {
                    "bpa": c.bytes_per_asset,
                    "open": c.open_and_first_get_s,
                    "peak": c.client_peak_rss_mb if backend == "local" else None,
                    "scan": c.scan_rate() if backend != "http" else None,
                }[key]
                if value is not None and value > 0:
                    points.append((c.size, value))
            if points:
                ax.plot(
                    *zip(*points, strict=True),
                    marker="o",
                    color=plotting.COLORS[backend],
                    label=label,
                )
        if key == "peak":
            points = [(c.size, c.populate_peak_rss_mb) for c in _measured(data, "local")]
            if points:
                ax.plot(
                    *zip(*points, strict=True),
                    marker="^",
                    linestyle=":",
                    color=plotting.COLORS["local"],
                    label="local: the register_many that filled it",
                )
            plotting.target_line(ax, LARGE_PEAK_RSS_MB, "3 GB at 1M", 0.02)
        if limit is not None:
            plotting.target_line(ax, limit, f"target at {TARGET_SIZE // 1000}k", 0.02)
        plotting.log_axes(ax, data.sizes())
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("assets in the store")
        ax.set_ylabel(unit)
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("Memory, opening and scanning against store size (log-log)", y=1.0, fontsize=13)
    _legend(fig, axes, 4)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return plotting.save(fig, path)


def plots(results: Results, out: Path) -> dict[str, Path | None]:
    """The section's PNGs, by the name the templates use."""
    return {
        "metadata": plot_operations(results, out / "metadata_latency.png"),
        "local": plot_local(results, out / "local_store_latency.png"),
        "scaling": plot_scaling(results, out / "store_scaling.png"),
    }
