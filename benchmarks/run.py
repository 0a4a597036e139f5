"""Run every benchmark at one scale and write the report: ``benchmarks/results/``.

    python -m benchmarks                 # the full report (sizes 1k/10k/100k, 1 GiB files)
    python -m benchmarks --quick         # about a minute: small sizes and files, few repeats
    python -m benchmarks --only metadata,bulk --sizes 1000,10000
    python -m benchmarks.report benchmarks/results/results.json   # re-render only

Sections (``--only``): ``query_engine`` (our engine against mongoquery, mongomock and
montydb), ``metadata`` (operations per backend at each size), ``bulk`` (``register_many`` /
``upload_many`` in one call), ``transfers`` (local, S3 on moto and HTTP against a plain copy
and boto3), ``mlflow`` (MLflow's model registry on SQLite, in its own virtualenv, created on
first use unless ``--no-mlflow-setup``).

Writes ``report.md`` (machine, versions, command, tables of medians and ratios, the targets),
``results.json`` (every raw number), PNG plots and ``README-performance.md`` (the README's
"Performance" section). ``--quick`` writes to ``benchmarks/results/quick/`` unless ``--out``
is given, so it never overwrites the full report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import _machine, bulk_import, metadata_ops, mlflow_peer, report

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

SECTIONS = ("query_engine", "metadata", "bulk", "transfers", "mlflow")
PROFILES: dict[str, dict[str, Any]] = {
    "quick": {
        "sizes": [300, 1000],
        "bulk_sizes": [100, 1000],
        "transfer_mb": 32,
        "repeat": 1,
        "s3_repeat": 1,
        "reps": 15,
        "budget": 0.25,
        "query_docs": 5000,
        "query_repeat": 1,
        "mongomock_cap": 300,
        "http_cap": 100,
        "mlflow_sizes": [1000],
    },
    # S3 runs one round: moto serves a 1 GiB GET in ~2 minutes, and 3 rounds alone took 15.
    "full": {
        "sizes": [1000, 10_000, 100_000],
        "bulk_sizes": None,
        "transfer_mb": 1024,
        "repeat": 3,
        "s3_repeat": 1,
        "reps": 200,
        "budget": 5.0,
        "query_docs": 100_000,
        "query_repeat": 3,
        "mongomock_cap": 1000,
        "http_cap": 1000,
        "mlflow_sizes": None,
    },
}


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def run_query_engine(settings: dict[str, Any]) -> dict[str, Any]:
    from . import query_engine

    engines = list(query_engine.ENGINES)
    docs = query_engine.build_documents(settings["query_docs"])
    return {
        "docs": settings["query_docs"],
        "repeat": settings["query_repeat"],
        "versions": {
            name: query_engine.installed(query_engine.ENGINES[name][1]) for name in engines
        },
        "queries": query_engine.measure(docs, settings["query_repeat"], engines),
    }


def run_metadata(settings: dict[str, Any]) -> dict[str, Any]:
    cells = metadata_ops.bench_metadata(
        list(metadata_ops.BACKENDS),
        settings["sizes"],
        settings["reps"],
        settings["budget"],
        log=log,
    )
    return {"reps": settings["reps"], "budget_s": settings["budget"], "cells": cells}


def http_curves(results: dict[str, Any]) -> dict[str, list[tuple[int, float]]]:
    """The HTTP client's cost per register / upload (ms) at each measured store size."""
    curves: dict[str, list[tuple[int, float]]] = {}
    for cell in results.get("metadata_ops", {}).get("cells", []):
        if cell["backend"] == "http" and "ops" in cell:
            for method, op in (("register_many", "register"), ("upload_many", "upload")):
                curves.setdefault(method, []).append((cell["size"], cell["ops"][op]["median_ms"]))
    return curves


def run_bulk(settings: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    sizes = settings["bulk_sizes"] or settings["sizes"]
    rows = bulk_import.bench_bulk(
        list(bulk_import.BACKENDS),
        sizes,
        settings["repeat"],
        mongomock_cap=settings["mongomock_cap"],
        http_cap=settings["http_cap"],
        log=log,
    )
    bulk_import.extrapolate(rows, http_curves(results))
    return {"sizes": sizes, "repeat": settings["repeat"], "rows": rows}


def run_transfers(settings: dict[str, Any], workdir: Path | None) -> dict[str, Any]:
    from ._harness import measure
    from .http_service import bench_transfers
    from .local_store import bench_transfer, make_file
    from .transfer import bench_s3

    size_mb, repeat = settings["transfer_mb"], settings["repeat"]
    result: dict[str, Any] = {
        "size_mb": size_mb,
        "repeat": repeat,
        "s3_repeat": settings["s3_repeat"],
    }
    with tempfile.TemporaryDirectory(prefix="bench-transfer-", dir=workdir) as tmp:
        base = Path(tmp)
        src = base / "source.bin"
        make_file(src, size_mb)
        parts: dict[str, Callable[[], Any]] = {
            "local": lambda: bench_transfer(size_mb, repeat, base / "local", src=src),
            "s3": lambda: bench_s3(size_mb, settings["s3_repeat"], base / "s3", src=src),
            "http": lambda: bench_transfers(size_mb, repeat, base / "http", src=src),
        }
        for name, part in parts.items():
            (base / name).mkdir()
            started = time.perf_counter()
            try:
                result[name] = part()
            except Exception as exc:
                result[name] = {"error": f"{type(exc).__name__}: {exc}"[-1500:]}
            log(f"  transfers {name}: {time.perf_counter() - started:.0f}s")
    result["import_peak_mb"] = {
        "assetstore": measure("import assetstore", "pass")["peak_mb"],
        "assetstore+s3fs": measure("import assetstore, s3fs", "pass")["peak_mb"],
        "boto3": measure("import boto3", "pass")["peak_mb"],
    }
    return result


def run_mlflow(settings: dict[str, Any], venv: Path, setup: bool) -> dict[str, Any]:
    sizes = settings["mlflow_sizes"] or settings["sizes"]
    return mlflow_peer.bench_mlflow(
        sizes, settings["reps"], settings["budget"], venv, setup=setup, log=log
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="about a minute: small sizes and files, few repeats"
    )
    parser.add_argument("--only", help=f"comma-separated sections of: {', '.join(SECTIONS)}")
    parser.add_argument(
        "--sizes", help="store sizes, comma-separated (full: 1000,10000,100000; quick: 300,1000)"
    )
    parser.add_argument(
        "--transfer-mb", type=int, help="transfer file size in MiB (full: 1024; quick: 32)"
    )
    parser.add_argument(
        "--repeat", type=int, help="rounds of each transfer and bulk import (full: 3; quick: 1)"
    )
    parser.add_argument(
        "--s3-repeat", type=int, help="rounds of the S3 transfers on moto (full: 1; quick: 1)"
    )
    parser.add_argument(
        "--reps", type=int, help="most calls per metadata operation (full: 200; quick: 15)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        help="seconds per metadata operation and store (full: 5; quick: 0.25)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="output directory (default "
        "benchmarks/results, or benchmarks/results/quick with --quick)",
    )
    parser.add_argument(
        "--workdir", type=Path, help="where the large temporary files go (default: the temp dir)"
    )
    parser.add_argument(
        "--mlflow-venv",
        type=Path,
        default=mlflow_peer.DEFAULT_VENV,
        help=f"MLflow's virtualenv (default {mlflow_peer.DEFAULT_VENV})",
    )
    parser.add_argument(
        "--no-mlflow-setup",
        action="store_true",
        help="do not create MLflow's virtualenv when it is missing",
    )
    args = parser.parse_args(argv)
    only = [s.strip() for s in (args.only or "").split(",") if s.strip()] or list(SECTIONS)
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {', '.join(SECTIONS)}")
    args.only = only
    return args


def settings_of(args: argparse.Namespace) -> dict[str, Any]:
    settings = dict(PROFILES["quick" if args.quick else "full"])
    if args.sizes:
        settings["sizes"] = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
        settings["bulk_sizes"] = settings["mlflow_sizes"] = None
    for key in ("transfer_mb", "repeat", "s3_repeat", "reps", "budget"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    return settings


def main(argv: list[str] | None = None, prog: str = "python -m benchmarks.run") -> int:
    args = parse_args(argv)
    settings = settings_of(args)
    out = args.out or (HERE / "results" / "quick" if args.quick else HERE / "results")
    out.mkdir(parents=True, exist_ok=True)
    if args.quick and args.out is None:  # a smoke run's output is not for committing
        (out / ".gitignore").write_text("*\n")
    shown_args = sys.argv[1:] if argv is None else argv
    started = time.time()
    results: dict[str, Any] = {
        "meta": {
            "command": " ".join([prog, *shown_args]),
            "profile": "quick" if args.quick else "full",
            "settings": settings,
            "sections": args.only,
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "load_start": _machine.load_average(),
            "machine": _machine.machine(args.workdir or Path(tempfile.gettempdir())),
            "versions": _machine.versions(),
            "git": _machine.git_state(REPO),
            "section_seconds": {},
            "section_git": {},
            "errors": {},
        }
    }
    log(f"benchmarks: {', '.join(args.only)}; {json.dumps(settings)}; output in {out}")
    steps: dict[str, tuple[str, Callable[[], Any]]] = {
        "query_engine": ("query_engine", lambda: run_query_engine(settings)),
        "metadata": ("metadata_ops", lambda: run_metadata(settings)),
        "bulk": ("bulk_import", lambda: run_bulk(settings, results)),
        "transfers": ("transfers", lambda: run_transfers(settings, args.workdir)),
        "mlflow": (
            "mlflow",
            lambda: run_mlflow(settings, args.mlflow_venv, not args.no_mlflow_setup),
        ),
    }
    for section in SECTIONS:
        if section not in args.only:
            continue
        key, step = steps[section]
        log(f"{section} ...")
        git = _machine.git_state(REPO)  # other work lands in this tree while we measure
        results["meta"]["section_git"][section] = {
            "commit": git["commit"],
            "changed_library_files": git["changed_library_files"],
        }
        section_started = time.perf_counter()
        try:
            results[key] = step()
        except Exception:  # one broken section must not lose the others' numbers
            results["meta"]["errors"][section] = traceback.format_exc()[-3000:]
            log(f"{section} FAILED:\n{traceback.format_exc()}")
        elapsed = time.perf_counter() - section_started
        results["meta"]["section_seconds"][section] = round(elapsed, 1)
        log(f"{section} done in {elapsed:.0f}s")
        # Written after every section, so a long run that dies keeps what it measured.
        (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    meta = results["meta"]
    meta["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    meta["duration_s"] = round(time.time() - started, 1)
    meta["load_end"] = _machine.load_average()
    meta["git_end"] = _machine.git_state(REPO)  # the tree is shared: did it change meanwhile?
    results["targets"] = report.targets(results)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    written = report.write_all(results, out)
    log(f"done in {meta['duration_s']:.0f}s: " + ", ".join(str(p) for p in written))
    return 1 if meta["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
