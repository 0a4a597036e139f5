"""The metadata section's child: one backend at one size, in a process of its own.

    python -m benchmarks.sections.metadata_cell '{"backend": "local", "size": 1000,
                                                  "reps": 15, "budget": 0.25}'

Prints a :class:`~benchmarks.sections.metadata.StoreCell` as JSON on its last line.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from assetstore import open_store

from .._internals import external_document
from ..dataset import TAG_GROUPS, VERSIONS_PER_NAME, asset_name, asset_record, asset_uri
from ..timing import peak_rss_mb, run_interleaved
from .metadata import StoreCell


@contextlib.contextmanager
def populated(backend: str, size: int, workdir: Path) -> Iterator[tuple[Any, dict[str, Any]]]:
    """A store of ``backend`` holding ``size`` assets, and facts about how it was filled."""
    root = workdir / "store"
    records = [asset_record(i, size) for i in range(size)]
    info: dict[str, Any] = {}
    server_process = None
    with contextlib.ExitStack() as stack:  # holds the HTTP server, if any
        if backend in ("local", "http"):
            started = time.perf_counter()
            with open_store(root) as store:
                store.register_many(records)
            info["populate_s"] = time.perf_counter() - started
            info["populate_method"] = "register_many (one call)"
            location: str | Path = root
            if backend == "http":
                from ..servers import assetstore_server

                location, server_process = stack.enter_context(assetstore_server(root))
            started = time.perf_counter()  # open and first get: the opening counts
            store = open_store(location)
        elif backend == "mongomock":
            import mongomock

            client = mongomock.MongoClient()
            options = {
                "metadata": "mongodb://localhost/bench",
                "mongo_client": client,
                "assets_db_id": "bench",
            }
            started = time.perf_counter()
            store = open_store(root, **options)
            docs = [external_document(store, r) for r in records]
            collection = client["bench"]["assets"]
            # mongomock checks a unique index by scanning the collection on every insert, which
            # makes the store's register_many O(n^2) (10,000 assets: 5+ minutes). Insert first,
            # then let the store build its indexes when it is opened again.
            collection.drop_indexes()
            collection.insert_many(docs)
            store.close()
            store = open_store(root, **options)
            info["populate_s"] = time.perf_counter() - started
            info["populate_method"] = (
                "records validated by the store, inserted into the "
                "collection before its indexes (insert_many)"
            )
            started = time.perf_counter()  # opening it again was part of the filling
        else:
            raise ValueError(f"unknown backend {backend!r}")
        try:
            store.get(asset_uri(0))  # the first call parses the metadata (the server's, for HTTP)
            info["open_and_first_get_s"] = time.perf_counter() - started
            yield store, info
        finally:
            if server_process is not None:
                info["server_rss_mb"] = server_process.memory_info().rss / (1 << 20)
            store.close()


def operations(store: Any, size: int, seed: int = 7) -> dict[str, Callable[[int], Any]]:
    """The timed operations on a populated store; each takes its repeat index."""
    rng = random.Random(seed)
    payload = os.urandom(1024)

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

    def get(_: int) -> Any:
        return store.get(asset_uri(rng.randrange(size)))

    def update(k: int) -> Any:
        i = rng.randrange(size)
        return store.update(
            asset_uri(i), {"asset_tags": ["bench", f"group{i % TAG_GROUPS}", f"touched{k}"]}
        )

    def resolve(_: int) -> Any:
        chosen = store.resolve(asset_name(rng.randrange(size)))
        assert chosen.version == f"1.{VERSIONS_PER_NAME - 1}.0", chosen
        return chosen

    return {
        "upload": upload,
        "register": register,
        "get": get,
        "update": update,
        "query_tag": lambda _: store.query({"asset_tags": "group7"}),
        "query_field_small": lambda _: store.query({"asset_metadata.dataset": "ds7"}),
        "query_field_large": lambda _: store.query({"asset_metadata.framework": "pytorch"}),
        "resolve": resolve,
    }


def run_cell(backend: str, size: int, reps: int, budget: float) -> StoreCell:
    """Fill a fresh store of ``backend`` with ``size`` assets and time every operation."""
    with tempfile.TemporaryDirectory(prefix="bench-meta-") as tmp:
        with populated(backend, size, Path(tmp)) as (store, info):
            ops = run_interleaved(operations(store, size), max_reps=reps, budget=budget)
        return StoreCell(
            backend=backend,
            size=size,
            ops=ops,
            client_peak_rss_mb=peak_rss_mb(),
            **info,
        )


def main(argv: list[str]) -> int:
    """Run the cell that ``argv[0]`` (JSON) describes and print its record."""
    spec = json.loads(argv[0])
    cell = run_cell(spec["backend"], spec["size"], spec["reps"], spec["budget"])
    print(json.dumps(asdict(cell)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
