"""Damaged records (failures 3 and 4 of issue 11, and the smaller ones about store.json and
a missing metadata.json): each is refused with one line naming the file and the record,
``fsck`` lists them, and ``gc`` deletes nothing while the store shows damage.

Damage that the seal of ``metadata.json`` would catch is made here by another program's
consistent rewrite (``rewrite_metadata``: parsed, edited, written back without the seal),
so that the checks behind the seal are what is tested: the gc safety rule, the record and
table validation.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from crashkit import open_spec, rewrite_metadata

from assetstore import DamageError, open_store
from assetstore._store import blob_key
from assetstore.cli import main


@pytest.fixture
def root(local_spec):
    return Path(local_spec["root"])


def files_under(root: Path, folder: str = "objects") -> dict[str, bytes]:
    base = root / folder
    return {
        str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()
    }


def populate(spec):
    """Three uploads and an external asset, folded into metadata.json on close."""
    with open_spec(spec) as store:
        assets = [
            store.upload(name.encode() * 50, name=name, version="1", tag="a") for name in "xyz"
        ]
        store.register(
            {
                "asset_name": "ext",
                "asset_version": {"version": "1", "tag": "a"},
                "asset_public_url": "https://example.com/ext",
            }
        )
    return assets


def cli(root: Path, *argv: str, capsys) -> tuple[int, str, str]:
    code = main(["--store", str(root), *argv])
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------ gc's safety rule
def test_a_changed_asset_id_makes_gc_refuse_and_quarantine_keeps_the_file(local_spec, root, capsys):
    """One hex digit of an asset_id changed: fsck sees one missing file and one orphan,
    which is really the asset's file. gc refuses; --quarantine moves it aside, intact."""
    assets = populate(local_spec)
    victim = assets[1]
    changed = victim.asset_id[:-1] + ("0" if victim.asset_id[-1] != "0" else "1")

    def edit(data):
        for doc in data["assets"].values():
            if doc["asset_id"] == victim.asset_id:
                doc["asset_id"] = changed

    rewrite_metadata(root / "metadata.json", edit)
    before = files_under(root)
    with open_spec(local_spec) as store:
        report = store.fsck()
        assert report.missing == [victim.asset_uri]
        assert report.orphans == [blob_key(victim.asset_id)]
        with pytest.raises(DamageError, match=r"gc refused: .* y:1-a") as refused:
            store.gc(older_than=0)
        assert "--quarantine" in str(refused.value)
        assert files_under(root) == before  # nothing deleted
    code, out, err = cli(root, "gc", "--older-than", "0", capsys=capsys)
    assert code == 1 and out == "" and err.count("\n") == 1 and "gc refused" in err
    code, out, _ = cli(root, "gc", "--older-than", "0", "--quarantine", capsys=capsys)
    moved = json.loads(out)
    assert code == 0 and moved["quarantined"] == [blob_key(victim.asset_id)]
    assert moved["removed"] == []
    quarantined = files_under(root, "quarantine")
    assert list(quarantined.values()) == [before[blob_key(victim.asset_id)[len("objects/") :]]]


@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_metadata_lost_makes_gc_refuse(local_spec, root, how):
    """metadata.json and its journal both deleted, or both emptied (a journal without its
    header): reads and writes refuse (store.json says records were committed, the metadata
    has no history), gc deletes no file, fsck says why."""
    populate(local_spec)
    before = files_under(root)
    for name in ("metadata.json", "metadata.json.journal"):
        if how == "deleted":
            (root / name).unlink()
        else:
            (root / name).write_bytes(b"")
    with open_spec(local_spec) as store:
        reason = (
            "holds no change, although records were committed"
            if how == "deleted"
            else ("journal is empty")
        )
        with pytest.raises(DamageError, match=reason):
            store.count()
        with pytest.raises(DamageError, match=reason):
            store.get("x:1-a")
        with pytest.raises(DamageError, match=reason):
            store.upload(b"new", name="new", version="1", tag="a")
        with pytest.raises(DamageError):
            store.gc(older_than=0)
        report = store.fsck()
        assert not report.ok and report.damaged
    assert files_under(root) == before


def test_gc_removes_true_orphans_when_the_store_is_sound(local_spec, root):
    """The rule refuses on damage only: a crash's orphan in a sound store is removed."""
    populate(local_spec)
    (root / "objects" / "ff").mkdir()
    (root / "objects" / "ff" / ("f" * 32)).write_bytes(b"orphan")
    with open_spec(local_spec) as store:
        report = store.gc(older_than=0)
        assert report.removed == [f"objects/ff/{'f' * 32}"] and report.failed == []
        assert store.fsck().ok


# --------------------------------------------------------------- one line, not a traceback
def test_store_json_that_is_not_json(local_spec, root, capsys):
    populate(local_spec)
    (root / "store.json").write_text("{not json")
    with pytest.raises(DamageError, match=r"store\.json in .* is damaged"):
        open_store(root)
    code, out, err = cli(root, "ls", capsys=capsys)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "store.json" in err and "Traceback" not in err


def test_a_deleted_store_json_is_refused_not_replaced(local_spec, root):
    assets = populate(local_spec)
    identity = json.loads((root / "store.json").read_text())["assets_db_id"]
    (root / "store.json").unlink()
    with pytest.raises(DamageError, match=r"store\.json is missing .* split the store in two"):
        open_store(root)
    assert not (root / "store.json").exists()  # no second id was made
    (root / "store.json").write_text(json.dumps({"assets_db_id": identity}))  # the recovery
    with open_store(root) as store:
        assert store.assets_db_id == identity == assets[0].assets_db_id


def test_a_deleted_store_json_with_only_external_assets_is_refused(tmp_path):
    with open_store(tmp_path / "s") as store:
        store.register(
            {
                "asset_name": "ext",
                "asset_version": {"version": "1", "tag": "a"},
                "asset_public_url": "https://example.com/ext",
            }
        )
    (tmp_path / "s" / "store.json").unlink()
    with pytest.raises(DamageError, match=r"store\.json is missing"):
        open_store(tmp_path / "s")


def test_a_record_with_a_wrong_type(local_spec, root, capsys):
    populate(local_spec)

    def edit(data):
        next(iter(data["assets"].values()))["revision"] = "two"

    rewrite_metadata(root / "metadata.json", edit)
    with open_spec(local_spec) as store:
        message = r"record 'x:1-a' is damaged \(revision: Input should be a valid integer"
        with pytest.raises(DamageError, match=message):
            store.query()
        with pytest.raises(DamageError, match=message):
            store.get("x:1-a")
        with pytest.raises(DamageError, match=message):
            store.update("x:1-a", {"asset_tags": ["t"]})
        report = store.fsck()  # lists it instead of raising, and checks the others
        assert len(report.damaged) == 1 and "x:1-a" in report.damaged[0]
        assert report.checked == 2 and report.missing == report.corrupt == []
        with pytest.raises(DamageError):
            store.gc(older_than=0)
    code, out, err = cli(root, "fsck", capsys=capsys)
    assert code == 1 and "Traceback" not in err
    assert "x:1-a" in json.loads(out)["damaged"][0]


def test_the_assets_table_stored_as_a_list(local_spec, root, capsys):
    populate(local_spec)

    def edit(data):
        data["assets"] = list(data["assets"].values())

    rewrite_metadata(root / "metadata.json", edit)
    with open_spec(local_spec) as store:
        with pytest.raises(DamageError, match=r"metadata\.json: table 'assets' is a JSON array"):
            store.count()
        assert "table 'assets'" in store.fsck().damaged[0]
    code, _, err = cli(root, "ls", capsys=capsys)
    assert code == 1 and "table 'assets'" in err and "Traceback" not in err


def test_a_missing_metadata_json_with_its_journal_intact(local_spec, root):
    """After a checkpoint the journal continues from change N > 0: without the file, the
    changes up to N are gone. That is damage, not a store that "kept changing"."""
    populate(local_spec)
    with open_spec(local_spec) as store:  # one more change, in the journal
        store.upload(b"late", name="late", version="1", tag="a")
    (root / "metadata.json").unlink()
    with open_spec(local_spec) as store:
        with pytest.raises(DamageError, match=r"metadata\.json is missing, but its journal"):
            store.count()
        with pytest.raises(DamageError):
            store.gc(older_than=0)


def test_metadata_pointed_at_an_empty_database_makes_gc_refuse(s3_mongo_spec):
    """The bucket opened with the wrong (empty) MongoDB database: every file looks like an
    orphan. MongoDB cannot tell an empty collection that never held this store's records
    from one emptied by deletes, so gc refuses and deletes nothing."""
    spec, client = s3_mongo_spec
    with open_spec(spec, mongo_client=client) as store:
        store.upload(b"precious", name="precious", version="1", tag="a")
    wrong = {**spec, "metadata": spec["metadata"] + "_wrong"}
    with open_spec(wrong, mongo_client=client) as store:
        assert store.count() == 0
        with pytest.raises(DamageError, match=r"no record .* refers to a file"):
            store.gc(older_than=0)
        assert len(store.fsck().orphans) == 1
    with open_spec(spec, mongo_client=client) as store:
        assert store.read_bytes("precious:1-a") == b"precious"


def test_store_json_says_whether_records_were_committed(tmp_path):
    """What tells a lost metadata from a new store: has_records turns true at the first
    commit (also in a store.json written before the field existed)."""
    external = {
        "asset_name": "ext",
        "asset_version": {"version": "1", "tag": "a"},
        "asset_public_url": "https://example.com/ext",
    }
    root = tmp_path / "new"
    with open_store(root) as store:
        assert json.loads((root / "store.json").read_text())["has_records"] is False
        assert store.count() == 0  # a new store is empty, not damaged
        store.register(external)
        assert json.loads((root / "store.json").read_text())["has_records"] is True
    old = tmp_path / "old"
    old.mkdir()
    (old / "store.json").write_text(json.dumps({"assets_db_id": "legacy"}))
    with open_store(old) as store:
        assert store.count() == 0
        store.register(external)
    assert json.loads((old / "store.json").read_text()) == {
        "assets_db_id": "legacy",
        "has_records": True,
    }
