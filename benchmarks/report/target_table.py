"""The targets' table."""

from __future__ import annotations

from typing import Any

from ..records import Results
from ..targets import TARGET_SIZE, Target
from .markdown import table


def _row(target: Target) -> list[str]:
    if target.met is None:
        return [target.target, target.goal, target.measured or "", target.note or "", "n/a"]
    verdict = "**met**" if target.met else "**not met**"
    return [target.target, target.goal, target.measured or "", target.note or "", verdict]


def context(results: Results) -> dict[str, Any] | None:
    """The template's ``targets``: the table and the counts; None when there are none."""
    if not results.targets:
        return None
    headers = ["target (local store)", "goal", "measured (median)", "detail", "met?"]
    scored = [t for t in results.targets if t.met is not None]
    return {
        "table": table(headers, map(_row, results.targets), "llrlc"),
        "scored": len(scored),
        "met": sum(1 for t in scored if t.met),
        "target_size": TARGET_SIZE,
    }
