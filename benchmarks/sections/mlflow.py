"""Section ``mlflow``: the peer a user would pick instead, MLflow's model registry on SQLite,
at the same sizes and with the same operations as the metadata section.

MLflow runs in its own virtualenv (``mlflow-skinny``, ``sqlalchemy``, ``alembic``), never in
the project's, and each size in a fresh process of that virtualenv's Python
(:mod:`benchmarks.sections.mlflow_cell`). The virtualenv is created on first use, or with

    python -m benchmarks.sections.mlflow --setup [--venv PATH]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import DEFAULT_MLFLOW_VENV
from ..log import log
from ..processes import run_child
from ..serde import load
from ..timing import Timing

if TYPE_CHECKING:
    from ..config import Config
    from ..records import Results

PACKAGES = ("mlflow-skinny", "sqlalchemy", "alembic")
#: Our operation each MLflow operation stands beside, and what the MLflow call is.
OPS: dict[str, str] = {
    "register": "create_model_version with 3 tags",
    "get": "get_model_version",
    "update": "set_model_version_tag",
    "query_tag": "search_model_versions tags.stage (1/30)",
    "query_field_small": "search_model_versions tags.dataset (50 hits)",
    "query_field_large": "search_model_versions tags.framework (1/3)",
    "resolve": "latest version: search by name, order by version, 1 result",
}


@dataclass
class RegistryCell:
    """What the child measured at one size."""

    size: int
    mlflow: str
    sqlalchemy: str
    #: Seconds to import MLflow, to create its schema and to fill the registry.
    import_s: float
    init_s: float
    populate_s: float
    populate_method: str
    #: The SQLite file's size, in MiB.
    db_mb: float
    ops: dict[str, Timing]
    #: The child's own peak RSS, in MiB.
    peak_rss_mb: float


@dataclass
class MlflowCell:
    """One size as the parent saw it: the child's record, or its error."""

    size: int
    wall_s: float
    measured: RegistryCell | None = None
    error: str | None = None


@dataclass
class MlflowResult:
    """The section's record: ``status`` is ``ok``, or ``not run`` and ``reason`` says why."""

    status: str
    reason: str | None = None
    venv: str | None = None
    version: str | None = None
    cells: list[MlflowCell] = field(default_factory=list)

    def measured(self) -> list[RegistryCell]:
        """The cells that ran and did not fail."""
        return [cell.measured for cell in self.cells if cell.measured is not None]


def venv_python(venv: Path) -> Path:
    """The Python of the virtualenv ``venv``."""
    return venv / "bin" / "python"


def setup_venv(venv: Path) -> str | None:
    """Create ``venv`` with MLflow in it; None on success, else why it failed."""
    log(f"  mlflow: creating {venv} (python3 -m venv; pip install {' '.join(PACKAGES)})")
    venv.parent.mkdir(parents=True, exist_ok=True)
    for command in (
        ["python3", "-m", "venv", str(venv)],
        [str(venv_python(venv)), "-m", "pip", "install", "--quiet", *PACKAGES],
    ):
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{' '.join(command[:4])}: {exc}"
        if done.returncode:
            return f"{' '.join(command[:4])} failed: {done.stderr.strip()[-800:]}"
    return None


def bench_mlflow(
    sizes: list[int], reps: int, budget: float, venv: Path, *, setup: bool = True
) -> MlflowResult:
    """Every size in a fresh process of MLflow's virtualenv (created first when ``setup``)."""
    python = venv_python(venv)
    if not python.exists():
        if not setup:
            return MlflowResult(
                status="not run",
                reason=f"no MLflow virtualenv at {venv} "
                "(run python -m benchmarks.sections.mlflow --setup)",
            )
        error = setup_venv(venv)
        if error:
            return MlflowResult(status="not run", reason=f"MLflow did not install: {error}")
    probe = subprocess.run(
        [str(python), "-c", "import mlflow; print(mlflow.__version__)"],
        capture_output=True,
        text=True,
    )
    if probe.returncode:
        return MlflowResult(
            status="not run",
            reason=f"mlflow does not import in {venv}: {probe.stderr.strip()[-800:]}",
        )
    result = MlflowResult(status="ok", venv=str(venv), version=probe.stdout.strip())
    for size in sizes:
        spec = {"size": size, "reps": reps, "budget": budget}
        done = run_child(f"{__package__}.mlflow_cell", spec, python=str(python))
        if done.answer is None:
            log(f"  mlflow {size:,}: FAILED: {(done.error or '')[-300:]}")
            result.cells.append(MlflowCell(size, done.wall_s, error=done.error))
            continue
        cell = load(RegistryCell, done.answer)
        summary = ", ".join(f"{op} {row.median_ms:.2f}" for op, row in cell.ops.items())
        log(f"  mlflow {size:,} ({done.wall_s:.0f}s): {summary} ms")
        result.cells.append(MlflowCell(size, done.wall_s, measured=cell))
    return result


def run(config: Config, results: Results) -> MlflowResult:
    """MLflow at ``mlflow_sizes`` (or ``sizes``), with the metadata section's repeats."""
    settings = config.settings
    return bench_mlflow(
        settings.mlflow_sizes or settings.shared_sizes(),
        settings.reps,
        settings.budget,
        config.mlflow_venv,
        setup=config.mlflow_setup,
    )


def main(argv: list[str] | None = None) -> int:
    """``--setup``: create MLflow's virtualenv and say where."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sections.mlflow")
    parser.add_argument("--setup", action="store_true", help="create MLflow's virtualenv")
    parser.add_argument("--venv", type=Path, default=DEFAULT_MLFLOW_VENV)
    args = parser.parse_args(argv)
    if not args.setup:
        parser.error("nothing to do: run the section with python -m benchmarks --only mlflow")
    error = setup_venv(args.venv)
    print(error or f"MLflow is installed in {args.venv}", file=sys.stderr if error else sys.stdout)
    return 1 if error else 0


if __name__ == "__main__":
    raise SystemExit(main())
