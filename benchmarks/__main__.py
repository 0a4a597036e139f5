"""``python -m benchmarks``: every benchmark and the report (see ``benchmarks/run.py``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the scripts import each other

from run import main

if __name__ == "__main__":
    raise SystemExit(main(prog="python -m benchmarks"))
