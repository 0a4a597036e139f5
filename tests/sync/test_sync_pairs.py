"""Every pair of backends syncs, as source and as destination: local, memory, S3 with TinyDB
metadata, S3 with MongoDB metadata (mongomock) and a store served over HTTP. Each copy keeps
its identity and its file, records its origin, and a second run copies nothing."""

from __future__ import annotations

import os

import pytest

import assetstore
from assetstore.models import AssetObject

#: Every kind of store ``make_store`` opens (tests/sync/conftest.py).
KINDS = ("local", "memory", "s3-tinydb", "s3-mongomock", "http")
IDENTITY = (
    "asset_uri",
    "asset_name",
    "asset_id",
    "asset_version",
    "asset_metadata",
    "asset_tags",
    "asset_file_info",
    "asset_source",
    "created_at",
)


def fill(store: assetstore.AssetStore) -> dict[str, bytes]:
    """Small files, an empty one, one with nested metadata, and an external asset."""
    files = {
        "org/model:1.0-stable": os.urandom(3000),
        "org/model:1.1-stable": os.urandom(10),
        "org/empty:1-x": b"",
        "Sample Asset:2.0-initial": os.urandom(70_000),
    }
    for uri, data in files.items():
        name, rest = uri.rsplit(":", 1)
        version, tag = rest.rsplit("-", 1)
        store.upload(
            data,
            name=name,
            version=version,
            tag=tag,
            metadata={"framework": "pytorch", "nested": {"layers": [1, 2]}},
            tags=["image", tag],
            filename=f"{name.split('/')[-1]}.pt",
        )
    store.register(
        {
            "asset_name": "org/policy",
            "asset_version": {"version": "3", "tag": "prod"},
            "asset_public_url": "https://policies.example.com/p.rego",
            "asset_file_info": {"file_size": 12, "sha256": "ab" * 32},
            "asset_tags": ["policy"],
        }
    )
    return files


def assert_copied(source: AssetObject, copy: AssetObject, destination_id: str) -> None:
    for field in IDENTITY:
        assert getattr(copy, field) == getattr(source, field), field
    assert copy.assets_db_id == destination_id
    assert copy.revision == 1
    assert copy.asset_origin["assets_db_id"] == source.assets_db_id
    assert copy.asset_origin["copied_from"]["assets_db_id"] == source.assets_db_id
    assert copy.asset_origin["copied_from"]["via"] == "sync"


@pytest.mark.parametrize("destination_kind", KINDS)
@pytest.mark.parametrize("source_kind", KINDS)
def test_a_pair_of_backends_syncs(make_store, source_kind, destination_kind):
    source = make_store(source_kind)
    destination = make_store(destination_kind)
    files = fill(source)

    report = assetstore.sync(source, destination)

    assert (report.copied, report.skipped, report.conflicts, report.failed) == (5, 0, 0, 0)
    assert report.bytes == sum(len(data) for data in files.values())
    for original in source.query():
        copy = destination.get(original.asset_uri)
        assert_copied(original, copy, destination.assets_db_id)
        if original.asset_source == "upload":
            assert destination.read_bytes(original.asset_uri) == files[original.asset_uri]
        else:
            assert copy.asset_public_url == original.asset_public_url
    again = assetstore.sync(source, destination)
    assert (again.copied, again.skipped, again.bytes) == (0, 5, 0)
    assert destination.count() == 5
