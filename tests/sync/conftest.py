"""Stores of every kind for the sync and bundle tests: ``make_store(kind)`` opens a new,
empty store of that kind (a local directory, ``memory://``, S3 with TinyDB metadata, S3 with
MongoDB metadata on mongomock, or a local store served over HTTP), closed after the test."""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "http"))  # live_server

from assetstore import open_store
from assetstore.contract import AssetStore


@pytest.fixture
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[str], AssetStore]]:
    """Open a fresh store of a kind; every store is closed (and every server stopped) at
    the end of the test."""
    with contextlib.ExitStack() as stack:

        def make(kind: str) -> AssetStore:
            name = uuid.uuid4().hex[:10]
            if kind == "local":
                return stack.enter_context(open_store(tmp_path / f"local-{name}"))
            if kind == "memory":
                return stack.enter_context(open_store(f"memory://sync-{name}"))
            if kind in ("s3-tinydb", "s3-mongomock"):
                options = request.getfixturevalue("s3_options")
                bucket = f"s3://sync-{name}/assets"
                if kind == "s3-tinydb":
                    metadata = str(tmp_path / f"meta-{name}.json")
                    return stack.enter_context(open_store(bucket, metadata=metadata, **options))
                import mongomock

                return stack.enter_context(
                    open_store(
                        bucket,
                        metadata=f"mongodb://mongomock.invalid/sync_{name}",
                        mongo_client=mongomock.MongoClient(),
                        **options,
                    )
                )
            if kind == "http":
                from live_server import serve

                served = stack.enter_context(open_store(tmp_path / f"served-{name}"))
                url = stack.enter_context(serve(served))
                return stack.enter_context(open_store(url))
            raise ValueError(kind)

        yield make
