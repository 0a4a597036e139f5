"""The local store's costs: get by URI as the store grows, and 1 GB transfers against a plain
file copy, with peak memory.

    python -m benchmarks.local_store                      # 1k/10k/100k assets, 1 GiB file
    python -m benchmarks.local_store --assets 10000 --size-mb 256 --repeat 3

Every transfer runs in a fresh process and reports its own peak RSS (VmHWM: ru_maxrss would
carry the parent's peak across exec); the contenders alternate within each round and the
table gives medians. The source file is in the
page cache for every contender alike.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from assetstore import open_store

from ._harness import asset_records, measure, medians

LOCAL_TRANSFERS = {
    "copy+fsync": (
        "import os, shutil",
        "shutil.copyfile(args[0], args[1])\n"
        "fd = os.open(args[1], os.O_RDONLY); os.fsync(fd); os.close(fd)",
    ),
    "upload": (
        "from assetstore import open_store; store = open_store(args[2])",
        "store.upload(args[0], name='big', version=args[3], tag='bench')",
    ),
    "copy": ("import shutil", "shutil.copyfile(args[0], args[1])"),
    "download": (
        "from assetstore import open_store; store = open_store(args[2])",
        "store.download(f'big:{args[3]}-bench', args[1])",
    ),
}


def populated_store(root: Path, count: int):
    """A local store with ``count`` asset records, registered in one call."""
    store = open_store(root)
    return store, [a.asset_uri for a in store.register_many(asset_records(count))]


def bench_get(counts: list[int], lookups: int) -> list[dict[str, float]]:
    rows = []
    for count in counts:
        with tempfile.TemporaryDirectory() as tmp:
            store, uris = populated_store(Path(tmp) / "store", count)
            store.get(uris[0])  # the first call parses the file; we measure steady state
            sample = random.choices(uris, k=lookups)
            times = []
            for uri in sample:
                started = time.perf_counter()
                store.get(uri)
                times.append(time.perf_counter() - started)
            times.sort()
            started = time.perf_counter()
            store.query({"asset_tags": "group7"})
            query_ms = (time.perf_counter() - started) * 1000
            rows.append(
                {
                    "assets": count,
                    "get_median_us": statistics.median(times) * 1e6,
                    "get_p99_us": times[int(len(times) * 0.99)] * 1e6,
                    "query_by_tag_ms": query_ms,
                }
            )
            store.close()
    return rows


def make_file(path: Path, size_mb: int) -> None:
    block = os.urandom(64 << 20)
    with open(path, "wb") as file:
        left = size_mb << 20
        while left:
            part = block[: min(left, len(block))]
            file.write(part)
            left -= len(part)


def bench_transfer(
    size_mb: int, repeat: int, workdir: Path, src: Path | None = None
) -> dict[str, dict[str, float]]:
    """Local store upload/download against a plain copy, alternating, in fresh processes."""
    if src is None:
        src = workdir / "source.bin"
        make_file(src, size_mb)
    root = str(workdir / "local-store")
    runs: dict[str, list[dict[str, float]]] = {}
    for round_ in range(repeat):
        for op, (setup, timed) in LOCAL_TRANSFERS.items():
            dst = workdir / f"out-{op}-{round_}"
            runs.setdefault(op, []).append(
                measure(setup, timed, str(src), str(dst), root, str(round_))
            )
            dst.unlink(missing_ok=True)
    return medians(runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--assets", default="1000,10000,100000", help="store sizes for get-by-URI, comma-separated"
    )
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--size-mb", type=int, default=1024, help="transfer size (0 = skip)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", help="where to put the transfer files (default: a temp dir)")
    parser.add_argument("--json", help="also write the results here as JSON")
    args = parser.parse_args()

    results: dict[str, object] = {}
    rows = bench_get([int(n) for n in args.assets.split(",") if n], args.lookups)
    results["get"] = rows
    print("| assets | get by URI median | p99 | query by tag (one run) |")
    print("|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['assets']:,} | {row['get_median_us']:.1f} us | {row['get_p99_us']:.1f} us"
            f" | {row['query_by_tag_ms']:.1f} ms |"
        )

    if args.size_mb:
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            summary = bench_transfer(args.size_mb, args.repeat, Path(tmp))
        summary["python+assetstore import"] = measure("import assetstore", "pass")
        results["transfer"] = summary
        mb = args.size_mb
        print(f"\n| {mb} MiB | seconds (median of {args.repeat}) | MB/s | peak RSS | vs plain |")
        print("|---|---:|---:|---:|---:|")
        pairs = {"upload": "copy+fsync", "download": "copy"}
        for op in ("copy+fsync", "upload", "copy", "download"):
            row = summary[op]
            ratio = ""
            if op in pairs:
                ratio = f"{summary[pairs[op]]['seconds'] / row['seconds']:.2f}x"
            print(
                f"| {op} | {row['seconds']:.2f} | {mb / row['seconds']:.0f} "
                f"| {row['peak_mb']:.0f} MB | {ratio} |"
            )
        print(
            f"\n(peak RSS of a process that only imports assetstore: "
            f"{summary['python+assetstore import']['peak_mb']:.0f} MB)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
