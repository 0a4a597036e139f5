"""The targets' table."""

from __future__ import annotations

from typing import Any

from ..records import Results
from ..targets import Target
from .markdown import ms, table


def _row(target: Target) -> list[str]:
    if target.measured is None:
        return [target.target, target.threshold, target.note or "", "", "n/a"]
    if target.unit == "ms":
        measured, p90 = ms(target.measured), ms(target.p90)
    else:
        measured, p90 = f"{target.measured:.1f} s (peak RSS {target.peak_mb:,.0f} MB)", ""
    verdict = "**met**" if target.met else "**not met**"
    return [target.target, target.threshold, measured, p90, verdict]


def context(results: Results) -> dict[str, Any] | None:
    """The template's ``targets``: the table; None when there are no targets."""
    if not results.targets:
        return None
    headers = ["target (local store)", "goal", "measured (median)", "p90", "met?"]
    return {"table": table(headers, map(_row, results.targets), "lrrrc")}
