"""The HTTP service's costs: request rate and latency at 10,000 assets, and large transfers
through the service against the local store used directly, with the server's peak memory.

    python -m benchmarks.http_service                       # 10k assets, 1 GiB transfers
    python -m benchmarks.http_service --assets 10000 --size-mb 256 --connections 4 --json r.json

* The server is ``assetstore serve`` in its own process (uvicorn, the local store in a temp
  dir). The load runs in other processes: ``--connections`` processes, each one httpx client
  sending requests back to back for ``--seconds``; the table gives requests per second over
  all of them and the median and 99th percentile latency.
* ``GET /asset/{uri}`` picks random URIs; ``POST /assets`` is a tag query matching ~10 assets.
* Transfers: an upload and a download of a ``--size-mb`` file through the service (the
  client in a fresh process) against ``store.upload`` / ``store.download`` on the same
  directory in a fresh process; medians of ``--repeat`` rounds, the contenders alternating.
  The server's RSS is sampled every 20 ms during the uploads; the peak and the growth over
  its idle RSS are reported.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil

from assetstore import open_store

from ._harness import asset_records, free_port, measure, medians
from .local_store import make_file

MiB = 1 << 20
TAGS = 1000  # distinct "group<n>" tags: a tag query matches count / TAGS assets

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

#: The timed part of a transfer (``args``: the store's location, the source, the target).
TRANSFER = {
    "upload": "with open_store(args[0]) as store:\n"
    "    store.upload(args[1], name='big', version=args[2], tag='bench')",
    "download": "with open_store(args[0]) as store:\n    store.download(args[1], args[2])",
}


@contextlib.contextmanager
def server(root: Path) -> Iterator[tuple[str, psutil.Process]]:
    """``assetstore serve`` on the store at ``root``, in its own process."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSETSTORE_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assetstore.cli",
            "--store",
            str(root),
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--max-upload-mb",
            "1000000",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server exited: {process.stderr.read().decode()}")  # type: ignore[union-attr]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.1)
        yield url, psutil.Process(process.pid)
    finally:
        process.terminate()
        process.wait(30)


def populate(root: Path, count: int) -> list[str]:
    """``count`` realistic asset records registered in one call; returns their URIs."""
    with open_store(root) as store:
        return [a.asset_uri for a in store.register_many(asset_records(count, tags=TAGS))]


def run_load(
    url: str, kind: str, uris: list[str], connections: int, seconds: float
) -> dict[str, float]:
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
    return {
        "requests": len(latencies),
        "rps": len(latencies) / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }


def run_transfer(op: str, location: str, source: str, target: str) -> dict[str, float]:
    """A transfer in a fresh process: its seconds and its own peak RSS (``peak_mb``)."""
    return measure("from assetstore import open_store", TRANSFER[op], location, source, target)


def bench_requests(count: int, connections: int, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "store"
        uris = populate(root, count)
        with server(root) as (url, _):
            for kind in ("get", "query"):  # warm up: the first call parses the metadata
                run_load(url, kind, uris, 1, 0.5)
            return {
                kind: run_load(url, kind, uris, connections, seconds) for kind in ("get", "query")
            }


def bench_transfers(
    size_mb: int, repeat: int, workdir: Path, src: Path | None = None
) -> dict[str, Any]:
    """Upload and download of a ``size_mb`` file through the service and directly; ``src``
    (a file of that size) is made when not given. Each op also gives the client process's
    own peak RSS (``peak_mb``, the highest of the rounds)."""
    from assetstore.testing.rss import PeakRss

    if src is None:
        src = workdir / "source.bin"
        make_file(src, size_mb)
    root = workdir / "store"
    open_store(root).close()
    runs: dict[str, list[dict[str, float]]] = {}
    peak_rss = idle_rss = 0
    with server(root) as (url, process):
        idle_rss = process.memory_info().rss
        for round_ in range(repeat):
            runs.setdefault("upload direct", []).append(
                run_transfer("upload", str(root), str(src), f"d{round_}")
            )
            with PeakRss(process.pid, interval=0.02) as sampler:
                runs.setdefault("upload via service", []).append(
                    run_transfer("upload", url, str(src), f"s{round_}")
                )
            peak_rss = max(peak_rss, sampler.peak)
            for label, location, uri in (
                ("download direct", str(root), f"big:d{round_}-bench"),
                ("download via service", url, f"big:s{round_}-bench"),
            ):
                dst = workdir / f"out-{round_}"
                runs.setdefault(label, []).append(run_transfer("download", location, uri, str(dst)))
                dst.unlink()
    result: dict[str, Any] = {
        op: {
            "seconds": row["seconds"],
            "mb_per_s": size_mb / row["seconds"],
            "peak_mb": row["peak_mb"],
        }
        for op, row in medians(runs).items()
    }
    result["server_rss"] = {
        "idle_mb": idle_rss / MiB,
        "peak_during_upload_mb": peak_rss / MiB,
        "growth_mb": (peak_rss - idle_rss) / MiB,
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=4, help="load processes")
    parser.add_argument("--seconds", type=float, default=5.0, help="load duration per endpoint")
    parser.add_argument("--size-mb", type=int, default=1024, help="transfer size (0 = skip)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", help="where to put the transfer files (default: a temp dir)")
    parser.add_argument("--json", help="also write the results here as JSON")
    args = parser.parse_args()

    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "requests": bench_requests(args.assets, args.connections, args.seconds),
    }
    print(f"\n| {args.assets:,} assets, {args.connections} connections | requests/s | p50 | p99 |")
    print("|---|---:|---:|---:|")
    for kind, label in (("get", "GET /asset/{uri}"), ("query", "POST /assets (tag, ~10 hits)")):
        row = results["requests"][kind]
        print(f"| {label} | {row['rps']:.0f} | {row['p50_ms']:.2f} ms | {row['p99_ms']:.2f} ms |")

    if args.size_mb:
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            transfers = bench_transfers(args.size_mb, args.repeat, Path(tmp))
        results["transfers"] = transfers
        print(
            f"\n| {args.size_mb} MiB | seconds (median of {args.repeat}) | MB/s | "
            "service / direct |"
        )
        print("|---|---:|---:|---:|")
        for op in (
            "upload direct",
            "upload via service",
            "download direct",
            "download via service",
        ):
            row = transfers[op]
            ratio = ""
            if op.endswith("via service"):
                direct = transfers[op.replace("via service", "direct")]
                ratio = f"{direct['seconds'] / row['seconds']:.2f}x"
            print(f"| {op} | {row['seconds']:.2f} | {row['mb_per_s']:.0f} | {ratio} |")
        rss = transfers["server_rss"]
        print(
            f"\nServer RSS: {rss['idle_mb']:.0f} MB idle, "
            f"{rss['peak_during_upload_mb']:.0f} MB peak during the uploads "
            f"(+{rss['growth_mb']:.0f} MB)."
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
