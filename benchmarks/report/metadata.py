"""The metadata section's tables and plots (the MLflow peer's curves join its plot)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..records import Results
from ..sections.metadata import BACKENDS, OPS, MetadataResult
from ..sections.mlflow import OPS as MLFLOW_OPS
from ..targets import OP_TARGETS, TARGET_SIZE
from . import plotting
from .markdown import ms_bare, table, times


def operations_table(data: MetadataResult) -> str:
    """One row per operation and backend: median (p90) ms at each size, the growth from the
    smallest to the largest size, and the ratio to the local store at the largest size."""
    sizes = data.sizes()
    backends = [b for b in BACKENDS if any(c.backend == b for c in data.cells)]
    tried = {(c.backend, c.size) for c in data.cells}
    rows = []
    for op, label in OPS.items():
        for backend in backends:
            values = []
            for size in sizes:
                cell = data.cell(backend, size)
                if cell is None:
                    values.append("failed" if (backend, size) in tried else "")
                    continue
                timing = cell.ops[op]
                text = f"{ms_bare(timing.median_ms)} ({ms_bare(timing.p90_ms)})"
                values.append(text + (f" n={timing.n}" if timing.n < 3 else ""))
            first, last = data.cell(backend, sizes[0]), data.cell(backend, sizes[-1])
            local = data.cell("local", sizes[-1])
            growth = ratio = ""
            if first and last and len(sizes) > 1:
                growth = times(last.ops[op].median_ms / first.ops[op].median_ms)
            if last and local and backend != "local":
                ratio = times(last.ops[op].median_ms / local.ops[op].median_ms)
            rows.append([label, BACKENDS[backend], *values, growth, ratio])
    headers = [
        "operation",
        "backend",
        *(f"{s:,} assets" for s in sizes),
        f"growth {sizes[0]:,} to {sizes[-1]:,}",
        f"÷ local at {sizes[-1]:,}",
    ]
    return table(headers, rows, "ll" + "r" * (len(sizes) + 2))


def setup_table(data: MetadataResult) -> str:
    """How long filling each store and its first read took, and the processes' memory."""
    rows = []
    order = list(BACKENDS)
    for cell in sorted(data.cells, key=lambda c: (order.index(c.backend), c.size)):
        label, m = BACKENDS[cell.backend], cell.measured
        if m is None:
            rows.append([label, f"{cell.size:,}", "failed", "", "", "", ""])
            continue
        server = f"{m.server_rss_mb:.0f} MB" if m.server_rss_mb is not None else ""
        rows.append(
            [
                label,
                f"{cell.size:,}",
                f"{m.populate_s:.1f}",
                f"{m.open_and_first_get_s:.2f}",
                f"{m.client_peak_rss_mb:.0f} MB",
                server,
                f"{cell.wall_s:.0f}",
            ]
        )
    headers = [
        "backend",
        "assets",
        "fill (s)",
        "open + first get (s)",
        "client peak RSS",
        "server RSS",
        "wall (s)",
    ]
    return table(headers, rows, "lrrrrrr")


def context(results: Results) -> dict[str, Any] | None:
    """The template's ``metadata``: settings and tables; None when the section did not run."""
    data = results.metadata_ops
    if data is None or not data.cells:
        return None
    return {
        "data": data,
        "operations_table": operations_table(data),
        "setup_table": setup_table(data),
    }


def plot_operations(results: Results, path: Path) -> Path | None:
    """Every operation's median against store size, per backend and for MLflow."""
    data = results.metadata_ops
    if data is None or not data.cells:
        return None
    peer = results.mlflow.measured() if results.mlflow else []
    fig, axes = plotting.figure(2, 4, figsize=(17, 8.2))
    limits = {op: limit for _, op, limit in OP_TARGETS}
    for ax, (op, label) in zip(axes.flat, OPS.items(), strict=True):
        for backend, backend_label in BACKENDS.items():
            points = sorted(
                (c.size, c.measured.ops[op].median_ms)
                for c in data.cells
                if c.backend == backend and c.measured is not None
            )
            if points:
                ax.plot(
                    *zip(*points, strict=True),
                    marker="o",
                    color=plotting.COLORS[backend],
                    label=backend_label,
                )
        mlflow_op = "register" if op == "upload" else op
        points = sorted((c.size, c.ops[mlflow_op].median_ms) for c in peer)
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
        plotting.log_axes(ax, [c.size for c in data.cells])
        ax.set_title(label, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_xlabel("assets in the store")
        ax.set_ylabel("median latency (ms)")
    handles, labels = [], []
    for ax in axes.flat:
        for handle, text in zip(*ax.get_legend_handles_labels(), strict=True):
            if text not in labels:
                handles.append(handle)
                labels.append(text)
    fig.suptitle(
        "Metadata operations: median latency against store size (log-log)", y=0.995, fontsize=13
    )
    fig.legend(
        handles, labels, loc="upper center", ncol=4, frameon=False, bbox_to_anchor=(0.5, 0.965)
    )
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return plotting.save(fig, path)


def plot_local(results: Results, path: Path) -> Path | None:
    """The README's plot: the local store's operations against store size."""
    data = results.metadata_ops
    cells = [c for c in data.cells if c.backend == "local"] if data else []
    measured = [c.measured for c in cells if c.measured is not None]
    if not measured:
        return None
    fig, ax = plotting.figure(figsize=(8, 5.2))
    markers = "os^vDP*X"
    for (op, label), marker in zip(OPS.items(), markers, strict=True):
        points = sorted((c.size, c.ops[op].median_ms) for c in measured)
        ax.plot(*zip(*points, strict=True), marker=marker, label=label)
    for limit, text in (
        (1, "get target 1 ms"),
        (15, "upload target 15 ms"),
        (20, "query target 20 ms"),
    ):
        plotting.target_line(ax, limit, text, 0.22)
    plotting.log_axes(ax, [c.size for c in measured])
    ax.set_xlabel("assets in the store")
    ax.set_ylabel("median latency (ms)")
    ax.set_title("Local store (files + TinyDB): cost of each operation as the store grows")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return plotting.save(fig, path)


def plots(results: Results, out: Path) -> dict[str, Path | None]:
    """The section's PNGs, by the name the templates use."""
    return {
        "metadata": plot_operations(results, out / "metadata_latency.png"),
        "local": plot_local(results, out / "local_store_latency.png"),
    }
