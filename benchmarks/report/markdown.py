"""Markdown tables (tabulate's pipe format) and the report's number formats."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from tabulate import tabulate

_ALIGN = {"l": "left", "r": "right", "c": "center"}


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], align: str) -> str:
    """A pipe table of already formatted cells; ``align`` has a letter per column (l, r, c).

    Cells are not parsed as numbers (they come formatted), and a ``|`` in a cell is escaped
    so that it does not split the cell.
    """
    body = [[_cell(value) for value in row] for row in rows]
    return tabulate(
        body,
        headers=[_cell(h) for h in headers],
        tablefmt="pipe",
        disable_numparse=True,
        colalign=[_ALIGN[a] for a in align],
    )


def _cell(value: object) -> str:
    return "" if value is None else str(value).replace("|", "\\|")


def is_nan(value: float | None) -> bool:
    """True for None and NaN (a median of no call)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def ms(value: float | None) -> str:
    """Milliseconds with a unit and 3 significant digits or so: 0.164 ms, 16.6 ms, 1,420 ms,
    11.1 s."""
    if is_nan(value):
        return "n/a"
    assert value is not None
    if value < 1:
        return f"{value:.3f} ms"
    if value < 100:
        return f"{value:.1f} ms"
    if value < 10_000:
        return f"{value:,.0f} ms"
    return f"{value / 1000:,.1f} s"


def ms_bare(value: float | None) -> str:
    """Milliseconds without a unit, for tables whose header gives it: 0.164, 16.6, 1,420."""
    if is_nan(value):
        return "n/a"
    assert value is not None
    if value < 1:
        return f"{value:.3f}"
    if value < 100:
        return f"{value:.1f}"
    return f"{value:,.0f}"


def times(value: float, digits: int = 1) -> str:
    """A ratio: ``2.1x``."""
    return f"{value:.{digits}f}x"


def size_label(size: float) -> str:
    """A store size for an axis: 1k, 100k, 300."""
    if size >= 1000 and size % 1000 == 0:
        return f"{size / 1000:g}k"
    return f"{size:g}"
