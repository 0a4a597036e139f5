"""The HTTP service under concurrent load: request rate and latency (not in the report).

    python -m benchmarks.http_load                     # 10,000 assets, 4 connections, 5 s
    python -m benchmarks.http_load --assets 10000 --connections 4 --seconds 5 --json r.json

The server is ``assetstore serve`` in its own process (uvicorn, the local store in a temp
dir). The load runs in other processes: ``--connections`` processes, each one httpx client
sending requests back to back for ``--seconds``; the table gives requests per second over
all of them and the median and 99th percentile latency. ``GET /asset/{uri}`` picks random
URIs; ``POST /assets`` is a tag query matching ~10 assets.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assetstore import open_store

from .report.markdown import table
from .servers import assetstore_server

TAGS = 1000  # distinct "group<n>" tags: a tag query matches count / TAGS assets
#: The endpoints, with their labels.
KINDS = {"get": "GET /asset/{uri}", "query": "POST /assets (tag, ~10 hits)"}

LOAD = r"""
import json, random, sys, time
import httpx
url, kind, seconds, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
uris = json.loads(sys.stdin.read())
rng = random.Random(seed)
client = httpx.Client(base_url=url, timeout=30)
latencies = []
stop = time.perf_counter() + seconds
while time.perf_counter() < stop:
    started = time.perf_counter()
    if kind == "get":
        response = client.get("/asset/" + rng.choice(uris))
    else:
        response = client.post("/assets", content=json.dumps(
            {"asset_tags": f"group{rng.randrange(1000)}"}).encode(),
            headers={"Content-Type": "application/json"})
    latencies.append(time.perf_counter() - started)
    if response.status_code != 200:
        raise SystemExit(f"HTTP {response.status_code}: {response.text[:200]}")
print(json.dumps({"latencies": latencies, "seconds": seconds}))
"""


@dataclass
class Load:
    """One endpoint under load: requests, their rate, and latency percentiles."""

    requests: int
    rps: float
    p50_ms: float
    p99_ms: float


@dataclass
class LoadResult:
    """The benchmark's record."""

    assets: int
    connections: int
    seconds: float
    loads: dict[str, Load]


def asset_records(count: int, *, tags: int, seed: int = 0) -> list[dict[str, Any]]:
    """``count`` external-asset records: 50 namespaces, 20 versions per name, a tag
    ``group<i % tags>`` on each, a framework shared by a third."""
    rng = random.Random(seed)
    return [
        {
            "asset_name": f"org{i % 50}/model{i}",
            "asset_version": {"version": f"1.{i % 20}.0", "tag": "stable"},
            "asset_metadata": {
                "framework": rng.choice(["pytorch", "tensorflow", "onnx"]),
                "params": i * 1000,
                "description": "a benchmark asset",
            },
            "asset_public_url": f"https://models.example.com/m{i}.pt",
            "asset_file_info": {
                "file_size": 1234,
                "file_type": "application/octet-stream",
                "filename": "m.pt",
            },
            "asset_tags": ["bench", f"group{i % tags}"],
        }
        for i in range(count)
    ]


def run_load(url: str, kind: str, uris: list[str], connections: int, seconds: float) -> Load:
    """``connections`` processes sending ``kind`` requests back to back for ``seconds``."""
    payload = json.dumps(uris).encode()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", LOAD, url, kind, str(seconds), str(seed)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        for seed in range(connections)
    ]
    latencies: list[float] = []
    for child in children:
        out, _ = child.communicate(payload)
        if child.returncode:
            raise SystemExit(f"a load process failed ({kind})")
        latencies.extend(json.loads(out)["latencies"])
    latencies.sort()
    return Load(
        requests=len(latencies),
        rps=len(latencies) / seconds,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
    )


def bench_requests(count: int, connections: int, seconds: float) -> LoadResult:
    """A store of ``count`` assets behind ``assetstore serve``, each endpoint under load."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "store"
        with open_store(root) as store:
            uris = [a.asset_uri for a in store.register_many(asset_records(count, tags=TAGS))]
        with assetstore_server(root) as (url, _):
            for kind in KINDS:  # warm up: the first call parses the metadata
                run_load(url, kind, uris, 1, 0.5)
            loads = {kind: run_load(url, kind, uris, connections, seconds) for kind in KINDS}
    return LoadResult(count, connections, seconds, loads)


def markdown(result: LoadResult) -> str:
    """The result as a Markdown table."""
    rows = [
        [label, f"{load.rps:.0f}", f"{load.p50_ms:.2f} ms", f"{load.p99_ms:.2f} ms"]
        for label, load in ((KINDS[k], result.loads[k]) for k in KINDS)
    ]
    head = f"{result.assets:,} assets, {result.connections} connections"
    return table([head, "requests/s", "p50", "p99"], rows, "lrrr")


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table, and write the record as JSON with ``--json``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.http_load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=4, help="load processes")
    parser.add_argument("--seconds", type=float, default=5.0, help="load duration per endpoint")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    args = parser.parse_args(argv)
    result = bench_requests(args.assets, args.connections, args.seconds)
    print(markdown(result))
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
