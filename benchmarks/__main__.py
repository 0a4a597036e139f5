"""``python -m benchmarks``: every benchmark and the report (see ``benchmarks/run.py``)."""

from .run import main

if __name__ == "__main__":
    raise SystemExit(main(prog="python -m benchmarks"))
