"""Section ``sync``: moving assets between stores, against what it replaces.

* ``small``: ``sync_assets`` small assets (1 KiB) from a local store to a local store behind
  ``assetstore serve``: ``assetstore.sync`` (its first run, then a second with nothing new)
  against today's one-request-per-asset ``upload_many`` (the contract's default, one
  ``POST /upload_asset`` per asset), timed on ``sync_baseline`` assets and scaled to
  ``sync_assets`` (its cost per asset is flat: the HTTP client's upload is the same at 1,000
  and 10,000 assets in the metadata section);
* ``large``: four files making ``transfer_mb`` MiB, local -> HTTP -> local (two syncs: a
  push to a served store, a pull into a new local one) against a plain streaming upload and
  download of the same files over the same loopback, through a bare Starlette app served
  the same way (``benchmarks.bare_server``: no hashing, no metadata, no fsync); the served
  store's RSS is sampled during the push;
* ``get``: ``GET /asset/{uri}`` on a served store of 10,000 assets against the bare
  Starlette JSON endpoint, under the same load generator (``benchmarks.http_load``: 4 load
  processes, back-to-back requests), requests per second.

Every timed contender runs in a fresh process; contenders alternate within each round; the
record keeps medians.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..log import log
from ..processes import ProcessRun, measure, medians

if TYPE_CHECKING:
    from ..config import Config
    from ..records import Results

MiB = 1 << 20
#: Files of the ``large`` part.
LARGE_FILES = 4
#: Store size and load of the ``get`` part.
GET_ASSETS = 10_000
GET_CONNECTIONS = 4

BASELINE = (
    "from assetstore import open_store\n"
    "from assetstore.contract import AssetStore\n"
    "store = open_store(args[0])\n"
    "items = [{'source': bytes(1024), 'name': f'base/m{i}', 'version': '1', 'tag': 't'}"
    " for i in range(int(args[1]))]"
)
BASELINE_TIMED = "AssetStore.upload_many(store, items)  # one POST /upload_asset per asset"
#: The modules a sync of local and served stores loads, imported before the clock starts
#: (for both runs alike): the runs are timed, not the interpreter's start.
SYNC = (
    "import assetstore, assetstore.backends.tinydb_documents, assetstore.backends.fsspec_blobs,"
    " assetstore.http.client, assetstore.query"
)
SYNC_TIMED = (
    "report = assetstore.sync(args[0], args[1])\n"
    "assert report.failed == 0 and report.copied == int(args[2]), report"
)
PLAIN_UPLOAD = (
    "import httpx, os\n"
    "client = httpx.Client(base_url=args[0], timeout=600)\n"
    "def chunks(path):\n"
    "    with open(path, 'rb') as f:\n"
    "        while block := f.read(1 << 20):\n"
    "            yield block"
)
PLAIN_UPLOAD_TIMED = (
    "for path in args[1:]:\n"
    "    r = client.put('/files/' + os.path.basename(path), content=chunks(path),\n"
    "                   headers={'Content-Length': str(os.path.getsize(path))})\n"
    "    r.raise_for_status()"
)
PLAIN_DOWNLOAD = "import httpx, os\nclient = httpx.Client(base_url=args[0], timeout=600)"
PLAIN_DOWNLOAD_TIMED = (
    "for name in args[2:]:\n"
    "    with client.stream('GET', '/files/' + name) as r, open(os.path.join(args[1], name),"
    " 'wb') as out:\n"
    "        r.raise_for_status()\n"
    "        for block in r.iter_raw(1 << 20):\n"
    "            out.write(block)"
)


@dataclass
class SmallSync:
    """Many small assets: the sync's runs against one request per asset."""

    assets: int
    baseline_sample: int
    #: One request per asset, timed on ``baseline_sample`` assets.
    baseline: ProcessRun
    first: ProcessRun
    noop: ProcessRun

    @property
    def baseline_per_asset_ms(self) -> float:
        return self.baseline.seconds / self.baseline_sample * 1000

    @property
    def baseline_scaled_s(self) -> float:
        """The baseline's time for ``assets`` assets."""
        return self.baseline.seconds / self.baseline_sample * self.assets


@dataclass
class LargeSync:
    """Four large files local -> HTTP -> local, against plain streaming HTTP."""

    size_mb: int
    files: int
    runs: dict[str, ProcessRun] = field(default_factory=dict)
    #: The served store's RSS (MiB) before the pushes, and at most during them.
    server_idle_mb: float | None = None
    server_peak_mb: float | None = None

    def seconds(self, *names: str) -> float:
        return sum(self.runs[name].seconds for name in names)


@dataclass
class LoadRate:
    """One endpoint under load: requests per second (median of the rounds) and latency."""

    rps: float
    p50_ms: float
    p99_ms: float
    rounds: list[float] = field(default_factory=list)


@dataclass
class GetAsset:
    """``GET /asset/{uri}``: the service against a bare Starlette JSON endpoint."""

    assets: int
    connections: int
    seconds: float
    store: LoadRate
    bare: LoadRate


@dataclass
class SyncResult:
    """The section's record; a part that fails keeps its error."""

    small: SmallSync | None = None
    large: LargeSync | None = None
    get: GetAsset | None = None
    errors: dict[str, str] = field(default_factory=dict)


def bench_small(config: Config, workdir: Path) -> SmallSync:
    """The sync's first and no-op runs, against one upload per asset (fresh stores for each
    round)."""
    from assetstore import open_store

    from ..servers import assetstore_server

    settings = config.settings
    count, sample = settings.sync_assets, min(settings.sync_baseline, settings.sync_assets)
    source = workdir / "source"
    with open_store(source) as store:
        for start in range(0, count, 1000):
            store.upload_many(
                {"source": os.urandom(1024), "name": f"org/m{i}", "version": "1", "tag": "t"}
                for i in range(start, min(start + 1000, count))
            )
    runs: dict[str, list[ProcessRun]] = {}
    for round_ in range(settings.repeat):
        for name in ("baseline", "sync"):
            root = workdir / f"{name}-{round_}"
            open_store(root).close()
            with assetstore_server(root) as (url, _):
                if name == "baseline":
                    runs.setdefault("baseline", []).append(
                        measure(BASELINE, BASELINE_TIMED, url, str(sample))
                    )
                    continue
                runs.setdefault("first", []).append(
                    measure(SYNC, SYNC_TIMED, str(source), url, str(count))
                )
                runs.setdefault("noop", []).append(measure(SYNC, SYNC_TIMED, str(source), url, "0"))
    found = medians(runs)
    return SmallSync(count, sample, found["baseline"], found["first"], found["noop"])


def bench_large(config: Config, workdir: Path) -> LargeSync:
    """Push and pull through the service against a plain upload and download, alternating."""
    from assetstore import open_store

    from .._internals import peak_rss_sampler
    from ..bare_server import bare_server
    from ..dataset import make_file
    from ..servers import assetstore_server

    settings = config.settings
    each = max(1, settings.transfer_mb // LARGE_FILES)
    files = []
    for i in range(LARGE_FILES):
        path = workdir / f"part{i}.bin"
        make_file(path, each)
        files.append(path)
    source = workdir / "source"
    with open_store(source) as store:
        for i, path in enumerate(files):
            store.upload(path, name=f"big/part{i}", version="1", tag="t")
    result = LargeSync(size_mb=each * LARGE_FILES, files=LARGE_FILES)
    runs: dict[str, list[ProcessRun]] = {}
    peak = idle = 0
    names = [path.name for path in files]
    for round_ in range(settings.repeat):
        with bare_server(workdir / f"plain-{round_}") as url:
            runs.setdefault("plain upload", []).append(
                measure(PLAIN_UPLOAD, PLAIN_UPLOAD_TIMED, url, *map(str, files))
            )
            target = workdir / f"plain-out-{round_}"
            target.mkdir()
            runs.setdefault("plain download", []).append(
                measure(PLAIN_DOWNLOAD, PLAIN_DOWNLOAD_TIMED, url, str(target), *names)
            )
        root = workdir / f"served-{round_}"
        open_store(root).close()
        with assetstore_server(root) as (url, process):
            idle = max(idle, process.memory_info().rss)
            with peak_rss_sampler(process.pid, interval=0.02) as sampler:
                runs.setdefault("sync push", []).append(
                    measure(SYNC, SYNC_TIMED, str(source), url, str(LARGE_FILES))
                )
            peak = max(peak, sampler.peak)
            pulled = workdir / f"pulled-{round_}"
            runs.setdefault("sync pull", []).append(
                measure(SYNC, SYNC_TIMED, url, str(pulled), str(LARGE_FILES))
            )
    result.runs = medians(runs)
    result.server_idle_mb, result.server_peak_mb = idle / MiB, peak / MiB
    return result


def bench_get(config: Config, workdir: Path) -> GetAsset:
    """The same load on the service's and the bare endpoint, alternating rounds."""
    from assetstore import open_store

    from ..bare_server import bare_server
    from ..http_load import TAGS, asset_records, run_load
    from ..servers import assetstore_server

    seconds = config.settings.load_seconds
    root = workdir / "get-store"
    with open_store(root) as store:
        uris = [a.asset_uri for a in store.register_many(asset_records(GET_ASSETS, tags=TAGS))]
    rounds: dict[str, list[Any]] = {"store": [], "bare": []}
    with assetstore_server(root) as (store_url, _), bare_server(workdir / "bare") as bare_url:
        for url in (store_url, bare_url):  # warm up: the first calls read the metadata
            run_load(url, "get", uris, 1, 0.5)
        for _ in range(config.settings.repeat):
            rounds["store"].append(run_load(store_url, "get", uris, GET_CONNECTIONS, seconds))
            rounds["bare"].append(run_load(bare_url, "get", uris, GET_CONNECTIONS, seconds))

    def rate(loads: list[Any]) -> LoadRate:
        return LoadRate(
            rps=statistics.median(load.rps for load in loads),
            p50_ms=statistics.median(load.p50_ms for load in loads),
            p99_ms=statistics.median(load.p99_ms for load in loads),
            rounds=[load.rps for load in loads],
        )

    return GetAsset(
        GET_ASSETS, GET_CONNECTIONS, seconds, rate(rounds["store"]), rate(rounds["bare"])
    )


def run(config: Config, results: Results) -> SyncResult:
    """Every part; a part that fails keeps its error."""
    record = SyncResult()
    parts: dict[str, Callable[[Path], Any]] = {
        "small": lambda base: bench_small(config, base),
        "large": lambda base: bench_large(config, base),
        "get": lambda base: bench_get(config, base),
    }
    for name, bench in parts.items():
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"bench-sync-{name}-", dir=config.workdir) as tmp:
            try:
                setattr(record, name, bench(Path(tmp)))
            except Exception as exc:
                record.errors[name] = f"{type(exc).__name__}: {exc}"[-1500:]
        log(f"  sync {name}: {time.perf_counter() - started:.0f}s")
    return record
