"""Benchmark assetstore's query engine against in-process MongoDB emulators.

Builds deterministic asset-shaped documents, runs five typical filters with each engine over
all of them, and prints a Markdown table of matches, documents per second (from the median CPU
time of ``--repeat`` runs, measured side by side in one process with the repeats interleaved
across engines, so load from other processes skews no engine more than another) and the speed
ratio ours/peer. A peer whose match count differs from ours is flagged: MongoDB 7.0's semantics
are the reference, and the peers are known to disagree with it on some inputs (not on these
queries, normally).

    python -m benchmarks.query_engine [--docs 100000] [--repeat 3] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from assetstore import compile_filter

WORDS = [
    *("image", "classification", "detection", "segmentation", "nlp", "text", "audio"),
    *("speech", "vision", "sample", "baseline", "production", "experimental", "tiny"),
    *("small", "base", "large", "distilled", "quantized", "pruned", "multilingual"),
    *("english", "medical", "finance", "robotics", "policy", "reward", "tabular"),
    *("timeseries", "graph"),
]
FRAMEWORKS = ("pytorch", "tensorflow", "jax", "onnx", "sklearn", "xgboost")
LICENSES = ("apache-2.0", "mit", "bsd-3-clause", "proprietary")

QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("nested equality", {"asset_metadata.framework": "pytorch"}),
    ("$in on tags", {"asset_tags": {"$in": ["sample", "image"]}}),
    (
        "$and of two fields",
        {
            "$and": [
                {"asset_metadata.framework": "pytorch"},
                {"asset_metadata.params": {"$gt": 50_000_000}},
            ]
        },
    ),
    ("$regex on name", {"asset_name": {"$regex": "^org(1|2)\\d?/model\\d*7$"}}),
    ("$gte on version", {"asset_version.version": {"$gte": "1.10"}}),
]

Matcher = Callable[[Mapping[str, Any]], bool]


def build_documents(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` asset metadata documents, identical for a given seed."""
    rng = random.Random(seed)
    docs = []
    for i in range(count):
        name = f"org{i % 50}/model{i}"
        version = f"{rng.randint(0, 3)}.{rng.randint(0, 15)}.{rng.randint(0, 20)}"
        tag = rng.choice(("stable", "beta", "latest", "rc"))
        asset_id = f"{rng.getrandbits(128):032x}"
        day = rng.randint(1, 28)
        docs.append(
            {
                "asset_uri": f"{name}:{version}-{tag}",
                "asset_name": name,
                "asset_id": asset_id,
                "assets_db_id": "bench",
                "asset_version": {"version": version, "tag": tag},
                "asset_metadata": {
                    "framework": rng.choice(FRAMEWORKS),
                    "params": rng.randint(1_000, 200_000_000),
                    "author": {"name": f"author{rng.randint(0, 200)}"},
                    "license": rng.choice(LICENSES),
                    "metrics": {"accuracy": round(rng.random(), 4)},
                },
                "asset_public_url": f"http://assets.example/{asset_id}",
                "asset_file_info": {
                    "file_size": rng.randint(1, 10**9),
                    "sha256": f"{rng.getrandbits(256):064x}",
                    "file_type": "application/octet-stream",
                    "filename": f"model{i}.pt",
                },
                "asset_tags": rng.sample(WORDS, rng.randint(1, 4)),
                "created_at": f"2026-11-{day:02d}T09:00:00.000000Z",
                "updated_at": f"2026-11-{day:02d}T10:00:00.000000Z",
                "revision": rng.randint(1, 5),
            }
        )
    return docs


def engine_ours(filter: dict[str, Any]) -> Matcher:
    return compile_filter(filter)


def engine_mongoquery(filter: dict[str, Any]) -> Matcher:
    import mongoquery

    return mongoquery.Query(filter).match


def engine_mongomock(filter: dict[str, Any]) -> Matcher:
    from mongomock.filtering import filter_applies

    return lambda doc: filter_applies(filter, doc)


def engine_montydb(filter: dict[str, Any]) -> Matcher:
    from montydb.engine.queries import QueryFilter

    return QueryFilter(filter)


ENGINES: dict[str, tuple[Callable[[dict[str, Any]], Matcher], str | None]] = {
    "assetstore": (engine_ours, None),
    "mongoquery": (engine_mongoquery, "mongoquery"),
    "mongomock": (engine_mongomock, "mongomock"),
    "montydb": (engine_montydb, "montydb"),
}


def installed(distribution: str | None) -> str | None:
    """The installed version of a peer, or None when it is missing."""
    if distribution is None:
        return "local"
    try:
        __import__(distribution)
        return metadata.version(distribution)
    except (ImportError, metadata.PackageNotFoundError):
        return None


def run_once(
    make: Callable[[dict[str, Any]], Matcher], filter: dict[str, Any], docs: list[Any]
) -> tuple[int, float]:
    """Builds the engine's matcher and filters every document: (matches, CPU seconds)."""
    start = time.process_time()
    match = make(filter)
    count = 0
    for doc in docs:
        if match(doc):
            count += 1
    return count, time.process_time() - start


def measure(docs: list[Any], repeat: int, engines: list[str]) -> list[dict[str, Any]]:
    """Runs every query with every engine; the repeats are interleaved across engines so a
    change in machine load affects all of them alike."""
    versions = {name: installed(ENGINES[name][1]) for name in engines}
    results = []
    for label, filter in QUERIES:
        row: dict[str, Any] = {"query": label, "filter": filter, "engines": {}}
        runs: dict[str, list[tuple[int, float]]] = {name: [] for name in engines}
        failures: dict[str, str] = {}
        for name in engines:
            if versions[name] is None:
                failures[name] = "not installed"
        for _ in range(repeat):
            for name in engines:
                if name in failures:
                    continue
                try:
                    runs[name].append(run_once(ENGINES[name][0], filter, docs))
                except Exception as exc:  # a peer failing on a query is a result, not a crash
                    failures[name] = f"error: {type(exc).__name__}: {exc}"
        for name in engines:
            if name in failures:
                row["engines"][name] = {"status": failures[name]}
                continue
            seconds = statistics.median(t for _, t in runs[name])
            row["engines"][name] = {
                "status": "ok",
                "matches": runs[name][0][0],
                "seconds_median": seconds,
                "docs_per_second": len(docs) / max(seconds, 1e-9),
            }
            print(f"  {label:<20} {name:<11} {seconds:8.3f}s", file=sys.stderr)
        ours = row["engines"].get("assetstore", {})
        for result in row["engines"].values():
            if result["status"] == "ok" and ours.get("status") == "ok":
                result["ratio_ours_over_engine"] = (
                    ours["docs_per_second"] / result["docs_per_second"]
                )
                result["same_matches_as_ours"] = result["matches"] == ours["matches"]
        results.append(row)
    return results


def markdown(results: list[dict[str, Any]], docs: int, repeat: int) -> str:
    lines = [
        f"Documents: {docs:,}; docs/s from the median CPU time of {repeat} run(s), repeats"
        f" interleaved across engines; Python {platform.python_version()} on"
        f" {platform.machine()}.",
        "",
        "| query | engine | matches | docs/s | ours / engine |",
        "|---|---|---:|---:|---:|",
    ]
    for row in results:
        first = True
        for name, result in row["engines"].items():
            query = f"{row['query']} `{json.dumps(row['filter'])}`" if first else ""
            first = False
            if result["status"] != "ok":
                lines.append(f"| {query} | {name} | {result['status']} | | |")
                continue
            matches = f"{result['matches']:,}"
            if not result.get("same_matches_as_ours", True):
                matches += " **differs from ours**"
            ratio = result.get("ratio_ours_over_engine")
            ratio_text = f"{ratio:.1f}x" if ratio is not None else ""
            speed = f"{result['docs_per_second']:,.0f}"
            lines.append(f"| {query} | {name} | {matches} | {speed} | {ratio_text} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000, help="documents (default 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--seed", type=int, default=7, help="document generator seed")
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help="comma-separated engines (default: all of " + ", ".join(ENGINES) + ")",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    unknown = [name for name in engines if name not in ENGINES]
    if unknown or args.docs < 1 or args.repeat < 1:
        parser.error(f"bad arguments (unknown engines: {unknown})")
    if "assetstore" not in engines:
        engines.insert(0, "assetstore")

    docs = build_documents(args.docs, args.seed)
    results = measure(docs, args.repeat, engines)
    print(markdown(results, args.docs, args.repeat))
    if args.json:
        payload = {
            "benchmark": "query_engine",
            "docs": args.docs,
            "repeat": args.repeat,
            "seed": args.seed,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "versions": {name: installed(ENGINES[name][1]) for name in engines},
            "queries": results,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
