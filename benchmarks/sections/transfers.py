"""Section ``transfers``: large files through the store against the tools people use today.

* ``local``: the store's upload and download against a plain file copy (with fsync for the
  upload, as the store's publish is durable);
* ``s3``: the store's upload and (sha256-verified) download against boto3's ``upload_file``
  / ``download_file`` (multipart, 10 threads), on the same moto server in its own process;
* ``http``: upload and download through ``assetstore serve`` against the local store used
  directly, with the server's RSS sampled every 20 ms during the uploads.

Every contender runs in a fresh process (peak RSS is its own VmHWM); contenders alternate
within each round; the record keeps medians. One source file serves every part, so it is in
the page cache for every contender alike.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..dataset import make_file
from ..log import log
from ..processes import ProcessRun, measure, medians

if TYPE_CHECKING:
    from ..config import Config
    from ..records import Results

MiB = 1 << 20

#: Local contenders (``args``: source, target, the store's root, the round).
LOCAL = {
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

#: S3 setups (``args``: endpoint, source, target, the round, the metadata file).
_S3_SETUP = {
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
S3 = {
    "boto3 upload_file": (
        _S3_SETUP["boto3"],
        "s3.upload_file(args[1], 'bench', f'boto3/{args[3]}')",
    ),
    "store upload": (
        _S3_SETUP["store"],
        "store.upload(args[1], name='big', version=args[3], tag='s3')",
    ),
    "boto3 download_file": (
        _S3_SETUP["boto3"],
        "s3.download_file('bench', f'boto3/{args[3]}', args[2])",
    ),
    "store download": (_S3_SETUP["store"], "store.download(f'big:{args[3]}-s3', args[2])"),
}

#: HTTP contenders' timed part (``args``: the store's location, the source, the target).
HTTP = {
    "upload": "with open_store(args[0]) as store:\n"
    "    store.upload(args[1], name='big', version=args[2], tag='bench')",
    "download": "with open_store(args[0]) as store:\n    store.download(args[1], args[2])",
}

#: Per part, the pairs (ours, the baseline it is compared with), in the tables' order.
PAIRS: dict[str, list[tuple[str, str]]] = {
    "local": [("upload", "copy+fsync"), ("download", "copy")],
    "s3": [("store upload", "boto3 upload_file"), ("store download", "boto3 download_file")],
    "http": [("upload via service", "upload direct"), ("download via service", "download direct")],
}


@dataclass
class ServerRss:
    """The HTTP server's RSS (MiB): idle before the uploads, and at most during them."""

    idle_mb: float
    peak_during_upload_mb: float
    growth_mb: float


@dataclass
class TransferPart:
    """One part (local, S3 or HTTP): each contender's median run, or the part's error."""

    runs: dict[str, ProcessRun] = field(default_factory=dict)
    error: str | None = None
    server_rss: ServerRss | None = None


@dataclass
class TransfersResult:
    """The section's record."""

    size_mb: int
    repeat: int
    s3_repeat: int
    local: TransferPart
    s3: TransferPart
    http: TransferPart
    #: Peak RSS (MiB) of a process that only imports: the floor under every peak.
    import_peak_mb: dict[str, float]

    def parts(self) -> dict[str, TransferPart]:
        """The parts by name, in the report's order."""
        return {"local": self.local, "s3": self.s3, "http": self.http}


def bench_local(size_mb: int, repeat: int, workdir: Path, src: Path) -> TransferPart:
    """The local store's upload/download against a plain copy, alternating."""
    root = str(workdir / "local-store")
    runs: dict[str, list[ProcessRun]] = {}
    for round_ in range(repeat):
        for op, (setup, timed) in LOCAL.items():
            dst = workdir / f"out-{op}-{round_}"
            runs.setdefault(op, []).append(
                measure(setup, timed, str(src), str(dst), root, str(round_))
            )
            dst.unlink(missing_ok=True)
    return TransferPart(runs=medians(runs))


def bench_s3(size_mb: int, repeat: int, workdir: Path, src: Path) -> TransferPart:
    """The store against boto3 on one moto server."""
    from ..servers import moto_server

    metadata = str(workdir / "s3-metadata.json")
    runs: dict[str, list[ProcessRun]] = {}
    with moto_server() as endpoint:
        measure(_S3_SETUP["boto3"], "s3.create_bucket(Bucket='bench')", endpoint)
        for round_ in range(repeat):
            for name, (setup, timed) in S3.items():
                dst = workdir / f"out-{round_}"
                runs.setdefault(name, []).append(
                    measure(setup, timed, endpoint, str(src), str(dst), str(round_), metadata)
                )
                dst.unlink(missing_ok=True)
    return TransferPart(runs=medians(runs))


def bench_http(size_mb: int, repeat: int, workdir: Path, src: Path) -> TransferPart:
    """Upload and download through the service and directly, with the server's RSS."""
    from assetstore import open_store

    from .._internals import peak_rss_sampler
    from ..servers import assetstore_server

    def transfer(op: str, location: str, source: str, target: str) -> ProcessRun:
        return measure("from assetstore import open_store", HTTP[op], location, source, target)

    root = workdir / "store"
    open_store(root).close()
    runs: dict[str, list[ProcessRun]] = {}
    with assetstore_server(root) as (url, process):
        idle_rss = peak_rss = process.memory_info().rss
        for round_ in range(repeat):
            runs.setdefault("upload direct", []).append(
                transfer("upload", str(root), str(src), f"d{round_}")
            )
            with peak_rss_sampler(process.pid, interval=0.02) as sampler:
                runs.setdefault("upload via service", []).append(
                    transfer("upload", url, str(src), f"s{round_}")
                )
            peak_rss = max(peak_rss, sampler.peak)
            for label, location, uri in (
                ("download direct", str(root), f"big:d{round_}-bench"),
                ("download via service", url, f"big:s{round_}-bench"),
            ):
                dst = workdir / f"out-{round_}"
                runs.setdefault(label, []).append(transfer("download", location, uri, str(dst)))
                dst.unlink()
    rss = ServerRss(idle_rss / MiB, peak_rss / MiB, (peak_rss - idle_rss) / MiB)
    return TransferPart(runs=medians(runs), server_rss=rss)


def run(config: Config, results: Results) -> TransfersResult:
    """Every part on one ``transfer_mb`` file; a part that fails keeps its error."""
    settings = config.settings
    size_mb, repeat, s3_repeat = settings.transfer_mb, settings.repeat, settings.s3_repeat
    parts: dict[str, TransferPart] = {}
    with tempfile.TemporaryDirectory(prefix="bench-transfer-", dir=config.workdir) as tmp:
        base = Path(tmp)
        src = base / "source.bin"
        make_file(src, size_mb)
        benches: dict[str, Callable[[], TransferPart]] = {
            "local": lambda: bench_local(size_mb, repeat, base / "local", src),
            "s3": lambda: bench_s3(size_mb, s3_repeat, base / "s3", src),
            "http": lambda: bench_http(size_mb, repeat, base / "http", src),
        }
        for name, bench in benches.items():
            (base / name).mkdir()
            started = time.perf_counter()
            try:
                parts[name] = bench()
            except Exception as exc:
                parts[name] = TransferPart(error=f"{type(exc).__name__}: {exc}"[-1500:])
            log(f"  transfers {name}: {time.perf_counter() - started:.0f}s")
    return TransfersResult(
        size_mb=size_mb,
        repeat=repeat,
        s3_repeat=s3_repeat,
        import_peak_mb={
            "assetstore": measure("import assetstore", "pass").peak_mb,
            "assetstore+s3fs": measure("import assetstore, s3fs", "pass").peak_mb,
            "boto3": measure("import boto3", "pass").peak_mb,
        },
        **parts,
    )
