"""Render ``results.json`` into ``report.md``, PNG plots and ``README-performance.md``.

    python -m benchmarks.report benchmarks/results/results.json [--out benchmarks/results]

``run.py`` calls :func:`write_all` at the end of a run; this entry point re-renders a saved
run without measuring anything again.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
from matplotlib import ticker

from .bulk_import import BACKENDS as BULK_BACKENDS
from .bulk_import import markdown as bulk_markdown
from .metadata_ops import BACKENDS, OPS, SHORT, cell_of, setup_markdown
from .metadata_ops import markdown as metadata_markdown
from .mlflow_peer import OPS as MLFLOW_OPS

matplotlib.use("Agg")  # files only, never a window

TARGET_SIZE = 10_000
BULK_TARGET_SIZE = 100_000
COLORS = {"local": "tab:blue", "mongomock": "tab:orange", "http": "tab:green", "mlflow": "tab:red"}
BACKEND_NOTES = {
    "local": "files in a directory, metadata in one TinyDB JSON file (the embedded default).",
    "mongomock": "files in a directory, metadata through the MongoDB backend on **mongomock, "
    "a stand-in: a pure-Python in-memory emulator, not a server**. Its numbers "
    "are mongomock's costs (it scans the collection where MongoDB uses an "
    "index), not MongoDB's: they show that the backend works at these sizes, "
    "not how fast MongoDB is.",
    "http": "the local store served by `assetstore serve` (uvicorn, its own process) and "
    'used through `open_store("http://127.0.0.1:PORT")`: every call is a request '
    "on the loopback interface.",
}
#: (label, metadata operation, threshold in ms) of the issue's targets on the local store.
OP_TARGETS = [
    ("get by URI", "get", 1.0),
    ("upload of a 1 KiB file, durable metadata write included", "upload", 15.0),
    ("query by tag (1/30 of assets)", "query_tag", 20.0),
    ("query by metadata field (50 hits)", "query_field_small", 20.0),
    ("query by metadata field (1/3 of assets returned)", "query_field_large", 20.0),
    ("resolve latest (a query by name underneath)", "resolve", 20.0),
]


# ------------------------------------------------------------------------------ numbers
def _fmt_ms(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if value < 1:
        return f"{value:.3f} ms"
    if value < 100:
        return f"{value:.1f} ms"
    if value < 10_000:
        return f"{value:,.0f} ms"
    return f"{value / 1000:,.1f} s"


def metadata_cells(results: dict[str, Any]) -> list[dict[str, Any]]:
    return results.get("metadata_ops", {}).get("cells", [])


def mlflow_cells(results: dict[str, Any]) -> list[dict[str, Any]]:
    mlflow = results.get("mlflow") or {}
    return [c for c in mlflow.get("cells", []) if "ops" in c]


def bulk_row(
    results: dict[str, Any], backend: str, method: str, size: int
) -> dict[str, Any] | None:
    for row in results.get("bulk_import", {}).get("rows", []):
        if (row["backend"], row["method"], row["size"]) == (backend, method, size):
            return row
    return None


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets (item 3) against this run's medians, met or not."""
    rows: list[dict[str, Any]] = []
    cell = cell_of(metadata_cells(results), "local", TARGET_SIZE)
    for label, op, limit in OP_TARGETS:
        row: dict[str, Any] = {
            "target": f"{label} at {TARGET_SIZE:,} assets",
            "threshold": f"< {limit:g} ms",
            "op": op,
        }
        if cell is None:
            row.update(measured=None, met=None, note=f"{TARGET_SIZE:,} assets not run")
        else:
            stats = cell["ops"][op]
            row.update(
                measured=stats["median_ms"],
                p90=stats["p90_ms"],
                n=stats["n"],
                met=stats["median_ms"] < limit,
                unit="ms",
            )
        rows.append(row)
    for method in ("upload_many", "register_many"):
        row = {
            "target": f"bulk import, `{method}` of {BULK_TARGET_SIZE:,} small assets",
            "threshold": "< 60 s",
            "op": method,
        }
        found = bulk_row(results, "local", method, BULK_TARGET_SIZE)
        if found is None or "seconds" not in found:
            row.update(
                measured=None,
                met=None,
                note=f"{BULK_TARGET_SIZE:,} assets not run" if found is None else "failed",
            )
        else:
            row.update(
                measured=found["seconds"],
                met=found["seconds"] < 60,
                unit="s",
                peak_mb=found["peak_mb"],
            )
        rows.append(row)
    return rows


def targets_markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| target (local store) | goal | measured (median) | p90 | met? |",
        "|---|---:|---:|---:|:---:|",
    ]
    for row in rows:
        if row["measured"] is None:
            lines.append(f"| {row['target']} | {row['threshold']} | {row['note']} | | n/a |")
            continue
        if row["unit"] == "ms":
            measured, p90 = _fmt_ms(row["measured"]), _fmt_ms(row["p90"])
        else:
            measured, p90 = f"{row['measured']:.1f} s (peak RSS {row['peak_mb']:,.0f} MB)", ""
        verdict = "**met**" if row["met"] else "**not met**"
        lines.append(f"| {row['target']} | {row['threshold']} | {measured} | {p90} | {verdict} |")
    return "\n".join(lines)


def mlflow_markdown(results: dict[str, Any]) -> str:
    """MLflow against our local store (and HTTP client), operation by operation."""
    cells = mlflow_cells(results)
    ours = metadata_cells(results)
    lines = [
        "| operation (ours / MLflow) | assets | local store | HTTP client | MLflow | "
        "MLflow ÷ local | MLflow ÷ HTTP |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    pairs = [("upload", "register"), *[(op, op) for op in MLFLOW_OPS]]
    for ours_op, peer_op in pairs:
        for cell in cells:
            size = cell["size"]
            peer = cell["ops"][peer_op]["median_ms"]
            local = cell_of(ours, "local", size)
            http = cell_of(ours, "http", size)
            local_ms = local["ops"][ours_op]["median_ms"] if local else None
            http_ms = http["ops"][ours_op]["median_ms"] if http else None
            label = f"{OPS[ours_op]} / `{MLFLOW_OPS[peer_op]}`"
            lines.append(
                f"| {label} | {size:,} | {_fmt_ms(local_ms) if local_ms else ''} | "
                f"{_fmt_ms(http_ms) if http_ms else ''} | {_fmt_ms(peer)} | "
                f"{f'{peer / local_ms:.1f}x' if local_ms else ''} | "
                f"{f'{peer / http_ms:.1f}x' if http_ms else ''} |"
            )
    return "\n".join(lines)


def mlflow_setup_markdown(results: dict[str, Any]) -> str:
    lines = [
        "| assets | import mlflow (s) | create schema (s) | fill (s) | SQLite file | "
        "peak RSS | one by one via the API (estimate) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for cell in mlflow_cells(results):
        one_by_one = cell["ops"]["register"]["median_ms"] * cell["size"] / 1000
        lines.append(
            f"| {cell['size']:,} | {cell['import_s']:.1f} | {cell['init_s']:.1f} | "
            f"{cell['populate_s']:.1f} | {cell['db_mb']:.0f} MB | "
            f"{cell['peak_rss_mb']:.0f} MB | ~{one_by_one:,.0f} s |"
        )
    return "\n".join(lines)


TRANSFER_PAIRS = {
    "local": [("upload", "copy+fsync"), ("download", "copy")],
    "s3": [("store upload", "boto3 upload_file"), ("store download", "boto3 download_file")],
    "http": [("upload via service", "upload direct"), ("download via service", "download direct")],
}
TRANSFER_TITLES = {
    "local": "Local disk: the store against a plain file copy (with fsync for the upload: "
    "the store's publish is durable). The store hashes every byte (sha256) on the "
    "way in and verifies it on the way out, before the file appears; the copy "
    "hashes nothing",
    "s3": "S3 on moto (server in its own process; the store's metadata in a TinyDB file): "
    "the store against boto3's upload_file / download_file. moto is a pure-Python "
    "emulator and can be the bottleneck (its downloads are slow for every client): "
    "read the ratio, not the MB/s",
    "http": "HTTP: through `assetstore serve` against the local store used directly",
}


def transfers_markdown(results: dict[str, Any]) -> str:
    data = results.get("transfers") or {}
    size_mb = data.get("size_mb", 0)
    parts = []
    for kind, pairs in TRANSFER_PAIRS.items():
        section = data.get(kind)
        if not section:
            continue
        parts.append(f"**{TRANSFER_TITLES[kind]}**\n")
        if "error" in section:
            parts.append(f"Failed: `{section['error'][-400:]}`\n")
            continue
        lines = [
            f"| {size_mb:,} MiB | seconds | MB/s | peak RSS (client) | time ÷ baseline's |",
            "|---|---:|---:|---:|---:|",
        ]
        for ours, baseline in pairs:
            for name in (baseline, ours):
                row = section[name]
                ratio = ""
                if name == ours:
                    ratio = f"{row['seconds'] / section[baseline]['seconds']:.2f}x"
                peak = f"{row['peak_mb']:,.0f} MB" if "peak_mb" in row else ""
                lines.append(
                    f"| {name} | {row['seconds']:.2f} | {size_mb / row['seconds']:,.0f}"
                    f" | {peak} | {ratio} |"
                )
        parts.append("\n".join(lines))
        if kind == "http" and "server_rss" in section:
            rss = section["server_rss"]
            parts.append(
                f"\nServer RSS: {rss['idle_mb']:.0f} MB idle, "
                f"{rss['peak_during_upload_mb']:.0f} MB at most during the uploads "
                f"(+{rss['growth_mb']:.0f} MB)."
            )
        parts.append("")
    imports = data.get("import_peak_mb")
    if imports:
        parts.append(
            "Peak RSS of a process that only imports: "
            + ", ".join(f"{name} {mb:.0f} MB" for name, mb in imports.items())
            + " (the floor under every peak above)."
        )
    return "\n".join(parts)


# -------------------------------------------------------------------------------- plots
def _size_label(size: float) -> str:
    if size >= 1000 and size % 1000 == 0:
        return f"{size / 1000:g}k"
    return f"{size:g}"


def _log_axes(ax: Any, sizes: Iterable[int] | None = None) -> None:
    """Log-log axes with plain numbers (1, 2, 5, 10...) and the store sizes as x ticks."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    if sizes:
        ticks = sorted(set(sizes))
        ax.xaxis.set_major_locator(ticker.FixedLocator(ticks))
        ax.xaxis.set_major_formatter(ticker.FixedFormatter([_size_label(t) for t in ticks]))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlim(ticks[0] / 1.6, ticks[-1] * 1.6)


def _target_line(ax: Any, value: float, text: str, x: float) -> None:
    """A dotted horizontal line at a target, labelled at ``x`` (a fraction of the axes)."""
    ax.axhline(value, color="grey", linestyle=":", linewidth=1)
    ax.annotate(
        text,
        (x, value),
        xycoords=("axes fraction", "data"),
        fontsize=7,
        color="dimgrey",
        va="bottom",
    )


def _save(fig: Any, path: Path) -> Path:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_metadata(results: dict[str, Any], path: Path) -> Path | None:
    cells = metadata_cells(results)
    if not cells:
        return None
    peer = mlflow_cells(results)
    fig, axes = plt.subplots(2, 4, figsize=(17, 8.2))
    limits = {op: limit for _, op, limit in OP_TARGETS}
    for ax, (op, label) in zip(axes.flat, OPS.items(), strict=True):
        for backend in BACKENDS:
            points = sorted(
                (c["size"], c["ops"][op]["median_ms"])
                for c in cells
                if c["backend"] == backend and "ops" in c
            )
            if points:
                ax.plot(
                    *zip(*points, strict=True),
                    marker="o",
                    color=COLORS[backend],
                    label=SHORT[backend],
                )
        mlflow_op = "register" if op == "upload" else op
        points = sorted((c["size"], c["ops"][mlflow_op]["median_ms"]) for c in peer)
        if points and (op in MLFLOW_OPS or op == "upload"):
            ax.plot(
                *zip(*points, strict=True),
                marker="s",
                linestyle="--",
                color=COLORS["mlflow"],
                label="MLflow registry (SQLite)",
            )
        if op in limits:
            _target_line(ax, limits[op], f"target {limits[op]:g} ms (local, {TARGET_SIZE:,})", 0.02)
        _log_axes(ax, [c["size"] for c in cells])
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
    return _save(fig, path)


def plot_local(results: dict[str, Any], path: Path) -> Path | None:
    """The README's plot: the local store's operations against store size."""
    cells = [c for c in metadata_cells(results) if c["backend"] == "local" and "ops" in c]
    if not cells:
        return None
    fig, ax = plt.subplots(figsize=(8, 5.2))
    markers = "os^vDP*X"
    for (op, label), marker in zip(OPS.items(), markers, strict=True):
        points = sorted((c["size"], c["ops"][op]["median_ms"]) for c in cells)
        ax.plot(*zip(*points, strict=True), marker=marker, label=label)
    for limit, text in (
        (1, "get target 1 ms"),
        (15, "upload target 15 ms"),
        (20, "query target 20 ms"),
    ):
        _target_line(ax, limit, text, 0.22)
    _log_axes(ax, [c["size"] for c in cells])
    ax.set_xlabel("assets in the store")
    ax.set_ylabel("median latency (ms)")
    ax.set_title("Local store (files + TinyDB): cost of each operation as the store grows")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return _save(fig, path)


def plot_transfers(results: dict[str, Any], path: Path) -> Path | None:
    data = results.get("transfers") or {}
    size_mb = data.get("size_mb")
    bars: list[tuple[str, float, str]] = []
    for kind, pairs in TRANSFER_PAIRS.items():
        section = data.get(kind)
        if not section or "error" in section:
            continue
        for ours, baseline in pairs:
            bars.append((f"{kind}: {baseline}", size_mb / section[baseline]["seconds"], "baseline"))
            bars.append((f"{kind}: {ours}", size_mb / section[ours]["seconds"], "store"))
    if not bars:
        return None
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(bars) + 1.4))
    names = [b[0] for b in bars][::-1]
    values = [b[1] for b in bars][::-1]
    colors = ["tab:blue" if b[2] == "store" else "tab:grey" for b in bars][::-1]
    ax.barh(names, values, color=colors)
    for y, value in enumerate(values):
        ax.annotate(
            f"{value:,.0f}",
            (value, y),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_xlabel("MB/s (higher is better)")
    ax.set_title(
        f"Transfers of a {size_mb:,} MiB file: assetstore (blue) against the "
        "tools people use (grey)",
        fontsize=10,
    )
    ax.set_xlim(0, max(values) * 1.15)
    ax.grid(True, axis="x", alpha=0.3)
    return _save(fig, path)


def plot_query_engine(results: dict[str, Any], path: Path) -> Path | None:
    data = results.get("query_engine")
    if not data:
        return None
    queries = data["queries"]
    engines = list(queries[0]["engines"])
    fig, ax = plt.subplots(figsize=(10, 5))
    width = 0.8 / len(engines)
    engine_colors = ["tab:blue", "tab:orange", "tab:green", "tab:purple"]
    for k, engine in enumerate(engines):
        values = [q["engines"][engine].get("docs_per_second", 0) for q in queries]
        xs = [i + (k - (len(engines) - 1) / 2) * width for i in range(len(queries))]
        ax.bar(xs, values, width, label=engine, color=engine_colors[k % 4])
    ax.set_xticks(range(len(queries)))
    ax.set_xticklabels([q["query"] for q in queries], fontsize=9)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylabel("documents per second (log; higher is better)")
    ax.set_title(
        f"Query engines over {data['docs']:,} documents "
        f"(median CPU time of {data['repeat']} run(s))",
        fontsize=10,
    )
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=len(engines), frameon=False)
    return _save(fig, path)


def plot_bulk(results: dict[str, Any], path: Path) -> Path | None:
    rows = results.get("bulk_import", {}).get("rows", [])
    if not any("seconds" in r for r in rows):
        return None
    fig, ax = plt.subplots(figsize=(8, 5))
    for backend in BULK_BACKENDS:
        for method, style in (("upload_many", "-"), ("register_many", "--")):
            mine = [r for r in rows if r["backend"] == backend and r["method"] == method]
            points = sorted((r["size"], r["seconds"]) for r in mine if "seconds" in r)
            label = f"{BULK_BACKENDS[backend]}: {method}"
            if points:
                ax.plot(
                    *zip(*points, strict=True),
                    style,
                    marker="o",
                    color=COLORS[backend],
                    label=label,
                )
            guesses = sorted(
                (r["size"], r["extrapolated_seconds"]) for r in mine if "extrapolated_seconds" in r
            )
            if guesses:
                ax.plot(
                    *zip(*guesses, strict=True),
                    linestyle="none",
                    marker="o",
                    markerfacecolor="none",
                    color=COLORS[backend],
                    label=f"{label} (estimate)",
                )
    _target_line(ax, 60, f"target 60 s at {BULK_TARGET_SIZE:,} (local)", 0.01)
    _log_axes(ax, [r["size"] for r in rows])
    ax.set_xlabel("assets imported in one call")
    ax.set_ylabel("seconds")
    ax.set_title("Bulk import of small assets in one call")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    return _save(fig, path)


# ------------------------------------------------------------------------------- report
def _machine_markdown(meta: dict[str, Any]) -> str:
    m = meta["machine"]
    git = meta["git"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v)
    changed = git.get("changed_library_files") or []
    tree = (
        f"**uncommitted changes to library files were measured**: "
        f"{', '.join(f'`{f}`' for f in changed)}"
        if changed
        else "no uncommitted changes to library files"
    )
    load_end = meta.get("load_end") or ["?"] * 3
    end = meta.get("git_end")
    if end and (end.get("commit"), end.get("changed_library_files")) != (
        git.get("commit"),
        git.get("changed_library_files"),
    ):
        files = ", ".join(f"`{f}`" for f in end.get("changed_library_files") or [])
        tree += (
            f"; **the tree changed during the run** (at the end: commit "
            f"`{(end.get('commit') or '?')[:12]}`, changed library files: "
            f"{files or 'none'})"
        )
    return "\n".join(
        [
            "| | |",
            "|---|---|",
            f"| CPU | {m['cpu']}: {m['logical_cpus']} logical CPUs "
            f"({m['physical_cores']} cores as the kernel reports them) |",
            f"| memory | {m['ram_gib']} GiB ({m['ram_available_gib']} GiB available at start) |",
            f"| disk | {m['disk_free_gib']} GiB free of {m['disk_total_gib']} GiB "
            f"at `{m['disk']}` |",
            f"| system | {m['platform']}; {m['python_implementation']} {m['python']} |",
            f"| load average (1/5/15 min) | start {' / '.join(map(str, meta['load_start']))}; "
            f"end {' / '.join(map(str, load_end))} |",
            f"| assetstore | commit `{(git.get('commit') or '?')[:12]}` "
            f"({git.get('subject') or ''}); {tree} |",
            f"| packages | {versions} |",
        ]
    )


def report_markdown(results: dict[str, Any], images: dict[str, Path | None]) -> str:
    meta = results["meta"]
    settings = meta["settings"]
    m = meta["machine"]
    out: list[str] = []
    add = out.append
    duration = meta.get("duration_s", 0)
    add("# assetstore benchmark report\n")
    add(
        f"Run {meta['started']} to {meta.get('finished', '?')} ({duration / 60:.1f} min), "
        f"profile **{meta['profile']}**, with:\n"
    )
    add(f"```sh\n{meta['command']}\n```\n")
    add(
        "Every comparison below was measured side by side in this one run, on this machine; "
        "times are medians (p90 in brackets where given) and ratios are of medians.\n"
    )
    add("## Machine and software\n")
    add(_machine_markdown(meta) + "\n")
    add(
        f"**Noise.** This is a shared virtual machine ({m['logical_cpus']} vCPUs) on which "
        "other work (other engineers' test suites) ran at the same time: the load average "
        f"was {meta['load_start'][0]} at the start and {(meta.get('load_end') or ['?'])[0]} "
        "at the end, against 2 CPUs. Expect absolute numbers to move by tens of percent "
        "between runs; the operations of one store are interleaved (one call of each in "
        "turn) and the contenders of each comparison alternate, so ratios are steadier than "
        "absolute times.\n"
    )
    seconds = meta.get("section_seconds") or {}
    if seconds:
        add(
            "Time per section: "
            + ", ".join(f"{name} {value / 60:.1f} min" for name, value in seconds.items())
            + ".\n"
        )
    section_git = meta.get("section_git") or {}
    states = {
        (g.get("commit"), tuple(g.get("changed_library_files") or ())) for g in section_git.values()
    }
    if len(states) > 1:
        add(
            "**The library changed between sections** (other work landed in the tree during "
            "the run); each section measured:\n"
        )
        for name, g in section_git.items():
            dirty = g.get("changed_library_files") or []
            add(
                f"* {name}: commit `{(g.get('commit') or '?')[:12]}`"
                + (f" plus uncommitted {', '.join(f'`{f}`' for f in dirty)}" if dirty else "")
            )
        add("")
    errors = meta.get("errors") or {}
    if errors:
        add(
            "**Sections that failed in this run:** "
            + ", ".join(f"`{name}`" for name in errors)
            + " (tracebacks in results.json).\n"
        )
    skipped = [
        s
        for s in ("query_engine", "metadata", "bulk", "transfers", "mlflow")
        if s not in meta["sections"]
    ]
    if skipped:
        add(f"Sections not run (`--only`): {', '.join(skipped)}.\n")

    if results.get("targets"):
        add("## Targets (issue item 3)\n")
        add("The targets are for the local store; a target is met when the median is under it.\n")
        add(targets_markdown(results["targets"]) + "\n")

    if metadata_cells(results):
        data = results["metadata_ops"]
        add("## Metadata operations against store size\n")
        add(
            f"Each backend at each size is a fresh store in a fresh process, filled in one "
            f"bulk call; then every operation is called in turn, round robin, up to "
            f"{data['reps']} times or until it has used {data['budget_s']:g} s (at least 3 "
            f"calls; `n=1`/`n=2` marks an operation slower than that). Median (p90) in "
            f"milliseconds. The data: 20 versions per name, each asset tagged "
            f"`group<i % 30>`, a `dataset` field shared by 50 assets, a `framework` shared "
            f"by a third. Backends:\n"
        )
        for backend in BACKENDS:
            add(f"* **{SHORT[backend]}**: {BACKEND_NOTES[backend]}")
        add("")
        add(metadata_markdown(metadata_cells(results)) + "\n")
        if images.get("metadata"):
            add(f"![metadata operations]({images['metadata'].name})\n")
        add(
            "Filling each store, its first read, and memory (the client process also filled "
            "the store, so its peak includes that; for HTTP the server's RSS is at the end):\n"
        )
        add(setup_markdown(metadata_cells(results)) + "\n")

    mlflow = results.get("mlflow")
    if mlflow is not None:
        add("## The peer: MLflow's model registry on SQLite\n")
        if mlflow.get("status") != "ok":
            add(f"Not measured: {mlflow.get('reason')}.\n")
        else:
            failed = [c for c in mlflow["cells"] if "error" in c]
            add(
                f"MLflow {mlflow['version']} (`mlflow-skinny`, SQLAlchemy registry store on a "
                f"local SQLite file), installed in its own virtualenv (`{mlflow['venv']}`) "
                "and run in a fresh process per size with the same data shape, the same "
                "interleaved repeats and the same budget as our store. MLflow's registry "
                "holds metadata only (a version's `source` is a URI), so its "
                "`create_model_version` is compared with our `register` (metadata only) and "
                "with our `upload` (which also stores the file durably). Its registry was "
                "filled by inserting rows into MLflow's tables in one SQLAlchemy "
                "transaction (it has no bulk API), then checked through its API. Time "
                "ratios: above 1 means MLflow is slower.\n"
            )
            add(mlflow_markdown(results) + "\n")
            add(
                "Setting MLflow up, and what importing the same number of versions one by "
                "one through its API would take (its measured `create_model_version` median "
                "times the count; an estimate):\n"
            )
            add(mlflow_setup_markdown(results) + "\n")
            for cell in failed:
                add(f"MLflow at {cell['size']:,} failed: `{cell['error'][-300:]}`\n")

    bulk = results.get("bulk_import")
    if bulk:
        add("## Bulk import\n")
        add(
            "One `upload_many` (1 KiB files, each different) or `register_many` (external "
            "assets) call into an empty store, in a fresh process; peak RSS is that "
            "process's own (it holds the list of items). Both calls are all or nothing: one "
            "metadata commit (and for uploads one flush of the blobs).\n"
        )
        add(bulk_markdown(bulk["rows"]) + "\n")
        add(
            "mongomock is measured only at small sizes: its unique index is checked by "
            "scanning the collection on every insert, which makes any import O(n^2) (a probe "
            "of 10,000 took over 5 minutes); an artefact of the emulator. The HTTP service "
            "has no bulk endpoint, so the HTTP client imports one request at a time, each a "
            "durable commit to a store that grows; larger sizes are estimated, not "
            "measured.\n"
        )
        if images.get("bulk"):
            add(f"![bulk import]({images['bulk'].name})\n")

    if results.get("transfers"):
        add("## Transfers\n")
        data = results["transfers"]
        s3_rounds = data.get("s3_repeat", data["repeat"])
        add(
            f"A {data['size_mb']:,} MiB file of random bytes; every contender runs in a fresh "
            f"process (peak RSS is its own VmHWM), the contenders alternate within each "
            f"round, medians of {data['repeat']} round(s) (S3: {s3_rounds}). The source file "
            "is in the page "
            "cache for every contender alike. Time ratios: above 1 means the store is "
            "slower than the baseline.\n"
        )
        add(transfers_markdown(results) + "\n")
        if images.get("transfers"):
            add(f"![transfers]({images['transfers'].name})\n")

    if results.get("query_engine"):
        from . import query_engine

        data = results["query_engine"]
        add("## Query engine\n")
        add(
            "Our filter engine against the in-process MongoDB emulators' on the same "
            "asset-shaped documents (CPU time, repeats interleaved across engines). "
            '"ours / engine" is a speed ratio: above 1 means ours is faster.\n'
        )
        add(query_engine.markdown(data["queries"], data["docs"], data["repeat"]) + "\n")
        add("Versions: " + ", ".join(f"{k} {v}" for k, v in data["versions"].items()) + ".\n")
        if images.get("query_engine"):
            add(f"![query engines]({images['query_engine'].name})\n")

    add("## What this report does not measure\n")
    add(
        "* A real MongoDB server: none can be installed here; mongomock stands in and is "
        "labelled so. Its latencies are not MongoDB's.\n"
        "* Real S3: moto emulates it on the loopback interface; network latency and S3's "
        "throughput limits are absent.\n"
        "* The HTTP numbers are for one client on the loopback interface against one "
        "uvicorn worker; `python -m benchmarks.http_service` measures request rates under "
        "concurrent load.\n"
        "* Several processes writing to one local store at once (the lock's contention)."
    )
    if mlflow is not None and mlflow.get("status") == "ok":
        add(
            "* MLflow's registry behind its tracking server (REST); only the SQLAlchemy store "
            "used in-process was measured, like our local store."
        )
    add("")
    add(f"Raw numbers: `results.json`. Settings of this run: `{json.dumps(settings)}`.")
    return "\n".join(out) + "\n"


def readme_markdown(results: dict[str, Any], images: dict[str, Path | None], out: Path) -> str:
    """The README's "Performance" section: a short table, one plot, how to reproduce."""
    meta = results["meta"]
    m = meta["machine"]
    rel = _relative(out)
    lines = ["## Performance", ""]
    lines.append(
        f"Measured on {m['logical_cpus']} shared vCPUs ({m['cpu']}), "
        f"{m['ram_gib']:.0f} GiB RAM, Python {m['python']}; medians. The full "
        f"report, with p90s, ratios, machine noise and every backend, is "
        f"[`{rel}/report.md`]({rel}/report.md)."
    )
    lines.append("")
    cells = metadata_cells(results)
    peer = mlflow_cells(results)
    size = (
        TARGET_SIZE
        if cell_of(cells, "local", TARGET_SIZE)
        else max((c["size"] for c in cells), default=None)
    )
    if size:
        local = cell_of(cells, "local", size)
        http = cell_of(cells, "http", size)
        mlf = next((c for c in peer if c["size"] == size), None)
        head = f"| at {size:,} assets | local store | HTTP client |"
        lines += [
            head + (" MLflow registry (SQLite) |" if mlf else ""),
            "|---|---:|---:|" + ("---:|" if mlf else ""),
        ]
        for op in (
            "upload",
            "register",
            "get",
            "update",
            "query_tag",
            "query_field_large",
            "resolve",
        ):
            row = f"| {OPS[op]} | "
            row += (_fmt_ms(local["ops"][op]["median_ms"]) if local else "") + " | "
            row += (_fmt_ms(http["ops"][op]["median_ms"]) if http else "") + " |"
            if mlf:
                peer_op = op if op in MLFLOW_OPS else None
                row += f" {_fmt_ms(mlf['ops'][peer_op]['median_ms'])} |" if peer_op else " |"
            lines.append(row)
        lines.append("")
        if mlf:
            lines += [
                "MLflow's registry keeps no files (a version's `source` is a URI), so "
                "its `create_model_version` is in the *register* row; the MongoDB "
                "backend is in the report, measured on mongomock, an emulator.",
                "",
            ]
    extra = []
    for method in ("upload_many", "register_many"):
        row = next(
            (
                r
                for r in results.get("bulk_import", {}).get("rows", [])
                if r["backend"] == "local"
                and r["method"] == method
                and "seconds" in r
                and r["size"] == max(x["size"] for x in results["bulk_import"]["rows"])
            ),
            None,
        )
        if row:
            extra.append(
                f"`{method}` of {row['size']:,} small assets in one call: {row['seconds']:.1f} s"
            )
    transfers = results.get("transfers") or {}
    local_t = transfers.get("local") or {}
    if "upload" in local_t:
        mb = transfers["size_mb"]
        upload, copy = local_t["upload"], local_t["copy+fsync"]
        extra.append(
            f"a {mb:,} MiB upload to the local store: "
            f"{mb / upload['seconds']:,.0f} MB/s "
            f"({upload['seconds'] / copy['seconds']:.2f}x the time of a copy + "
            f"fsync), peak RSS {upload['peak_mb']:.0f} MB"
        )
    if extra:
        text = "; ".join(extra)
        lines += [text[0].upper() + text[1:] + ".", ""]
    scored = [t for t in results.get("targets", []) if t.get("met") is not None]
    if scored:
        missed = [t["target"] for t in scored if not t["met"]]
        lines += [
            f"Targets of the performance work (local store, {TARGET_SIZE:,} assets; "
            f"bulk import of {BULK_TARGET_SIZE:,}): {len(scored) - len(missed)} of "
            f"{len(scored)} met" + (f"; not yet: {'; '.join(missed)}" if missed else "") + ".",
            "",
        ]
    if images.get("local"):
        lines += [f"![local store latency against store size]({rel}/{images['local'].name})", ""]
    took = (
        f"this full run took {meta.get('duration_s', 0) / 60:.0f} minutes"
        if meta["profile"] == "full"
        else "the full run takes tens of minutes"
    )
    lines += [
        f"Reproduce ({took}; `--quick` about one):",
        "",
        "```sh",
        "pip install -e '.[bench]'",
        "python -m benchmarks            "
        "# writes benchmarks/results/: report.md, results.json, *.png",
        "python -m benchmarks --quick    # a smoke run into benchmarks/results/quick/",
        "python -m benchmarks --only metadata,bulk --sizes 1000,10000",
        "```",
        "",
        "MLflow, the peer, is installed in a separate virtualenv on first use "
        "(`--no-mlflow-setup` skips it).",
    ]
    return "\n".join(lines) + "\n"


def _relative(out: Path) -> str:
    here = Path(__file__).resolve().parent.parent
    try:
        return str(out.resolve().relative_to(here))
    except ValueError:
        return str(out)


def write_all(results: dict[str, Any], out: Path) -> list[Path]:
    """Write the plots, ``report.md`` and ``README-performance.md`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    images: dict[str, Path | None] = {
        "metadata": plot_metadata(results, out / "metadata_latency.png"),
        "local": plot_local(results, out / "local_store_latency.png"),
        "bulk": plot_bulk(results, out / "bulk_import.png"),
        "transfers": plot_transfers(results, out / "transfer_throughput.png"),
        "query_engine": plot_query_engine(results, out / "query_engine.png"),
    }
    if "targets" not in results:
        results["targets"] = targets(results)
    (out / "report.md").write_text(report_markdown(results, images))
    (out / "README-performance.md").write_text(readme_markdown(results, images, out))
    written: Iterable[Path | None] = [
        out / "report.md",
        out / "README-performance.md",
        *images.values(),
    ]
    return [p for p in written if p is not None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("results", type=Path, help="a results.json written by run.py")
    parser.add_argument("--out", type=Path, help="default: the results file's directory")
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text())
    results["targets"] = targets(results)
    for path in write_all(results, args.out or args.results.parent):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
