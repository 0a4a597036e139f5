"""What is NOT guaranteed, pinned down so that docs/GUARANTEES.md stays true: if one of
these starts failing, a limit was lifted and the document must say so.
"""

from __future__ import annotations

import pytest
from crashkit import open_spec

from assetstore import AlreadyExistsError


def test_mongo_batch_is_visible_until_compensated(s3_mongo_spec, monkeypatch):
    """MongoDB without a replica set has no transactions: when a batch (upload_many,
    register_many) meets a URI taken meanwhile by another writer, the documents inserted
    before it are deleted again, and a reader may glimpse them in between. Afterwards none
    is visible and their files are gone."""
    spec, client = s3_mongo_spec
    with open_spec(spec, mongo_client=client) as store:
        store.upload(b"taken", name="b2", version="1", tag="a")
        # Another writer takes b2 between upload_many's early check and its commit.
        monkeypatch.setattr(store, "_refuse_taken", lambda uris: None)
        collection = type(store._documents._collection)
        real = collection.delete_many
        glimpsed: list[str] = []

        def delete_many(self, *args, **kwargs):
            glimpsed.extend(a.asset_uri for a in store.query({"asset_name": {"$ne": "b2"}}))
            return real(self, *args, **kwargs)

        monkeypatch.setattr(collection, "delete_many", delete_many)
        items = [{"source": b"x", "name": f"b{i}", "version": "1", "tag": "a"} for i in range(4)]
        with pytest.raises(AlreadyExistsError, match="b2"):
            store.upload_many(items)
        monkeypatch.undo()
        assert sorted(glimpsed) == ["b0:1-a", "b1:1-a"]  # seen by a reader, then removed
        assert [a.asset_uri for a in store.query()] == ["b2:1-a"]
        report = store.fsck()
        assert report.ok and report.orphans == [], report


def test_gc_without_a_grace_period_can_remove_a_staged_file(local_spec):
    """gc(older_than=0) removes every file no metadata refers to, including one staged and
    about to be published: the publish then records an asset whose file is gone. The
    default grace period (an hour) protects stage -> publish and uploads in flight."""
    with open_spec(local_spec) as store:
        staged = store.stage(b"in flight")
        assert store.gc().removed == []  # the default grace period keeps it
        assert store.gc(older_than=0).removed == [
            f"objects/{staged.staging_id[:2]}/{staged.staging_id}"
        ]
        store.publish(staged, name="late", version="1", tag="a")
        assert store.fsck().missing == ["late:1-a"]
