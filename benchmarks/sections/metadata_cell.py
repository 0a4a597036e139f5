"""The metadata section's children: one backend at one size, in processes of their own.

    python -m benchmarks.sections.metadata_cell '{"phase": "populate", "backend": "local",
        "size": 1000, "root": "/tmp/x/store", "work": "/tmp/x", "rss_cap_mb": 8192}'
    python -m benchmarks.sections.metadata_cell '{"phase": "measure", ... "location":
        "/tmp/x/store", "ops": ["get", ...], "reps": 15, "budget": 0.25}'

``populate`` fills the store and declares its index; ``measure`` opens it in a process that
never saw it and times the operations. The MongoDB backend's children also get
``"metadata": "mongodb://127.0.0.1:PORT/bench"``. Each prints its part of a
:class:`~benchmarks.sections.metadata.StoreCell` as JSON on its last line.
"""

from __future__ import annotations

import gc
import json
import os
import random
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from assetstore import open_store

from .. import _internals
from ..dataset import (
    DECLARED_INDEX,
    TAG_GROUPS,
    UNDECLARED_FIELD,
    VERSIONS_PER_NAME,
    asset_name,
    asset_record,
    asset_uri,
    dataset_of,
    shard_of,
)
from ..timing import peak_rss_mb, run_interleaved
from .metadata import MONGO_MAX_TIME_MS, READS, ExplainRow

#: How many asset ids the filling process leaves for ``get_by_id``.
ID_SAMPLE = 1000


def rss_mb() -> float:
    """This process's RSS now (VmRSS), in MiB."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def watch_rss(cap_mb: float, interval: float = 0.2) -> None:
    """Stop this process (exit 70, with a message) as soon as its RSS passes ``cap_mb``."""

    def watch() -> None:
        while True:
            if rss_mb() > cap_mb:
                print(f"stopped: RSS passed the cap of {cap_mb:,.0f} MiB", file=sys.stderr)
                sys.stderr.flush()
                os._exit(70)
            time.sleep(interval)

    threading.Thread(target=watch, daemon=True).start()


def open_at(spec: dict[str, Any], location: str | None = None) -> Any:
    """The cell's store: the local directory, the served URL, or blobs + MongoDB."""
    if spec.get("metadata"):
        return open_store(spec["root"], metadata=spec["metadata"])
    return open_store(location or spec["root"])


def populate(spec: dict[str, Any]) -> dict[str, Any]:
    """Fill the store in one ``register_many`` call, declare the index, leave ids behind."""
    size = spec["size"]
    store = open_at(spec)
    try:
        started = time.perf_counter()
        done = store.register_many(asset_record(i, size) for i in range(size))
        populate_s = time.perf_counter() - started
        started = time.perf_counter()
        store.create_index(DECLARED_INDEX)
        index_s = time.perf_counter() - started
    finally:
        store.close()
    sample = random.Random(3).sample(range(size), min(ID_SAMPLE, size))
    ids = [done[i].asset_id for i in sample]
    del done
    (Path(spec["work"]) / "ids.json").write_text(json.dumps(ids))
    return {
        "populate_s": populate_s,
        "populate_method": "one register_many call (records generated on the fly)",
        "index_s": index_s,
        "populate_peak_rss_mb": peak_rss_mb(),
    }


def operations(
    store: Any, size: int, ids: list[str], seed: int = 7
) -> tuple[dict[str, Callable[[int], Any]], dict[str, Callable[[int], Any]]]:
    """The timed operations on a populated store, each taking its repeat index, and the
    untimed step each needs first (``delete`` removes an asset registered just before)."""
    rng = random.Random(seed)
    payload = os.urandom(1024)
    doomed: dict[int, str] = {}

    def upload(k: int) -> Any:
        return store.upload(
            payload,
            name=f"bench/upload{k}",
            version="1.0.0",
            tag="stable",
            filename="tiny.bin",
            tags=["bench"],
        )

    def register(k: int) -> Any:
        return store.register({**asset_record(size + k, size), "asset_name": f"bench/register{k}"})

    def register_doomed(k: int) -> None:
        record = {**asset_record(size + k, size), "asset_name": f"bench/delete{k}"}
        doomed[k] = store.register(record).asset_uri

    def delete(k: int) -> Any:
        return store.delete(doomed.pop(k))

    def get(_: int) -> Any:
        return store.get(asset_uri(rng.randrange(size)))

    def get_by_id(_: int) -> Any:
        return store.get_by_id(rng.choice(ids))

    def update(k: int) -> Any:
        i = rng.randrange(size)
        return store.update(
            asset_uri(i), {"asset_tags": ["bench", f"group{i % TAG_GROUPS}", f"touched{k}"]}
        )

    def resolve(_: int) -> Any:
        chosen = store.resolve(asset_name(rng.randrange(size)))
        assert chosen.version == f"1.{VERSIONS_PER_NAME - 1}.0", chosen
        return chosen

    def query(filter: dict[str, Any]) -> Callable[[int], Any]:
        return lambda _: store.query(filter)

    ops = {
        "upload": upload,
        "register": register,
        "update": update,
        "delete": delete,
        "get": get,
        "get_by_id": get_by_id,
        "resolve": resolve,
        "query_tag": query({"asset_tags": "group7"}),
        "query_indexed": query({DECLARED_INDEX: dataset_of(7, size)}),
        "query_field_small": query({UNDECLARED_FIELD: shard_of(7, size)}),
        "query_field_large": query({"asset_metadata.framework": "pytorch"}),
    }
    return ops, {"delete": register_doomed}


def _short(value: Any, scope_id: str) -> str:
    return json.dumps(value, default=str).replace(scope_id, "<id>")


def _plan_of(raw: dict[str, Any]) -> tuple[str | None, list[str], bool | None]:
    """(index used, plan lines, pushdown) from an ``explain()`` answer: FerretDB's
    (``queryPlanner.Plan``: SQLite's EXPLAIN QUERY PLAN lines) or MongoDB's (stages)."""
    planner = raw.get("queryPlanner") or {}
    pushdown = raw.get("filterPushdown")
    if "Plan" in planner:  # FerretDB
        lines = [str(line) for line in planner.get("Plan") or []]
        index = None
        for line in lines:
            found = re.search(r"USING (?:COVERING )?INDEX (\S+)|USING (INTEGER PRIMARY KEY)", line)
            if found:
                index = found.group(1) or found.group(2)
        return index, lines, pushdown
    stages: list[str] = []
    indexes: list[str] = []

    def walk(plan: Any) -> None:
        if isinstance(plan, dict):
            if "stage" in plan:
                stages.append(str(plan["stage"]))
            if "indexName" in plan:
                indexes.append(str(plan["indexName"]))
            for value in plan.values():
                walk(value)
        elif isinstance(plan, list):
            for value in plan:
                walk(value)

    walk(planner.get("winningPlan"))
    return (", ".join(indexes) or None), stages, pushdown


def explain(store: Any, size: int, ids: list[str]) -> list[dict[str, Any]]:
    """``explain()`` on the server of the filters the MongoDB backend sends for a get by URI,
    by id, a resolve (by name), the tag and field queries, and a lookup by ``_id``."""
    collection = _internals.mongo_collection(store)
    scope = _internals.mongo_scope(store)
    where = _internals.mongo_where
    some = collection.find_one({}, {"_id": True})
    queries = {
        "get by URI": {**scope, "asset_uri": asset_uri(size // 2)},
        "get by asset id": {**scope, "asset_id": ids[0]},
        "resolve (by name)": where(store, {"asset_name": asset_name(size // 2)}),
        "query by tag": where(store, {"asset_tags": "group7"}),
        "query on the declared index": where(store, {DECLARED_INDEX: dataset_of(7, size)}),
        "query on an undeclared field": where(store, {UNDECLARED_FIELD: shard_of(7, size)}),
        "(for comparison) `_id` equality": {"_id": some["_id"] if some else None},
    }
    scope_id = str(next(iter(scope.values()), "<none>"))
    rows = []
    for label, filter in queries.items():
        index, plan, pushdown = _plan_of(collection.find(filter).explain())
        row = ExplainRow(label, _short(filter, scope_id), index, plan, pushdown)
        rows.append(asdict(row))
    return rows


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Open the filled store in this fresh process, then time the operations."""
    size, backend, wanted = spec["size"], spec["backend"], spec["ops"]
    ids = json.loads((Path(spec["work"]) / "ids.json").read_text())
    first = asset_uri(size // 2)
    local = backend == "local"
    # Imports and first-use costs are not the store's: open and close an empty store first.
    with tempfile.TemporaryDirectory(prefix="bench-warm-") as tmp:
        open_store(tmp).close()
    gc.collect()
    rss_before = rss_mb()
    started = time.perf_counter()
    store = open_at(spec, spec["location"])
    store.get(first)  # the first read loads the metadata (the server's, for HTTP)
    open_and_first_get_s = time.perf_counter() - started
    record: dict[str, Any] = {"open_and_first_get_s": open_and_first_get_s}
    try:
        ops, prepare = operations(store, size, ids)
        ops = {name: ops[name] for name in wanted}
        if local:  # bytes per asset: what opening and the usual reads leave in this process
            gc.collect()
            record["rss_before_open_mb"] = rss_before
            record["rss_after_open_mb"] = rss_mb()
            reads = [name for name in READS if name in ops]
            for name in reads:
                ops[name](0)
            gc.collect()
            record["rss_after_reads_mb"] = rss_mb()
            record["reads"] = reads
            record["indexes"] = _internals.store_indexes(store)
        elif backend == "mongo":
            record["indexes"] = _internals.store_indexes(store)
        timings = run_interleaved(
            ops,
            max_reps=spec["reps"],
            budget=spec["budget"],
            prepare={k: v for k, v in prepare.items() if k in ops},
        )
        record["ops"] = {name: asdict(timing) for name, timing in timings.items()}
        if backend == "mongo":
            record["explain"] = explain(store, size, ids)
    finally:
        store.close()
    record["client_peak_rss_mb"] = peak_rss_mb()
    return record


def main(argv: list[str]) -> int:
    """Run the phase that ``argv[0]`` (JSON) describes and print its record."""
    spec = json.loads(argv[0])
    watch_rss(spec["rss_cap_mb"])
    if spec.get("metadata"):
        os.environ["ASSETSTORE_MONGO_MAX_TIME_MS"] = str(MONGO_MAX_TIME_MS)
    phase = {"populate": populate, "measure": measure}[spec["phase"]]
    print(json.dumps(phase(spec)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
