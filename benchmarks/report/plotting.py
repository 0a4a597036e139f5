"""What the report's plots share: colours, log-log axes, target lines, saving to PNG."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
from matplotlib import ticker

from .markdown import size_label

matplotlib.use("Agg")  # files only, never a window

COLORS = {"local": "tab:blue", "mongo": "tab:orange", "http": "tab:green", "mlflow": "tab:red"}


def number_label(value: float) -> str:
    """A tick label: 0.2, 50, 2,000, 50k, 2.5M."""
    if value >= 1e6:
        return f"{value / 1e6:g}M"
    if value >= 1e4:
        return f"{value / 1e3:g}k"
    return f"{value:,g}"


def log_axes(ax: Any, sizes: Iterable[int] | None = None) -> None:
    """Log-log axes with plain numbers (1, 2, 5, 10...) and the store sizes as x ticks."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: number_label(v)))
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    if sizes:
        ticks = sorted(set(sizes))
        ax.xaxis.set_major_locator(ticker.FixedLocator(ticks))
        ax.xaxis.set_major_formatter(ticker.FixedFormatter([size_label(t) for t in ticks]))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlim(ticks[0] / 1.6, ticks[-1] * 1.6)


def target_line(ax: Any, value: float, text: str, x: float) -> None:
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


def figure(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """``plt.subplots``: a new figure and its axes."""
    return plt.subplots(*args, **kwargs)


def save(fig: Any, path: Path) -> Path:
    """Write ``fig`` to ``path`` as PNG and free it."""
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
