"""Section ``query_engine``: our filter engine against a hand-written predicate and the
in-process MongoDB emulators.

Builds deterministic asset-shaped documents, runs every filter of
:mod:`~benchmarks.sections.query_shapes` (each operator family alone, then combined) with
each engine over all of them, and records matches and documents per second, from the
median CPU time of the repeats, measured side by side in one process with the repeats
interleaved across engines (load from other processes skews no engine more than another).
A peer whose match count differs from ours is flagged: MongoDB 7.0's semantics are the
reference, and the peers are known to disagree with it on some inputs.
"""

from __future__ import annotations

import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

from assetstore import compile_filter

from ..log import log
from .query_shapes import SHAPES

if TYPE_CHECKING:
    from ..config import Config
    from ..records import Results

WORDS = [
    *("image", "classification", "detection", "segmentation", "nlp", "text", "audio"),
    *("speech", "vision", "sample", "baseline", "production", "experimental", "tiny"),
    *("small", "base", "large", "distilled", "quantized", "pruned", "multilingual"),
    *("english", "medical", "finance", "robotics", "policy", "reward", "tabular"),
    *("timeseries", "graph"),
]
FRAMEWORKS = ("pytorch", "tensorflow", "jax", "onnx", "sklearn", "xgboost")
LICENSES = ("apache-2.0", "mit", "bsd-3-clause", "proprietary")
LAYERS = ("conv", "dense", "attention", "norm")
UNITS = (64, 128, 256, 512, 1024)

Matcher = Callable[[Mapping[str, Any]], bool]


@dataclass
class EngineRun:
    """One engine on one query: ``status`` is ``ok``, ``not installed`` or the error."""

    status: str
    matches: int | None = None
    seconds_median: float | None = None
    docs_per_second: float | None = None
    #: Our documents per second over this engine's (above 1: ours is faster).
    ratio_ours_over_engine: float | None = None
    same_matches_as_ours: bool | None = None


@dataclass
class QueryRun:
    """One query, with every engine's run."""

    query: str
    filter: dict[str, Any]
    engines: dict[str, EngineRun] = field(default_factory=dict)


@dataclass
class QueryEngineResult:
    """The section's record."""

    docs: int
    repeat: int
    #: The engines' versions ("local" for ours, None when missing).
    versions: dict[str, str | None]
    queries: list[QueryRun]
    #: The Python and machine architecture the engines ran on.
    python: str
    arch: str


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
                    "metrics": {
                        "accuracy": round(rng.random(), 4),
                        "baseline": round(rng.random(), 4),
                    },
                    **(
                        {
                            "layers": [
                                {"kind": rng.choice(LAYERS), "units": rng.choice(UNITS)}
                                for _ in range(rng.randint(1, 3))
                            ]
                        }
                        if rng.random() < 0.7
                        else {}
                    ),
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
    """assetstore's compiled filter (imported with this module, before any timing)."""
    return compile_filter(filter)


def engine_mongoquery(filter: dict[str, Any]) -> Matcher:
    """mongoquery's matcher."""
    import mongoquery

    return mongoquery.Query(filter).match


def engine_mongomock(filter: dict[str, Any]) -> Matcher:
    """mongomock's filter function."""
    from mongomock.filtering import filter_applies

    return lambda doc: filter_applies(filter, doc)


def engine_montydb(filter: dict[str, Any]) -> Matcher:
    """montydb's query filter."""
    from montydb.engine.queries import QueryFilter

    return QueryFilter(filter)


def engine_hand_written(filter: dict[str, Any]) -> Matcher:
    """The predicate written by hand for this filter (the speed to approach)."""
    return HAND_WRITTEN[_key(filter)]


def _key(filter: dict[str, Any]) -> str:
    return repr(filter)


HAND_WRITTEN: dict[str, Matcher] = {_key(shape.filter): shape.hand for shape in SHAPES}

#: Each engine's matcher factory and the distribution it comes from (None: ours).
ENGINES: dict[str, tuple[Callable[[dict[str, Any]], Matcher], str | None]] = {
    "assetstore": (engine_ours, None),
    "hand-written": (engine_hand_written, None),
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


def measure(docs: list[Any], repeat: int, engines: list[str]) -> list[QueryRun]:
    """Runs every query with every engine; the repeats are interleaved across engines so a
    change in machine load affects all of them alike."""
    # montydb's $elemMatch leaves generators that complain when collected: noise, not news.
    previous, sys.unraisablehook = sys.unraisablehook, lambda _: None
    try:
        return _measure(docs, repeat, engines)
    finally:
        sys.unraisablehook = previous


def _measure(docs: list[Any], repeat: int, engines: list[str]) -> list[QueryRun]:
    versions = {name: installed(ENGINES[name][1]) for name in engines}
    results = []
    for shape in SHAPES:
        label, filter = shape.label, shape.filter
        row = QueryRun(query=label, filter=filter)
        runs: dict[str, list[tuple[int, float]]] = {name: [] for name in engines}
        failures = {name: "not installed" for name in engines if versions[name] is None}
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
                row.engines[name] = EngineRun(status=failures[name])
                continue
            seconds = statistics.median(t for _, t in runs[name])
            row.engines[name] = EngineRun(
                status="ok",
                matches=runs[name][0][0],
                seconds_median=seconds,
                docs_per_second=len(docs) / max(seconds, 1e-9),
            )
            log(f"  {label:<20} {name:<11} {seconds:8.3f}s")
        ours = row.engines.get("assetstore")
        for result in row.engines.values():
            if result.status == "ok" and ours is not None and ours.status == "ok":
                assert ours.docs_per_second
                assert result.docs_per_second
                result.ratio_ours_over_engine = ours.docs_per_second / result.docs_per_second
                result.same_matches_as_ours = result.matches == ours.matches
        results.append(row)
    return results


def run(config: Config, results: Results) -> QueryEngineResult:
    """Every engine on every query over ``query_docs`` documents."""
    settings = config.settings
    engines = list(ENGINES)
    docs = build_documents(settings.query_docs)
    return QueryEngineResult(
        docs=settings.query_docs,
        repeat=settings.query_repeat,
        versions={name: installed(ENGINES[name][1]) for name in engines},
        queries=measure(docs, settings.query_repeat, engines),
        python=platform.python_version(),
        arch=platform.machine(),
    )
