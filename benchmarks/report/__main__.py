"""Re-render a saved run without measuring anything again:

python -m benchmarks.report benchmarks/results/results.json [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..records import load_results
from ..targets import targets
from . import write_all


def main(argv: list[str] | None = None) -> int:
    """Load ``results.json``, recompute the targets and write the report beside it."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("results", type=Path, help="a results.json written by a run")
    parser.add_argument("--out", type=Path, help="default: the results file's directory")
    args = parser.parse_args(argv)
    results = load_results(args.results)
    results.targets = targets(results)
    for path in write_all(results, args.out or args.results.parent):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
