"""The bulk-import section's table and plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..records import Results
from ..sections.bulk import BACKENDS, BulkRow
from ..targets import BULK_LIMITS_S, BULK_SIZE
from . import plotting
from .markdown import table


def _row(row: BulkRow) -> list[str]:
    label = [BACKENDS[row.backend], f"`{row.method}`", f"{row.size:,}"]
    if row.seconds is not None:
        assert row.runs is not None
        assert row.peak_mb is not None
        runs = f" (median of {row.runs})" if row.runs > 1 else ""
        return [
            *label,
            f"{row.seconds:.2f}{runs}",
            f"{row.per_asset_ms:.3f}",
            f"{row.assets_per_s:,.0f}",
            f"{row.peak_mb:.0f} MB",
        ]
    if row.extrapolated_seconds is not None:
        text = f"~{row.extrapolated_seconds:,.0f} (estimate, not measured: {row.extrapolated_how})"
    elif row.skipped is not None:
        text = f"not measured: {row.skipped}"
    else:
        text = "failed"
    return [*label, text, "", "", ""]


def context(results: Results) -> dict[str, Any] | None:
    """The template's ``bulk``: its table; None when the section did not run."""
    data = results.bulk_import
    if data is None or not data.rows:
        return None
    headers = ["backend", "call", "assets", "seconds", "ms per asset", "assets/s", "peak RSS"]
    return {"data": data, "table": table(headers, map(_row, data.rows), "llrrrrr")}


def plot(results: Results, path: Path) -> Path | None:
    """Seconds of one import against its size, per backend and method (estimates hollow)."""
    rows = results.bulk_import.rows if results.bulk_import else []
    if not any(r.seconds is not None for r in rows):
        return None
    fig, ax = plotting.figure(figsize=(8, 5))
    for backend, backend_label in BACKENDS.items():
        for method, style in (("upload_many", "-"), ("register_many", "--")):
            mine = [r for r in rows if r.backend == backend and r.method == method]
            points = sorted((r.size, r.seconds) for r in mine if r.seconds is not None)
            label = f"{backend_label}: {method}"
            if points:
                ax.plot(
                    *zip(*points, strict=True),
                    style,
                    marker="o",
                    color=plotting.COLORS[backend],
                    label=label,
                )
            guesses = sorted(
                (r.size, r.extrapolated_seconds) for r in mine if r.extrapolated_seconds is not None
            )
            if guesses:
                ax.plot(
                    *zip(*guesses, strict=True),
                    linestyle="none",
                    marker="o",
                    markerfacecolor="none",
                    color=plotting.COLORS[backend],
                    label=f"{label} (estimate)",
                )
    for method, limit in BULK_LIMITS_S.items():
        text = f"target: {method} of {BULK_SIZE:,} in {limit:g} s (local)"
        plotting.target_line(ax, limit, text, 0.01)
    plotting.log_axes(ax, [r.size for r in rows])
    ax.set_xlabel("assets imported in one call")
    ax.set_ylabel("seconds")
    ax.set_title("Bulk import of small assets in one call")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    return plotting.save(fig, path)


def plots(results: Results, out: Path) -> dict[str, Path | None]:
    """The section's PNG, by the name the templates use."""
    return {"bulk": plot(results, out / "bulk_import.png")}
