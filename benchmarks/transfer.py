"""Transfers through the store against the tools people use today.

    python -m benchmarks.transfer                  # 256 MiB, 3 rounds
    python -m benchmarks.transfer --size-mb 1024 --repeat 5

* S3: the store's upload and (sha256-verified) download against boto3's ``upload_file`` /
  ``download_file`` (multipart, 10 threads), on the same moto server running in its own
  process;
* local: the store against a plain file copy (with fsync for the upload, as the store's
  publish is durable).

Every contender runs in a fresh process (peak RSS is its own VmHWM); contenders alternate
within each round; the table gives medians and the ratio store / peer.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from ._harness import measure, medians, moto_server
from .local_store import bench_transfer, make_file

S3_SETUP = {
    "boto3": (
        "import boto3\n"
        "s3 = boto3.client('s3', endpoint_url=args[0], aws_access_key_id='testing',"
        " aws_secret_access_key='testing', region_name='us-east-1')"
    ),
    "store": (
        "from assetstore import open_store\n"
        "store = open_store('s3://bench/store', metadata=args[4], endpoint_url=args[0],"
        " key='testing', secret='testing', region='us-east-1', create_bucket=True)"
    ),
}
S3_TRANSFERS = {
    "boto3 upload_file": (
        S3_SETUP["boto3"],
        "s3.upload_file(args[1], 'bench', f'boto3/{args[3]}')",
    ),
    "store upload": (
        S3_SETUP["store"],
        "store.upload(args[1], name='big', version=args[3], tag='s3')",
    ),
    "boto3 download_file": (
        S3_SETUP["boto3"],
        "s3.download_file('bench', f'boto3/{args[3]}', args[2])",
    ),
    "store download": (S3_SETUP["store"], "store.download(f'big:{args[3]}-s3', args[2])"),
}
PAIRS = {
    "store upload": "boto3 upload_file",
    "store download": "boto3 download_file",
    "upload": "copy+fsync",
    "download": "copy",
}


def bench_s3(
    size_mb: int, repeat: int, workdir: Path, src: Path | None = None
) -> dict[str, dict[str, float]]:
    """The store against boto3 on one moto server; ``src`` (a file of ``size_mb``) is made
    when not given."""
    if src is None:
        src = workdir / "source.bin"
        make_file(src, size_mb)
    metadata = str(workdir / "s3-metadata.json")
    runs: dict[str, list[dict[str, float]]] = {}
    with moto_server() as endpoint:
        measure(S3_SETUP["boto3"], "s3.create_bucket(Bucket='bench')", endpoint)
        for round_ in range(repeat):
            for name, (setup, timed) in S3_TRANSFERS.items():
                dst = workdir / f"out-{round_}"
                runs.setdefault(name, []).append(
                    measure(setup, timed, endpoint, str(src), str(dst), str(round_), metadata)
                )
                dst.unlink(missing_ok=True)
    return medians(runs)


def table(title: str, size_mb: int, results: dict[str, dict[str, float]]) -> str:
    lines = [
        f"| {title}, {size_mb} MiB | seconds | MB/s | peak RSS | store / peer |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in results.items():
        peer = PAIRS.get(name)
        ratio = f"{results[peer]['seconds'] / row['seconds']:.2f}x" if peer in results else ""
        lines.append(
            f"| {name} | {row['seconds']:.2f} | {size_mb / row['seconds']:.0f} | "
            f"{row['peak_mb']:.0f} MB | {ratio} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", help="where to put the files (default: a temp dir)")
    parser.add_argument("--json", help="also write the results here as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        workdir = Path(tmp)
        s3 = bench_s3(args.size_mb, args.repeat, workdir)
        local = bench_transfer(args.size_mb, args.repeat, workdir, src=workdir / "source.bin")
    baseline = measure("import assetstore, s3fs", "pass")
    print(table("S3 (moto)", args.size_mb, s3))
    print()
    print(table("local disk", args.size_mb, local))
    print(
        f"\n(peak RSS of a process that only imports assetstore and s3fs: "
        f"{baseline['peak_mb']:.0f} MB; medians of {args.repeat} rounds)"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"s3": s3, "local": local, "import_peak_mb": baseline["peak_mb"]}, indent=2)
        )


if __name__ == "__main__":
    main()
