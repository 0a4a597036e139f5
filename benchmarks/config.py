"""What a run measures (its :class:`Settings`, saved with the results) and where it works
(:class:`Config`, which every section's ``run`` takes)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Settings:
    """The sizes and repeats of one run: a profile, possibly with some values overridden."""

    #: Store sizes of the metadata section (and of the others when they have none).
    sizes: list[int]
    #: Sizes above this are measured on the local store only, with a smaller set of
    #: operations (``sections.metadata.LARGE_OPS``); no other section runs them.
    all_backends_max: int
    #: Bulk-import sizes; None: ``sizes`` up to ``all_backends_max``.
    bulk_sizes: list[int] | None
    #: The transfer file's size, in MiB.
    transfer_mb: int
    #: Rounds of each transfer and bulk import.
    repeat: int
    #: Rounds of the S3 transfers (moto is slow).
    s3_repeat: int
    #: Most calls per metadata operation.
    reps: int
    #: Seconds per metadata operation and store.
    budget: float
    #: Documents of the query-engine section, and its repeats.
    query_docs: int
    query_repeat: int
    #: Stores larger than these are not measured on FerretDB (its scans: metadata and bulk)
    #: and bulk imports larger than ``http_cap`` not over HTTP.
    mongo_cap: int
    http_cap: int
    #: MLflow's store sizes; None: ``sizes`` up to ``all_backends_max``.
    mlflow_sizes: list[int] | None
    #: A benchmark child whose RSS passes this (MiB) is stopped, and its cell reported as
    #: failed: the machine is shared, and a store that needs more is a result in itself.
    rss_cap_mb: int
    #: Small assets of the sync section, and how many of them the one-request-per-asset
    #: baseline uploads (its time is scaled to ``sync_assets``).
    sync_assets: int = 10_000
    sync_baseline: int = 2000
    #: Seconds of load per endpoint and round in the sync section's ``GET /asset`` part.
    load_seconds: float = 5.0

    def shared_sizes(self) -> list[int]:
        """The sizes every backend and section runs: ``sizes`` up to ``all_backends_max``."""
        return [size for size in self.sizes if size <= self.all_backends_max]


PROFILES: dict[str, Settings] = {
    "quick": Settings(
        sizes=[300, 1000],
        all_backends_max=100_000,
        bulk_sizes=[100, 1000],
        transfer_mb=32,
        repeat=1,
        s3_repeat=1,
        reps=15,
        budget=0.25,
        query_docs=5000,
        query_repeat=1,
        mongo_cap=1000,
        http_cap=100,
        mlflow_sizes=[1000],
        rss_cap_mb=8192,
        sync_assets=500,
        sync_baseline=100,
        load_seconds=1.0,
    ),
    # S3 runs one round: moto serves a 1 GiB GET in ~2 minutes, and 3 rounds alone took 15.
    # 1,000,000 assets: the local store only (filling it alone takes minutes).
    "full": Settings(
        sizes=[1000, 10_000, 100_000, 1_000_000],
        all_backends_max=100_000,
        bulk_sizes=None,
        transfer_mb=1024,
        repeat=3,
        s3_repeat=1,
        reps=200,
        budget=5.0,
        query_docs=100_000,
        query_repeat=3,
        mongo_cap=10_000,
        http_cap=1000,
        mlflow_sizes=None,
        rss_cap_mb=8192,
    ),
}

#: MLflow's virtualenv unless ``--mlflow-venv`` says otherwise.
DEFAULT_MLFLOW_VENV = Path(
    os.environ.get("ASSETSTORE_BENCH_MLFLOW_VENV")
    or Path.home() / ".cache" / "assetstore-benchmarks" / "mlflow-venv"
)


def profile(name: str, **overrides: object) -> Settings:
    """A copy of the profile ``name`` with ``overrides`` (None values are ignored)."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return dataclasses.replace(PROFILES[name], **given)


@dataclass(frozen=True)
class Config:
    """Everything a section's ``run`` may need besides the results of the sections before."""

    settings: Settings
    #: Where the large temporary files go (None: the system's temp dir).
    workdir: Path | None = None
    mlflow_venv: Path = DEFAULT_MLFLOW_VENV
    #: Create MLflow's virtualenv when it is missing.
    mlflow_setup: bool = True
