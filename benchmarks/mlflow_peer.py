"""The peer a user would pick instead: MLflow's model registry on SQLite, at the same sizes and
with the same operations as ``metadata_ops.py``.

    python -m benchmarks.mlflow_peer --sizes 1000,10000 --venv ~/.cache/assetstore-benchmarks/mlflow
    python -m benchmarks.mlflow_peer --setup          # create that virtualenv first

MLflow runs in its own virtualenv (``mlflow-skinny``, ``sqlalchemy``, ``alembic``), never in
the project's, and each size in a fresh process of that virtualenv's Python. This file is both
the driver (in the project's environment) and the child (in MLflow's): the child imports only
the standard library, MLflow and ``_timing``.

The registry is filled the way ``register_many`` fills our store: in one transaction, here by
inserting rows into MLflow's own tables with SQLAlchemy, because MLflow has no bulk API (one
``create_model_version`` per version would take ~35 ms each). The child then checks the
result through the public API (hit counts of the searches) and times, with the same
interleaved, time-budgeted repeats as our store:

=======================  ==========================================================  ======
ours                     MLflow                                                      hits
=======================  ==========================================================  ======
register / upload        ``create_model_version(name, source, tags={3 tags})``
get by URI               ``get_model_version(name, version)``
update tags              ``set_model_version_tag(name, version, key, value)``
query by tag             ``search_model_versions("tags.stage = 'group7'")``          1/30
query by field (small)   ``search_model_versions("tags.dataset = 'ds7'")``           50
query by field (large)   ``search_model_versions("tags.framework = 'pytorch'")``     1/3
resolve latest           ``search_model_versions("name = 'x'", max_results=1,``      1
                         ``order_by=["version_number DESC"])``
=======================  ==========================================================  ======

Searches ask for up to 200,000 results (MLflow's ceiling) so that, like our ``query``, they
return every hit in one call.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._timing import peak_rss_mb, run_interleaved

#: The repository's root: the child starts there, to import ``benchmarks`` as a package.
REPO = Path(__file__).resolve().parents[1]

DEFAULT_VENV = Path(
    os.environ.get("ASSETSTORE_BENCH_MLFLOW_VENV")
    or Path.home() / ".cache" / "assetstore-benchmarks" / "mlflow-venv"
)
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
VERSIONS_PER_NAME = 20
TAG_GROUPS = 30
SMALL_HITS = 50
FRAMEWORKS = ("pytorch", "tensorflow", "onnx")
MAX_RESULTS = 200_000


# --------------------------------------------------------------------------- the child
def _model(i: int) -> tuple[str, int]:
    """(registered model name, version number) of the ``i``-th version."""
    model = i // VERSIONS_PER_NAME
    return f"org{model % 50}-model{model}", i % VERSIONS_PER_NAME + 1


def _tags(i: int, size: int) -> dict[str, str]:
    return {
        "stage": f"group{i % TAG_GROUPS}",
        "dataset": f"ds{i % max(1, size // SMALL_HITS)}",
        "framework": FRAMEWORKS[i % len(FRAMEWORKS)],
    }


def run_cell(size: int, reps: int, budget: float) -> dict[str, Any]:
    """Fill a fresh SQLite registry with ``size`` versions and time the operations."""
    import logging

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    started = time.perf_counter()
    import mlflow
    import sqlalchemy as sa
    from mlflow import MlflowClient
    from mlflow.store.model_registry.dbmodels.models import (
        SqlModelVersion,
        SqlModelVersionTag,
        SqlRegisteredModel,
    )

    import_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="bench-mlflow-") as tmp:
        uri = f"sqlite:///{tmp}/mlflow.db"
        started = time.perf_counter()
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        client.search_registered_models(max_results=1)  # creates and migrates the schema
        init_s = time.perf_counter() - started

        started = time.perf_counter()
        now = int(time.time() * 1000)
        names = sorted({_model(i)[0] for i in range(size)})
        engine = sa.create_engine(uri)
        with engine.begin() as connection:
            connection.execute(
                sa.insert(SqlRegisteredModel.__table__),
                [{"name": name, "creation_time": now, "last_updated_time": now} for name in names],
            )
            versions, tags = [], []
            for i in range(size):
                name, version = _model(i)
                versions.append(
                    {
                        "name": name,
                        "version": version,
                        "creation_time": now,
                        "last_updated_time": now,
                        "current_stage": "None",
                        "source": f"file:///models/{i}.pt",
                        "status": "READY",
                        "storage_location": f"file:///models/{i}.pt",
                    }
                )
                tags.extend(
                    {"name": name, "version": version, "key": key, "value": value}
                    for key, value in _tags(i, size).items()
                )
            connection.execute(sa.insert(SqlModelVersion.__table__), versions)
            connection.execute(sa.insert(SqlModelVersionTag.__table__), tags)
        engine.dispose()
        populate_s = time.perf_counter() - started

        checks = {
            "query_tag": (
                len(client.search_model_versions("tags.stage = 'group7'", max_results=MAX_RESULTS)),
                len([i for i in range(size) if i % TAG_GROUPS == 7]),
            ),
            "get": (
                client.get_model_version(*map(str, _model(size - 1))).version,
                str(_model(size - 1)[1]),
            ),
        }
        for what, (got, expected) in checks.items():
            if str(got) != str(expected):
                raise SystemExit(
                    f"the filled registry is wrong: {what} gave {got}, expected {expected}"
                )

        rng = random.Random(7)

        def create(k: int) -> Any:
            name = _model(rng.randrange(size))[0]
            return client.create_model_version(
                name, source=f"file:///models/new{k}.pt", tags=_tags(size + k, size)
            )

        def get(_: int) -> Any:
            name, version = _model(rng.randrange(size))
            return client.get_model_version(name, str(version))

        def update(k: int) -> Any:
            name, version = _model(rng.randrange(size))
            return client.set_model_version_tag(name, str(version), "touched", str(k))

        def search(filter_string: str) -> Callable[[int], Any]:
            return lambda _: client.search_model_versions(filter_string, max_results=MAX_RESULTS)

        def latest(_: int) -> Any:
            name = _model(rng.randrange(size))[0]
            found = client.search_model_versions(
                f"name = '{name}'", order_by=["version_number DESC"], max_results=1
            )
            return found[0]

        ops = run_interleaved(
            {
                "register": create,
                "get": get,
                "update": update,
                "query_tag": search("tags.stage = 'group7'"),
                "query_field_small": search("tags.dataset = 'ds7'"),
                "query_field_large": search("tags.framework = 'pytorch'"),
                "resolve": latest,
            },
            max_reps=reps,
            budget=budget,
        )
        db_mb = os.path.getsize(f"{tmp}/mlflow.db") / (1 << 20)
    return {
        "size": size,
        "mlflow": mlflow.__version__,
        "sqlalchemy": sa.__version__,
        "import_s": import_s,
        "init_s": init_s,
        "populate_s": populate_s,
        "populate_method": "one SQLAlchemy transaction into MLflow's tables",
        "db_mb": db_mb,
        "ops": ops,
        "peak_rss_mb": peak_rss_mb(),
    }


# -------------------------------------------------------------------------- the driver
def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def setup_venv(venv: Path, log: Callable[[str], None] = print) -> str | None:
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
    sizes: list[int],
    reps: int,
    budget: float,
    venv: Path,
    *,
    setup: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Every size in a fresh process of MLflow's virtualenv. ``status`` says whether it ran;
    ``reason`` why not."""
    python = venv_python(venv)
    if not python.exists():
        if not setup:
            return {
                "status": "not run",
                "reason": f"no MLflow virtualenv at {venv} "
                "(run python -m benchmarks.mlflow_peer --setup)",
            }
        error = setup_venv(venv, log)
        if error:
            return {"status": "not run", "reason": f"MLflow did not install: {error}"}
    probe = subprocess.run(
        [str(python), "-c", "import mlflow; print(mlflow.__version__)"],
        capture_output=True,
        text=True,
    )
    if probe.returncode:
        return {
            "status": "not run",
            "reason": f"mlflow does not import in {venv}: {probe.stderr.strip()[-800:]}",
        }
    result: dict[str, Any] = {
        "status": "ok",
        "venv": str(venv),
        "version": probe.stdout.strip(),
        "cells": [],
    }
    for size in sizes:
        spec = json.dumps({"size": size, "reps": reps, "budget": budget})
        started = time.perf_counter()
        done = subprocess.run(
            [str(python), "-m", __spec__.name, "--child", spec],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        wall = time.perf_counter() - started
        if done.returncode:
            error = done.stderr.strip()[-1500:] or f"exit status {done.returncode}"
            log(f"  mlflow {size:,}: FAILED: {error[-300:]}")
            result["cells"].append({"size": size, "error": error, "wall_s": wall})
            continue
        cell = {**json.loads(done.stdout.strip().splitlines()[-1]), "wall_s": wall}
        summary = ", ".join(f"{op} {row['median_ms']:.2f}" for op, row in cell["ops"].items())
        log(f"  mlflow {size:,} ({wall:.0f}s): {summary} ms")
        result["cells"].append(cell)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--reps", type=int, default=200, help="most calls per operation")
    parser.add_argument("--budget", type=float, default=8.0, help="seconds per operation")
    parser.add_argument(
        "--venv",
        type=Path,
        default=DEFAULT_VENV,
        help=f"MLflow's virtualenv (default {DEFAULT_VENV})",
    )
    parser.add_argument("--setup", action="store_true", help="only create the virtualenv")
    parser.add_argument("--json", help="also write the results here as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(run_cell(spec["size"], spec["reps"], spec["budget"])))
        return 0
    if args.setup:
        error = setup_venv(args.venv)
        print(error or f"MLflow is installed in {args.venv}")
        return 1 if error else 0
    result = bench_mlflow(
        [int(s) for s in args.sizes.split(",") if s],
        args.reps,
        args.budget,
        args.venv,
        log=lambda t: print(t, file=sys.stderr),
    )
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
