"""The MLflow section's child: MLflow's model registry on SQLite at one size, in MLflow's own
virtualenv (started as ``VENV/bin/python -m benchmarks.sections.mlflow_cell SPEC``).

Imports only the standard library, MLflow and the package's standard-library modules
(``timing``, ``dataset``), never assetstore: the project's packages are not installed there.

The registry is filled the way ``register_many`` fills our store: in one transaction, here by
inserting rows into MLflow's own tables with SQLAlchemy, because MLflow has no bulk API (one
``create_model_version`` per version would take ~35 ms each). The result is checked through
the public API (hit counts of the searches), then these are timed with the same interleaved,
time-budgeted repeats as our store:

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
return every hit in one call. Prints the cell as JSON on its last line.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from ..dataset import FRAMEWORKS, TAG_GROUPS, VERSIONS_PER_NAME, dataset_of
from ..timing import peak_rss_mb, run_interleaved

MAX_RESULTS = 200_000


def _model(i: int) -> tuple[str, int]:
    """(registered model name, version number) of the ``i``-th version."""
    model = i // VERSIONS_PER_NAME
    return f"org{model % 50}-model{model}", i % VERSIONS_PER_NAME + 1


def _tags(i: int, size: int) -> dict[str, str]:
    return {
        "stage": f"group{i % TAG_GROUPS}",
        "dataset": dataset_of(i, size),
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
        "ops": {name: asdict(timing) for name, timing in ops.items()},
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str]) -> int:
    """Run the cell that ``argv[0]`` (JSON) describes and print it."""
    spec = json.loads(argv[0])
    print(json.dumps(run_cell(spec["size"], spec["reps"], spec["budget"])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
