"""Convert a results.json of the old, untyped layout (format 1) into format 2 (the records).

    python -m benchmarks.convert_results_v1 OLD.json NEW.json

Derived numbers the old layout stored (bulk per_asset_ms / assets_per_s, HTTP mb_per_s) are
dropped: the records compute them. The query-engine record gains python and arch, which the
old report took from the rendering machine; they come from the run's meta here.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path


def _arch(platform: str) -> str | None:
    for arch in ("x86_64", "aarch64", "arm64", "ppc64le", "s390x"):
        if arch in platform:
            return arch
    return None


def convert(old: dict) -> dict:
    new = {"meta": dict(old["meta"])}
    meta = new["meta"]
    meta["machine"] = {**meta["machine"], "arch": _arch(meta["machine"]["platform"])}
    if "query_engine" in old:
        qe = old["query_engine"]
        new["query_engine"] = {
            **qe,
            "python": meta["machine"]["python"],
            "arch": meta["machine"]["arch"],
        }
    if "metadata_ops" in old:
        md = old["metadata_ops"]
        cells = []
        for cell in md["cells"]:
            base = {"backend": cell["backend"], "size": cell["size"], "wall_s": cell["wall_s"]}
            if "ops" in cell:
                measured = {k: v for k, v in cell.items() if k != "wall_s"}
                cells.append({**base, "measured": measured, "error": None})
            else:
                cells.append({**base, "measured": None, "error": cell["error"]})
        new["metadata_ops"] = {**md, "cells": cells}
    if "bulk_import" in old:
        bulk = old["bulk_import"]
        rows = []
        for row in bulk["rows"]:
            row = dict(row)
            per_asset = row.pop("per_asset_ms", None)
            rate = row.pop("assets_per_s", None)
            if "seconds" in row:
                assert math.isclose(per_asset, row["seconds"] / row["size"] * 1000)
                assert math.isclose(rate, row["size"] / row["seconds"])
            rows.append(row)
        new["bulk_import"] = {**bulk, "rows": rows}
    if "transfers" in old:
        tr = old["transfers"]
        parts = {}
        for kind in ("local", "s3", "http"):
            part = dict(tr[kind])
            if "error" in part:
                parts[kind] = {"runs": {}, "error": part["error"], "server_rss": None}
                continue
            rss = part.pop("server_rss", None)
            runs = {}
            for name, run in part.items():
                if "mb_per_s" in run:
                    assert math.isclose(run["mb_per_s"], tr["size_mb"] / run["seconds"])
                runs[name] = {"seconds": run["seconds"], "peak_mb": run["peak_mb"]}
            parts[kind] = {"runs": runs, "error": None, "server_rss": rss}
        new["transfers"] = {
            "size_mb": tr["size_mb"],
            "repeat": tr["repeat"],
            "s3_repeat": tr.get("s3_repeat", tr["repeat"]),
            **parts,
            "import_peak_mb": tr.get("import_peak_mb", {}),
        }
    if "mlflow" in old:
        ml = dict(old["mlflow"])
        cells = []
        for cell in ml.get("cells", []):
            base = {"size": cell["size"], "wall_s": cell["wall_s"]}
            if "ops" in cell:
                measured = {k: v for k, v in cell.items() if k != "wall_s"}
                cells.append({**base, "measured": measured, "error": None})
            else:
                cells.append({**base, "measured": None, "error": cell["error"]})
        ml["cells"] = cells
        new["mlflow"] = ml
    new["targets"] = old.get("targets", [])
    new["format"] = 2
    return new


if __name__ == "__main__":
    source, target = map(Path, sys.argv[1:3])
    converted = convert(json.loads(source.read_text()))
    target.write_text(json.dumps(converted, indent=2) + "\n")
