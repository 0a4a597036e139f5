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
    """Per query, each engine's matches, documents per second and our speed over its."""
    rows = []
    for query in data.queries:
        label = f"{query.query} `{json.dumps(query.filter)}`"
        for k, (name, run) in enumerate(query.engines.items()):
            first = label if k == 0 else ""
            if run.status != "ok":
                rows.append([first, name, run.status, "", ""])
                continue
            matches = f"{run.matches:,}"
            if run.same_matches_as_ours is False:
                matches += " **differs from ours**"
            ratio = run.ratio_ours_over_engine
            rows.append(
                [
                    first,
                    name,
                    matches,
                    f"{run.docs_per_second:,.0f}",
                    times(ratio) if ratio is not None else "",
                ]
            )
    headers = ["query", "engine", "matches", "docs/s", "ours / engine"]
    return table(headers, rows, "llrrr")


def context(results: Results) -> dict[str, Any] | None:
    """The template's ``query_engine``: the record and its table; None when not run."""
    data = results.query_engine
    if data is None:
        return None
    return {"data": data, "table": engines_table(data)}


def plot(results: Results, path: Path) -> Path | None:
    """Documents per second of each engine on each query (log scale)."""
    data = results.query_engine
    if data is None or not data.queries:
        return None
    queries = data.queries
    engines = list(queries[0].engines)
    fig, ax = plotting.figure(figsize=(10, 5))
    width = 0.8 / len(engines)
    engine_colors = ["tab:blue", "tab:orange", "tab:green", "tab:purple"]
    for k, engine in enumerate(engines):
        values = [q.engines[engine].docs_per_second or 0 for q in queries]
        xs = [i + (k - (len(engines) - 1) / 2) * width for i in range(len(queries))]
        ax.bar(xs, values, width, label=engine, color=engine_colors[k % 4])
    ax.set_xticks(range(len(queries)))
    ax.set_xticklabels([q.query for q in queries], fontsize=9)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylabel("documents per second (log; higher is better)")
    ax.set_title(
        f"Query engines over {data.docs:,} documents (median CPU time of {data.repeat} run(s))",
        fontsize=10,
    )
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=len(engines), frameon=False)
    return plotting.save(fig, path)


def plots(results: Results, out: Path) -> dict[str, Path | None]:
    """The section's PNG, by the name the templates use."""
    return {"query_engine": plot(results, out / "query_engine.png")}
