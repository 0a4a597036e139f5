"""Metadata operations per backend as the store grows: the curve of cost against store size.

    python -m benchmarks.metadata_ops --sizes 1000,10000,100000 --json metadata.json
    python -m benchmarks.metadata_ops --backends local --sizes 10000 --budget 5

For each backend and size, a fresh process fills a fresh store with ``size`` assets in one
bulk call, then times every operation many times, one call of each in turn (round robin), and
reports the median and p90 of each. An operation stops after ``--reps`` calls or once it has
used ``--budget`` seconds (with at least 3 calls; a single call longer than 3 budgets is
reported alone, n=1).

Backends:

* ``local``: the embedded default, files in a directory and metadata in TinyDB;
* ``mongomock``: blobs in a directory, metadata through the MongoDB backend on mongomock, a
  pure-Python in-memory emulator (not a server: its costs say nothing of MongoDB's, which uses
  indexes where mongomock scans);
* ``http``: the local store served by ``assetstore serve`` (uvicorn) in its own process,
  measured through ``open_store("http://127.0.0.1:PORT")``.

Operations (the data set: ``size`` external assets, 20 versions per name, each carrying tag
``group<i % 30>``, a ``dataset`` field shared by 50 assets and a ``framework`` shared by 1/3):

* ``upload``: a 1 KiB file as a new asset (durable: blob and metadata on disk on return);
* ``register``: an external asset (metadata only);
* ``get``: get by URI; ``update``: set the tags of an asset;
* ``query_tag``: ``{"asset_tags": "group7"}`` (1/30 of the assets);
* ``query_field_small``: ``{"asset_metadata.dataset": "ds7"}`` (50 hits at every size);
* ``query_field_large``: ``{"asset_metadata.framework": "pytorch"}`` (1/3 of the assets: the
  cost of materializing many results);
* ``resolve``: ``store.resolve(name)``, the latest of a name's 20 versions.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ._harness import REPO
from ._timing import peak_rss_mb, run_interleaved

BACKENDS: dict[str, str] = {
    "local": "local (TinyDB)",
    "mongomock": "MongoDB (mongomock stand-in: a pure-Python in-memory emulator, not a server)",
    "http": "HTTP client (local store behind assetstore serve)",
}
#: Short labels for tables and plots.
SHORT: dict[str, str] = {
    "local": "local (TinyDB)",
    "mongomock": "MongoDB (mongomock)",
    "http": "HTTP client",
}
OPS: dict[str, str] = {
    "upload": "upload 1 KiB (durable)",
    "register": "register external asset",
    "get": "get by URI",
    "update": "update tags",
    "query_tag": "query by tag (1/30 of assets)",
    "query_field_small": "query by metadata field (50 hits)",
    "query_field_large": "query by metadata field (1/3 of assets)",
    "resolve": "resolve latest (20 versions)",
}
VERSIONS_PER_NAME = 20
TAG_GROUPS = 30
SMALL_HITS = 50
FRAMEWORKS = ("pytorch", "tensorflow", "onnx")


def asset_name(i: int) -> str:
    """The name of the ``i``-th asset: 20 consecutive assets share a name."""
    model = i // VERSIONS_PER_NAME
    return f"org{model % 50}/model{model}"


def asset_version(i: int) -> str:
    return f"1.{i % VERSIONS_PER_NAME}.0"


def asset_uri(i: int) -> str:
    return f"{asset_name(i)}:{asset_version(i)}-stable"


def asset_record(i: int, size: int) -> dict[str, Any]:
    """The ``i``-th external asset of a store of ``size`` (what ``register_many`` takes)."""
    return {
        "asset_name": asset_name(i),
        "asset_version": {"version": asset_version(i), "tag": "stable"},
        "asset_public_url": f"https://models.example.com/files/{i}.pt",
        "asset_tags": ["bench", f"group{i % TAG_GROUPS}"],
        "asset_metadata": {
            "framework": FRAMEWORKS[i % len(FRAMEWORKS)],
            "dataset": f"ds{i % max(1, size // SMALL_HITS)}",
            "params": i * 1000,
            "description": "a benchmark asset",
        },
        "asset_file_info": {"file_size": 1234, "filename": "model.pt"},
    }


@contextlib.contextmanager
def populated(backend: str, size: int, workdir: Path) -> Iterator[tuple[Any, dict[str, Any]]]:
    """A store of ``backend`` holding ``size`` assets, and facts about how it was filled."""
    from assetstore import open_store

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
                from .http_service import server

                location, server_process = stack.enter_context(server(root))
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
            docs = [store._external_record(r).to_document() for r in records]  # type: ignore[attr-defined]
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


def run_cell(backend: str, size: int, reps: int, budget: float) -> dict[str, Any]:
    """One backend at one size, in this process (the parent runs each cell in a new one)."""
    with tempfile.TemporaryDirectory(prefix="bench-meta-") as tmp:
        with populated(backend, size, Path(tmp)) as (store, info):
            ops = run_interleaved(operations(store, size), max_reps=reps, budget=budget)
        return {
            "backend": backend,
            "size": size,
            **info,
            "ops": ops,
            "client_peak_rss_mb": peak_rss_mb(),
        }


def measure_cell(backend: str, size: int, reps: int, budget: float) -> dict[str, Any]:
    """``run_cell`` in a fresh Python process; a failure is returned as ``error``."""
    spec = json.dumps({"backend": backend, "size": size, "reps": reps, "budget": budget})
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", __spec__.name, "--child", spec],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    wall = time.perf_counter() - started
    if done.returncode:
        return {
            "backend": backend,
            "size": size,
            "wall_s": wall,
            "error": done.stderr.strip()[-1500:] or f"exit status {done.returncode}",
        }
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "wall_s": wall}


def bench_metadata(
    backends: list[str],
    sizes: list[int],
    reps: int,
    budget: float,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Every backend at every size, each cell in a fresh process and a fresh store."""
    cells = []
    for size in sizes:
        for backend in backends:
            cell = measure_cell(backend, size, reps, budget)
            if "error" in cell:
                log(f"  metadata {backend} {size:,}: FAILED: {cell['error'][-300:]}")
            else:
                summary = ", ".join(
                    f"{op} {row['median_ms']:.2f}" for op, row in cell["ops"].items()
                )
                log(f"  metadata {backend} {size:,} ({cell['wall_s']:.0f}s): {summary} ms")
            cells.append(cell)
    return cells


def cell_of(cells: list[dict[str, Any]], backend: str, size: int) -> dict[str, Any] | None:
    for cell in cells:
        if cell["backend"] == backend and cell["size"] == size and "ops" in cell:
            return cell
    return None


def _ms(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    if value < 1:
        return f"{value:.3f}"
    if value < 100:
        return f"{value:.1f}"
    return f"{value:,.0f}"


def markdown(cells: list[dict[str, Any]]) -> str:
    """One row per operation and backend: median (p90) ms at each size, the growth from the
    smallest to the largest size, and the ratio to the local store at the largest size."""
    sizes = sorted({c["size"] for c in cells})
    backends = [b for b in BACKENDS if any(c["backend"] == b for c in cells)]
    head = " | ".join(f"{s:,} assets" for s in sizes)
    lines = [
        f"| operation | backend | {head} | growth {sizes[0]:,} to {sizes[-1]:,} | "
        f"÷ local at {sizes[-1]:,} |",
        "|---|---|" + "---:|" * (len(sizes) + 2),
    ]
    for op, label in OPS.items():
        for backend in backends:
            values = []
            for size in sizes:
                cell = cell_of(cells, backend, size)
                if cell is None:
                    values.append(
                        "failed"
                        if any(c["backend"] == backend and c["size"] == size for c in cells)
                        else ""
                    )
                    continue
                row = cell["ops"][op]
                text = f"{_ms(row['median_ms'])} ({_ms(row['p90_ms'])})"
                if row["n"] < 3:
                    text += f" n={row['n']}"
                values.append(text)
            first = cell_of(cells, backend, sizes[0])
            last = cell_of(cells, backend, sizes[-1])
            local = cell_of(cells, "local", sizes[-1])
            growth = ratio = ""
            if first and last and len(sizes) > 1:
                growth = f"{last['ops'][op]['median_ms'] / first['ops'][op]['median_ms']:.1f}x"
            if last and local and backend != "local":
                ratio = f"{last['ops'][op]['median_ms'] / local['ops'][op]['median_ms']:.1f}x"
            lines.append(
                f"| {label} | {SHORT[backend]} | {' | '.join(values)} | {growth} | {ratio} |"
            )
    return "\n".join(lines)


def setup_markdown(cells: list[dict[str, Any]]) -> str:
    """How long filling each store and its first read took, and the processes' memory."""
    lines = [
        "| backend | assets | fill (s) | open + first get (s) | client peak RSS | "
        "server RSS | wall (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for cell in sorted(cells, key=lambda c: (list(BACKENDS).index(c["backend"]), c["size"])):
        if "ops" not in cell:
            lines.append(f"| {SHORT[cell['backend']]} | {cell['size']:,} | failed | | | | |")
            continue
        server = f"{cell['server_rss_mb']:.0f} MB" if "server_rss_mb" in cell else ""
        lines.append(
            f"| {SHORT[cell['backend']]} | {cell['size']:,} | "
            f"{cell['populate_s']:.1f} | {cell['open_and_first_get_s']:.2f} | "
            f"{cell['client_peak_rss_mb']:.0f} MB | {server} | {cell['wall_s']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--reps", type=int, default=200, help="most calls per operation")
    parser.add_argument("--budget", type=float, default=8.0, help="seconds per operation and cell")
    parser.add_argument("--json", help="also write the results here as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(run_cell(spec["backend"], spec["size"], spec["reps"], spec["budget"])))
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s]
    backends = [b for b in args.backends.split(",") if b]
    cells = bench_metadata(
        backends, sizes, args.reps, args.budget, log=lambda text: print(text, file=sys.stderr)
    )
    print(markdown(cells))
    print()
    print(setup_markdown(cells))
    if args.json:
        Path(args.json).write_text(json.dumps(cells, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
