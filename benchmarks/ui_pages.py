"""Server time of the web interface's pages on a large store (not in the report).

    python -m benchmarks.ui_pages                      # 100,000 assets, 5 runs per page
    python -m benchmarks.ui_pages --assets 10000 --runs 3 --json ui.json

The store is the embedded default (local files + TinyDB) holding the benchmarks' dataset
(:mod:`benchmarks.dataset`: 20 versions per name, tags ``group<n>`` on 1/30 each, a
framework on a third). The server is ``assetstore serve`` in its own process. Each page is
loaded once to warm up, then ``--runs`` times; the table gives the median of the page's
``Server-Timing`` (the server's own time: queries plus rendering), of the wall time seen by
the client over loopback, and, for comparison, of ``POST /assets`` with the same filter,
sort and page size (the API's cost of the same query).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from assetstore import open_store
from assetstore.http.ui._search import literal_pattern

from .dataset import asset_name, asset_record, asset_uri
from .servers import assetstore_server

PAGE = 50  # the UI's default page size


@dataclass(frozen=True)
class Case:
    """A page, and the API query that fetches the same results."""

    label: str
    path: str
    api_filter: dict[str, Any] | None = None
    api_sort: str | None = None


@dataclass
class Timing:
    label: str
    server_ms: float
    wall_ms: float
    api_ms: float | None
    spans: dict[str, float]


def cases(size: int) -> list[Case]:
    middle = size // 2
    name = asset_name(middle)
    return [
        Case("assets list, newest first (page 1)", "/ui", {}, "created_at:desc,asset_uri"),
        Case(
            "assets list by name, page 2",
            f"/ui?sort=name&skip={PAGE}",
            {},
            "asset_name,asset_version.version:desc",
        ),
        Case(
            "asset page (20 versions of its name)",
            "/ui/asset/" + asset_uri(middle),
        ),
        Case(
            "search: a word of a name",
            f"/ui?q=model{middle // 20}",
            {"asset_name": {"$regex": f"model{middle // 20}", "$options": "i"}},
            "created_at:desc,asset_uri",
        ),
        Case(
            "search: tag:group7 (1/30 of assets)",
            "/ui?q=tag:group7",
            {"$or": [{"asset_tags": "group7"}, {"asset_version.tag": "group7"}]},
            "created_at:desc,asset_uri",
        ),
        Case(
            "search: meta.framework=onnx (1/3)",
            "/ui?q=meta.framework=onnx",
            {"asset_metadata.framework": "onnx"},
            "created_at:desc,asset_uri",
        ),
        Case(
            "search: name:<exact name> (20 hits)",
            f"/ui?q=name:{name}",
            {"asset_name": {"$regex": "^" + literal_pattern(name)}},
            "created_at:desc,asset_uri",
        ),
    ]


def server_time(response: httpx.Response) -> tuple[float, dict[str, float]]:
    spans = {
        name: float(ms)
        for name, ms in re.findall(r"(\w+);dur=([\d.]+)", response.headers["server-timing"])
    }
    return sum(spans.values()), spans


def measure(client: httpx.Client, case: Case, runs: int) -> Timing:
    client.get(case.path).raise_for_status()  # warm-up
    servers, walls, apis = [], [], []
    spans: dict[str, list[float]] = {}
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(case.path)
        walls.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        total, parts = server_time(response)
        servers.append(total)
        for name, value in parts.items():
            spans.setdefault(name, []).append(value)
        if case.api_filter is not None:
            started = time.perf_counter()
            api = client.post(
                "/assets",
                params={"limit": PAGE, "sort": case.api_sort or ""},
                content=json.dumps(case.api_filter),
                headers={"Content-Type": "application/json"},
            )
            apis.append((time.perf_counter() - started) * 1000)
            api.raise_for_status()
    return Timing(
        case.label,
        statistics.median(servers),
        statistics.median(walls),
        statistics.median(apis) if apis else None,
        {name: statistics.median(values) for name, values in spans.items()},
    )


def build_store(root: Path, size: int) -> float:
    started = time.perf_counter()
    with open_store(root) as store:
        batch = 10_000
        for first in range(0, size, batch):
            store.register_many(
                asset_record(i, size) for i in range(first, min(size, first + batch))
            )
    return time.perf_counter() - started


def render(results: list[Timing], size: int) -> str:
    lines = [
        f"| at {size:,} assets | server (Server-Timing) | wall (client) "
        "| POST /assets, same query |",
        "|---|---:|---:|---:|",
    ]
    for r in results:
        api = "" if r.api_ms is None else f"{r.api_ms:,.0f} ms"
        lines.append(f"| {r.label} | {r.server_ms:,.0f} ms | {r.wall_ms:,.0f} ms | {api} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ui_pages", description=__doc__)
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ui-pages-") as temp:
        root = Path(temp) / "store"
        print(f"building a store of {args.assets:,} assets...", flush=True)
        built = build_store(root, args.assets)
        print(f"  {built:.1f} s", flush=True)
        with assetstore_server(root) as (url, _), httpx.Client(base_url=url, timeout=600) as client:
            results = [measure(client, case, args.runs) for case in cases(args.assets)]
    print(render(results, args.assets))
    for r in results:
        print(f"  {r.label}: " + ", ".join(f"{k} {v:,.1f} ms" for k, v in r.spans.items()))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    main()
