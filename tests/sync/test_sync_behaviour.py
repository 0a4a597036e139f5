"""What a sync decides and reports: conflicts (never a silent overwrite), metadata that
differs, a re-run with nothing new, a dry run, deletions, provenance across hops, filters,
a bad source file failing alone, and the arguments it refuses."""

from __future__ import annotations

import os

import pytest

import assetstore
from assetstore import AlreadyExistsError, InvalidInputError, open_store
from assetstore._store import blob_key


@pytest.fixture
def pair(tmp_path):
    with open_store(tmp_path / "src") as source, open_store(tmp_path / "dst") as destination:
        yield source, destination


def put(store, name, data, version="1", tag="t", **fields):
    return store.upload(data, name=name, version=version, tag=tag, **fields)


def test_a_conflict_is_reported_and_the_destination_file_is_kept(pair):
    source, destination = pair
    put(source, "org/m", b"the source's bytes", tags=["a"])
    put(source, "org/other", b"new")
    put(destination, "org/m", b"the destination's own bytes")

    report = assetstore.sync(source, destination)

    assert (report.copied, report.conflicts, report.skipped) == (1, 1, 0)
    conflict = report.details.conflicts[0]
    assert conflict.asset_uri == "org/m:1-t"
    assert conflict.source_sha256 == source.get("org/m:1-t").sha256
    assert conflict.destination_sha256 == destination.get("org/m:1-t").sha256
    assert destination.read_bytes("org/m:1-t") == b"the destination's own bytes"
    assert not report.ok


def test_on_conflict_fail_copies_nothing(pair):
    source, destination = pair
    put(source, "a", b"1")
    put(source, "b", b"2")
    put(destination, "b", b"other")
    with pytest.raises(AlreadyExistsError, match=r"b:1-t .*nothing was copied"):
        assetstore.sync(source, destination, on_conflict="fail")
    assert destination.count() == 1


def test_overwrite_metadata_sets_metadata_and_tags_but_never_the_file(pair):
    source, destination = pair
    put(source, "same", b"same bytes", metadata={"v": 2}, tags=["new"])
    put(destination, "same", b"same bytes", metadata={"v": 1}, tags=["old"])
    put(source, "clash", b"source", metadata={"v": 2})
    put(destination, "clash", b"destination", metadata={"v": 1})

    report = assetstore.sync(source, destination, on_conflict="overwrite-metadata")

    assert report.metadata_updated == 2
    assert destination.get("same:1-t").asset_metadata == {"v": 2}
    assert destination.get("same:1-t").asset_tags == ["new"]
    assert destination.get("same:1-t").revision == 2
    assert destination.read_bytes("clash:1-t") == b"destination"
    assert destination.get("clash:1-t").asset_metadata == {"v": 2}
    assert [c.asset_uri for c in report.details.conflicts] == ["clash:1-t"]


def test_same_file_with_other_metadata_is_skipped_and_named(pair):
    source, destination = pair
    put(source, "m", b"x", metadata={"v": 2})
    put(destination, "m", b"x", metadata={"v": 1})
    report = assetstore.sync(source, destination)
    assert (report.skipped, report.conflicts, report.metadata_differs) == (1, 0, 1)
    assert report.details.metadata_differs == ["m:1-t"]
    assert destination.get("m:1-t").asset_metadata == {"v": 1}
    assert report.ok


def test_a_rerun_with_nothing_new_reads_no_byte(pair):
    source, destination = pair
    for i in range(30):
        put(source, f"m{i}", os.urandom(100))
    first = assetstore.sync(source, destination)
    second = assetstore.sync(source, destination)
    assert (first.copied, first.bytes) == (30, 3000)
    assert (second.copied, second.skipped, second.bytes) == (0, 30, 0)
    put(source, "late", b"late")
    third = assetstore.sync(source, destination)
    assert (third.copied, third.skipped, third.bytes) == (1, 30, 4)


def test_a_dry_run_changes_nothing_and_says_what_would_be_done(pair):
    source, destination = pair
    put(source, "new", b"12345")
    put(destination, "gone", b"x")
    report = assetstore.sync(source, destination, dry_run=True, delete=True)
    assert (report.dry_run, report.copied, report.bytes, report.deleted) == (True, 1, 5, 1)
    assert [a.asset_uri for a in destination.query()] == ["gone:1-t"]


def test_delete_removes_what_the_source_lacks_within_the_filter(pair):
    source, destination = pair
    put(source, "keep", b"k", tags=["sync"])
    put(destination, "stale", b"s", tags=["sync"])
    put(destination, "mine", b"m", tags=["local"])
    report = assetstore.sync(source, destination, {"asset_tags": "sync"}, delete=True)
    assert report.details.deleted == ["stale:1-t"]
    assert sorted(a.asset_uri for a in destination.query()) == ["keep:1-t", "mine:1-t"]


def test_the_filter_selects_what_is_copied(pair):
    source, destination = pair
    put(source, "a", b"a", tags=["prod"])
    put(source, "b", b"b", tags=["dev"])
    report = assetstore.sync(source, destination, {"asset_tags": "prod"})
    assert report.copied == 1
    assert [a.asset_uri for a in destination.query()] == ["a:1-t"]


def test_provenance_keeps_the_first_store_across_hops(tmp_path):
    with (
        open_store(tmp_path / "a") as a,
        open_store(tmp_path / "b") as b,
        open_store(tmp_path / "c") as c,
    ):
        original = put(a, "m", b"x")
        assetstore.sync(a, b)
        assetstore.sync(b, c)
        origin = c.get("m:1-t").asset_origin
        assert origin["assets_db_id"] == a.assets_db_id
        assert origin["copied_from"]["assets_db_id"] == b.assets_db_id
        assert origin["copied_from"]["location"] == str((tmp_path / "b").resolve())
        assert c.get("m:1-t").asset_id == original.asset_id
        found = c.query({"asset_origin.copied_from.assets_db_id": b.assets_db_id})
        assert [x.asset_uri for x in found] == ["m:1-t"]
        assert b.get("m:1-t").asset_origin["copied_at"] <= origin["copied_at"]


def test_provenance_cannot_be_changed_by_an_update(pair):
    source, destination = pair
    put(source, "m", b"x")
    assetstore.sync(source, destination)
    with pytest.raises(assetstore.ReadOnlyFieldError):
        destination.update("m:1-t", {"asset_origin": {"assets_db_id": "forged"}})


def test_a_corrupt_source_file_fails_alone(pair, tmp_path):
    source, destination = pair
    good = [put(source, f"good{i}", os.urandom(50)) for i in range(5)]
    bad = put(source, "bad", b"original bytes")
    (tmp_path / "src" / blob_key(bad.asset_id)).write_bytes(b"damaged bytes!")

    report = assetstore.sync(source, destination)

    assert (report.copied, report.failed) == (5, 1)
    failure = report.details.failed[0]
    assert failure.asset_uri == "bad:1-t"
    assert failure.error_type == "IntegrityError"
    assert destination.count() == len(good)
    assert destination.fsck().ok


def test_assets_published_meanwhile_are_compared_not_overwritten(pair, monkeypatch):
    """A URI taken between the plan and the copy is compared again: same content is a
    skip, other content a conflict."""
    source, destination = pair
    put(source, "same", b"s")
    put(source, "other", b"o")
    original_plan = assetstore._sync_run.Engine.plan

    def plan_then_race(engine, page):
        plan = original_plan(engine, page)
        put(destination, "same", b"s")
        put(destination, "other", b"somebody else's")
        return plan

    monkeypatch.setattr(assetstore._sync_run.Engine, "plan", plan_then_race)
    report = assetstore.sync(source, destination)
    assert (report.copied, report.skipped, report.conflicts) == (0, 1, 1)
    assert destination.read_bytes("other:1-t") == b"somebody else's"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"on_conflict": "replace"}, "on_conflict"),
        ({"jobs": 0}, "jobs"),
        ({"filter": ["not", "an", "object"]}, "filter"),
    ],
)
def test_bad_arguments_are_refused(pair, arguments, message):
    source, destination = pair
    with pytest.raises(InvalidInputError, match=message):
        assetstore.sync(source, destination, **arguments)


def test_a_store_is_not_synced_onto_itself(tmp_path):
    with pytest.raises(InvalidInputError, match="one store"):
        assetstore.sync(tmp_path / "s", tmp_path / "s")


def test_a_bad_filter_is_an_invalid_query(pair):
    source, destination = pair
    put(source, "m", b"x")
    with pytest.raises(assetstore.InvalidQueryError):
        assetstore.sync(source, destination, {"$where": "1"})
