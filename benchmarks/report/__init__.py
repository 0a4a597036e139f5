"""The report of a run: ``report.md``, ``README-performance.md`` and PNG plots, from its
records. Python computes the numbers and the tables' rows (``report/<section>.py``); the
prose is in ``benchmarks/templates/``.

    python -m benchmarks.report benchmarks/results/results.json [--out DIR]
"""

from __future__ import annotations

from pathlib import Path

from ..paths import REPO
from ..records import Results
from ..targets import targets
from . import (
    bulk,
    metadata,
    mlflow,
    query_engine,
    readme,
    run_info,
    sync,
    target_table,
    transfers,
)
from .render import render

#: The report's parts that have tables, in the order of ``report.md``.
PARTS = {
    "targets": target_table,
    "metadata": metadata,
    "mlflow": mlflow,
    "bulk": bulk,
    "transfers": transfers,
    "sync": sync,
    "query_engine": query_engine,
}


def _relative(out: Path) -> str:
    """``out`` from the repository's root, as the README links it (else absolute)."""
    try:
        return str(out.resolve().relative_to(REPO))
    except ValueError:
        return str(out)


def write_all(results: Results, out: Path) -> list[Path]:
    """Write the plots, ``report.md`` and ``README-performance.md`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    if not results.targets:
        results.targets = targets(results)
    images: dict[str, Path | None] = {}
    for module in (metadata, bulk, transfers, query_engine):
        images.update(module.plots(results, out))
    names = {key: path.name if path else None for key, path in images.items()}
    sections = {name: part.context(results) for name, part in PARTS.items()}
    report = render(
        "report.md.j2",
        meta=results.meta,
        run=run_info.context(results),
        images=names,
        **sections,
    )
    (out / "report.md").write_text(report)
    summary = render(
        "README-performance.md.j2",
        meta=results.meta,
        images=names,
        **readme.context(results, _relative(out)),
    )
    (out / "README-performance.md").write_text(summary)
    written = [out / "report.md", out / "README-performance.md", *images.values()]
    return [path for path in written if path is not None]
