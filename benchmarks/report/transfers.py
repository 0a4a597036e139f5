"""The transfers section's tables and plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..records import Results
from ..sections.transfers import PAIRS, TransferPart
from . import plotting
from .markdown import table


def part_table(part: TransferPart, pairs: list[tuple[str, str]], size_mb: int) -> str:
    """Each pair's baseline then ours: seconds, MB/s, the client's peak RSS, time ratio."""
    rows = []
    for ours, baseline in pairs:
        for name in (baseline, ours):
            run = part.runs[name]
            ratio = f"{run.seconds / part.runs[baseline].seconds:.2f}x" if name == ours else ""
            rows.append(
                [
                    name,
                    f"{run.seconds:.2f}",
                    f"{size_mb / run.seconds:,.0f}",
                    f"{run.peak_mb:,.0f} MB",
                    ratio,
                ]
            )
    headers = [f"{size_mb:,} MiB", "seconds", "MB/s", "peak RSS (client)", "time ÷ baseline's"]
    return table(headers, rows, "lrrrr")


def context(results: Results) -> dict[str, Any] | None:
    """The template's ``transfers``: per part its table or error; None when not run."""
    data = results.transfers
    if data is None:
        return None
    parts = [
        {
            "kind": kind,
            "error": part.error,
            "table": None if part.error else part_table(part, PAIRS[kind], data.size_mb),
            "server_rss": part.server_rss,
        }
        for kind, part in data.parts().items()
    ]
    return {"data": data, "parts": parts}


def plot(results: Results, path: Path) -> Path | None:
    """MB/s of ours against each baseline, one bar each."""
    data = results.transfers
    if data is None:
        return None
    bars: list[tuple[str, float, str]] = []
    for kind, part in data.parts().items():
        if part.error:
            continue
        for ours, baseline in PAIRS[kind]:
            bars.append(
                (f"{kind}: {baseline}", data.size_mb / part.runs[baseline].seconds, "baseline")
            )
            bars.append((f"{kind}: {ours}", data.size_mb / part.runs[ours].seconds, "store"))
    if not bars:
        return None
    fig, ax = plotting.figure(figsize=(9, 0.42 * len(bars) + 1.4))
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
        f"Transfers of a {data.size_mb:,} MiB file: assetstore (blue) against the "
        "tools people use (grey)",
        fontsize=10,
    )
    ax.set_xlim(0, max(values) * 1.15)
    ax.grid(True, axis="x", alpha=0.3)
    return plotting.save(fig, path)


def plots(results: Results, out: Path) -> dict[str, Path | None]:
    """The section's PNG, by the name the templates use."""
    return {"transfers": plot(results, out / "transfer_throughput.png")}
