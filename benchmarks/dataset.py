"""The data the store benchmarks store: asset records of a known shape, and large files.

A store of ``size`` assets holds external assets ``0 .. size-1``: 20 versions per name, each
tagged ``group<i % 30>``, with a ``dataset`` field shared by 50 assets, a ``shard`` field
shared by the same 50 assets (``dataset`` gets a declared index, ``shard`` never does, so the
two 50-hit queries differ only by the index) and a ``framework`` shared by a third. The
metadata and bulk-import sections and MLflow's child all use it.

Standard library only: MLflow's child imports it in MLflow's own virtualenv.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

VERSIONS_PER_NAME = 20
TAG_GROUPS = 30
SMALL_HITS = 50
FRAMEWORKS = ("pytorch", "tensorflow", "onnx")
#: The field the stores declare an index on (``store.create_index``), and the field of the
#: same distribution that is never indexed (its queries scan).
DECLARED_INDEX = "asset_metadata.dataset"
UNDECLARED_FIELD = "asset_metadata.shard"


def asset_name(i: int) -> str:
    """The name of the ``i``-th asset: 20 consecutive assets share a name."""
    model = i // VERSIONS_PER_NAME
    return f"org{model % 50}/model{model}"


def asset_version(i: int) -> str:
    """The version of the ``i``-th asset: ``1.<i % 20>.0``."""
    return f"1.{i % VERSIONS_PER_NAME}.0"


def asset_uri(i: int) -> str:
    """The URI of the ``i``-th asset (its tag is ``stable``)."""
    return f"{asset_name(i)}:{asset_version(i)}-stable"


def dataset_of(i: int, size: int) -> str:
    """The ``dataset`` field of the ``i``-th asset: 50 assets share each value."""
    return f"ds{i % max(1, size // SMALL_HITS)}"


def shard_of(i: int, size: int) -> str:
    """The ``shard`` field of the ``i``-th asset: the same 50 assets as its ``dataset``."""
    return f"shard{i % max(1, size // SMALL_HITS)}"


def asset_record(i: int, size: int) -> dict[str, Any]:
    """The ``i``-th external asset of a store of ``size`` (what ``register_many`` takes)."""
    return {
        "asset_name": asset_name(i),
        "asset_version": {"version": asset_version(i), "tag": "stable"},
        "asset_public_url": f"https://models.example.com/files/{i}.pt",
        "asset_tags": ["bench", f"group{i % TAG_GROUPS}"],
        "asset_metadata": {
            "framework": FRAMEWORKS[i % len(FRAMEWORKS)],
            "dataset": dataset_of(i, size),
            "shard": shard_of(i, size),
            "params": i * 1000,
            "description": "a benchmark asset",
        },
        "asset_file_info": {"file_size": 1234, "filename": "model.pt"},
    }


def make_file(path: Path, size_mb: int) -> None:
    """A file of ``size_mb`` MiB of random bytes (a 64 MiB random block, repeated)."""
    block = os.urandom(64 << 20)
    with open(path, "wb") as file:
        left = size_mb << 20
        while left:
            part = block[: min(left, len(block))]
            file.write(part)
            left -= len(part)
