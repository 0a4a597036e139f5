"""The query-engine section's table and plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from matplotlib import ticker

from ..records import Results
from ..sections.query_engine import QueryEngineResult
from . import plotting
from .markdown import table, times


def engines_table(data: QueryEngineResult) -> str:
    """One row per filter: our matches and documents per second, and our speed over each
    other engine's ("≠": that engine's matches differ from ours, so its speed means little)."""
    others = [name for name in data.versions if name != "assetstore"]
    rows = []
    for query in data.queries:
        ours = query.engines.get("assetstore")
        if ours is None or ours.status != "ok":
            rows.append([query.query, ours.status if ours else "not run", "", *[""] * len(others)])
            continue
        cells = []
        for name in others:
            run = query.engines.get(name)
            if run is None or run.status != "ok":
                cells.append(run.status if run else "")
                continue
            cell = times(run.ratio_ours_over_engine) if run.ratio_ours_over_engine else ""
            if run.same_matches_as_ours is False:
                cell += " ≠"
            cells.append(cell)
        rows.append([query.query, f"{ours.matches:,}", f"{ours.docs_per_second:,.0f}", *cells])
    headers = ["filter", "matches", "ours docs/s", *[f"ours / {name}" for name in others]]
    return table(headers, rows, "lrr" + "r" * len(others))


def filters_list(data: QueryEngineResult) -> str:
    """Each filter's JSON, by its label."""
    return table(
        ["filter", "JSON"],
        [[q.query, f"`{json.dumps(q.filter)}`"] for q in data.queries],
        "ll",
    )


def context(results: Results) -> dict[str, Any] | None:
    """The template's ``query_engine``: the record and its table; None when not run."""
    data = results.query_engine
    if data is None:
        return None
    return {"data": data, "table": engines_table(data), "filters": filters_list(data)}


def plot(results: Results, path: Path) -> Path | None:
    """Our speed over the hand-written predicate's, per filter, with the 0.4 target."""
    data = results.query_engine
    if data is None or not data.queries:
        return None
    rows = [
        (q.query, q.engines["hand-written"].ratio_ours_over_engine or 0.0)
        for q in data.queries
        if "hand-written" in q.engines and q.engines["hand-written"].status == "ok"
    ]
    if not rows:
        return None
    fig, ax = plotting.figure(figsize=(9, 0.28 * len(rows) + 1.5))
    labels = [label for label, _ in rows]
    values = [value for _, value in rows]
    colors = ["tab:green" if v >= 0.4 else "tab:red" for v in values]
    ax.barh(range(len(rows)), values, color=colors)
    ax.axvline(0.4, color="black", linestyle="--", linewidth=1, label="target 0.4")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:.1f}x"))
    ax.set_xlabel("our speed / the hand-written predicate's (higher is better)")
    ax.set_title(
        f"Query engine over {data.docs:,} documents (median CPU time of {data.repeat} run(s))",
        fontsize=10,
    )
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(loc="lower right", frameon=False)
    return plotting.save(fig, path)


def plots(results: Results, out: Path) -> dict[str, Path | None]:
    """The section's PNG, by the name the templates use."""
    return {"query_engine": plot(results, out / "query_engine.png")}
