"""Where the benchmarks live, write their results and keep their templates."""

from __future__ import annotations

from pathlib import Path

#: The ``benchmarks`` package.
PACKAGE = Path(__file__).resolve().parent
#: The repository's root: children start there, so they import ``benchmarks`` as a package.
REPO = PACKAGE.parent
#: The full report's directory (``--quick`` writes into ``quick/`` under it).
RESULTS = PACKAGE / "results"
#: The report's Jinja2 templates.
TEMPLATES = PACKAGE / "templates"
