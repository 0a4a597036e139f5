"""Assets read back from stored documents: the fast path (``AssetObject.from_stored``, used
for query results) gives exactly what validation gives, for every field of the model."""

from __future__ import annotations

import pytest

from assetstore.models import AssetObject


def full_document() -> dict[str, object]:
    """A stored document with every field of the model set to a value of its own."""
    asset = AssetObject(
        asset_uri="org/m:1.0-stable",
        asset_name="org/m",
        asset_id="0" * 32,
        assets_db_id="db",
        asset_version={"version": "1.0", "tag": "stable"},
        asset_metadata={"nested": {"list": [1, {"x": 2}]}},
        asset_public_url="https://example.org/f",
        asset_file_info={"file_name": "f.bin", "file_size": 3},
        asset_tags=["a", "b"],
        asset_source="upload",
        created_at="2026-01-01T00:00:00Z",
        updated_at="2026-01-02T00:00:00Z",
        revision=3,
        asset_origin={"assets_db_id": "elsewhere", "url": "https://example.org"},
    )
    return asset.to_document()


def test_every_field_of_the_model_is_set_in_the_full_document():
    assert set(full_document()) >= set(AssetObject.model_fields)


@pytest.mark.parametrize("drop", [None, "asset_origin"])
def test_the_fast_path_equals_validation(drop):
    doc = full_document()
    if drop is not None:
        del doc[drop]  # written by an older version
    fast = AssetObject.from_stored(doc)
    assert fast.__dict__ == AssetObject.model_validate(doc).__dict__
    assert set(fast.__dict__) == set(AssetObject.model_fields)


def test_the_fast_path_owns_its_values():
    doc = full_document()
    asset = AssetObject.from_stored(doc)
    asset.asset_metadata["nested"]["list"].append(3)
    asset.asset_origin["url"] = "changed"
    asset.asset_tags.append("c")
    assert doc == full_document()
