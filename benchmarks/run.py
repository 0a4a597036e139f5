"""Run every benchmark at one scale and write the report: ``benchmarks/results/``.

    python -m benchmarks                 # the full report (sizes 1k/10k/100k/1M, 1 GiB files)
    python -m benchmarks --quick         # about a minute: small sizes and files, few repeats
    python -m benchmarks --only metadata,bulk --sizes 1000,10000
    python -m benchmarks.report benchmarks/results/results.json   # re-render only

Run them from the repository's root (``benchmarks`` is a package there, not installed).

Sections (``--only``): ``query_engine`` (our engine against mongoquery, mongomock and
montydb), ``metadata`` (operations per backend at each size; sizes above 100,000 on the
local store only, with fewer operations), ``bulk`` (``register_many`` /
``upload_many`` in one call), ``transfers`` (local, S3 on moto and HTTP against a plain copy
and boto3), ``mlflow`` (MLflow's model registry on SQLite, in its own virtualenv, created on
first use unless ``--no-mlflow-setup``), ``sync`` (``assetstore.sync`` of many small and a
few large files through the service, and ``GET /asset`` against a bare Starlette endpoint).

Writes ``report.md`` (machine, versions, command, tables of medians and ratios, the targets),
``results.json`` (every raw number), PNG plots and ``README-performance.md`` (the README's
"Performance" section). ``--quick`` writes to ``benchmarks/results/quick/`` unless ``--out``
is given, so it never overwrites the full report.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

from . import machine
from .config import DEFAULT_MLFLOW_VENV, Config, profile
from .log import log
from .paths import REPO, RESULTS
from .records import Results, RunMeta, SectionGit, save_results
from .registry import NAMES, SECTIONS
from .report import write_all
from .targets import targets


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; ``only`` becomes the list of sections to run."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="about a minute: small sizes and files, few repeats"
    )
    parser.add_argument("--only", help=f"comma-separated sections of: {', '.join(NAMES)}")
    parser.add_argument(
        "--sizes",
        help="store sizes, comma-separated (full: 1000,10000,100000,1000000; quick: 300,1000); "
        "sizes above 100,000 run on the local store only, in the metadata section",
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
        "--rss-cap-mb",
        type=int,
        help="stop a benchmark child whose RSS passes this many MiB (default 8192)",
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
        default=DEFAULT_MLFLOW_VENV,
        help=f"MLflow's virtualenv (default {DEFAULT_MLFLOW_VENV})",
    )
    parser.add_argument(
        "--no-mlflow-setup",
        action="store_true",
        help="do not create MLflow's virtualenv when it is missing",
    )
    args = parser.parse_args(argv)
    only = [s.strip() for s in (args.only or "").split(",") if s.strip()] or list(NAMES)
    unknown = sorted(set(only) - set(NAMES))
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {', '.join(NAMES)}")
    args.only = only
    return args


def config_of(args: argparse.Namespace) -> Config:
    """The profile the options ask for, with their overrides."""
    overrides: dict[str, object] = {
        key: getattr(args, key)
        for key in ("transfer_mb", "repeat", "s3_repeat", "reps", "budget", "rss_cap_mb")
    }
    if args.sizes:
        overrides["sizes"] = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    settings = profile("quick" if args.quick else "full", **overrides)
    if args.sizes:  # the given sizes hold for every section (those it runs)
        settings = dataclasses.replace(settings, bulk_sizes=None, mlflow_sizes=None)
    workdir = args.workdir.resolve() if args.workdir else None
    return Config(settings, workdir, args.mlflow_venv, mlflow_setup=not args.no_mlflow_setup)


def start_meta(args: argparse.Namespace, config: Config, command: str) -> RunMeta:
    """What is known of the run before it measures anything."""
    return RunMeta(
        command=command,
        profile="quick" if args.quick else "full",
        settings=config.settings,
        sections=args.only,
        started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        load_start=machine.load_average(),
        machine=machine.machine(config.workdir or Path(tempfile.gettempdir())),
        versions=machine.versions(),
        git=machine.git_state(REPO),
    )


def run_sections(config: Config, results: Results, out: Path) -> None:
    """Run the sections asked for, in order; a failing one leaves its traceback."""
    meta = results.meta
    for section in SECTIONS:
        if section.name not in meta.sections:
            continue
        log(f"{section.name} ...")
        git = machine.git_state(REPO)  # other work lands in this tree while we measure
        meta.section_git[section.name] = SectionGit(git.commit, git.changed_library_files)
        started = time.perf_counter()
        try:
            setattr(results, section.key, section.run(config, results))
        except Exception:  # one broken section must not lose the others' numbers
            meta.errors[section.name] = traceback.format_exc()[-3000:]
            log(f"{section.name} FAILED:\n{traceback.format_exc()}")
        elapsed = time.perf_counter() - started
        meta.section_seconds[section.name] = round(elapsed, 1)
        log(f"{section.name} done in {elapsed:.0f}s")
        # Written after every section, so a long run that dies keeps what it measured.
        save_results(results, out / "results.json")


def main(argv: list[str] | None = None, prog: str = "python -m benchmarks.run") -> int:
    """Measure, save ``results.json`` and write the report; 1 when a section failed."""
    args = parse_args(argv)
    config = config_of(args)
    out = args.out or (RESULTS / "quick" if args.quick else RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    if args.quick and args.out is None:  # a smoke run's output is not for committing
        (out / ".gitignore").write_text("*\n")
    shown_args = sys.argv[1:] if argv is None else argv
    started = time.time()
    results = Results(meta=start_meta(args, config, " ".join([prog, *shown_args])))
    settings_json = json.dumps(dataclasses.asdict(config.settings))
    log(f"benchmarks: {', '.join(args.only)}; {settings_json}; output in {out}")
    run_sections(config, results, out)
    meta = results.meta
    meta.finished = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    meta.duration_s = round(time.time() - started, 1)
    meta.load_end = machine.load_average()
    meta.git_end = machine.git_state(REPO)  # the tree is shared: did it change meanwhile?
    results.targets = targets(results)
    save_results(results, out / "results.json")
    written = write_all(results, out)
    log(f"done in {meta.duration_s:.0f}s: " + ", ".join(str(p) for p in written))
    return 1 if meta.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
