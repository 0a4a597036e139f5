"""What the local store (files + TinyDB) guarantees beyond the common contract."""

import json
import os
import stat
import subprocess
import sys
import time

import pytest
from tinydb import TinyDB

from assetstore import IntegrityError, open_store
from assetstore._store import blob_key


@pytest.fixture
def root(tmp_path):
    return tmp_path / "assets"


@pytest.fixture
def store(root):
    with open_store(root) as store:
        yield store


def upload(store, name="m", version="1", tag="a", data=b"payload" * 100):
    return store.upload(data, name=name, version=version, tag=tag)


def test_layout_and_stock_tinydb_reads_the_metadata(store, root):
    asset = upload(store, name="org/model")
    assert (root / blob_key(asset.asset_id)).read_bytes() == b"payload" * 100
    assert json.loads((root / "store.json").read_text())["assets_db_id"] == store.assets_db_id
    assert (root / "metadata.json.journal").stat().st_size > 0  # the change, durably
    store.close()  # folds the journal into the TinyDB file
    with TinyDB(root / "metadata.json") as db:
        docs = db.table("assets").all()
    assert [d["asset_uri"] for d in docs] == ["org/model:1-a"]


def test_store_id_is_stable_across_opens(root):
    with open_store(root) as first:
        identity = first.assets_db_id
    with open_store(root) as second:
        assert second.assets_db_id == identity
    with open_store(root, assets_db_id="configured") as third:
        assert third.assets_db_id == "configured"


def test_another_process_write_is_seen_on_next_call(store, root):
    upload(store, name="mine")
    assert store.count() == 1
    code = (
        "from assetstore import open_store\n"
        f"s = open_store({str(root)!r})\n"
        "s.upload(b'x', name='theirs', version='1', tag='a')\n"
        "s.update('mine:1-a', {'asset_tags': ['seen']})\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert store.get("theirs:1-a").asset_name == "theirs"
    assert store.get("mine:1-a").asset_tags == ["seen"]
    assert store.count() == 2


def test_metadata_files_keep_their_mode(root):
    with open_store(root) as store:
        upload(store, name="a")
    for name in ("metadata.json", "metadata.json.journal"):
        os.chmod(root / name, 0o600)
    with open_store(root) as store:  # appends, then a checkpoint rewrites both on close
        upload(store, name="b")
    for name in ("metadata.json", "metadata.json.journal"):
        assert stat.S_IMODE((root / name).stat().st_mode) == 0o600


def test_flipped_bit_is_detected_and_no_bytes_are_handed_over(store, root, tmp_path):
    asset = upload(store)
    path = root / blob_key(asset.asset_id)
    data = bytearray(path.read_bytes())
    data[10] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        store.read_bytes(asset.asset_uri)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(IntegrityError):
        store.download(asset.asset_uri, out / "file")
    assert list(out.iterdir()) == []
    report = store.fsck()
    assert report.corrupt == [asset.asset_uri]
    assert not report.ok
    assert store.fsck(verify_checksums=False).ok


def test_truncated_or_missing_blob(store, root):
    asset = upload(store)
    path = root / blob_key(asset.asset_id)
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(IntegrityError):
        store.open(asset.asset_uri)
    path.unlink()
    with pytest.raises(IntegrityError):
        store.read_bytes(asset.asset_uri)
    assert store.fsck().missing == [asset.asset_uri]


def test_gc_removes_orphans_after_the_grace_period(store, root):
    kept = upload(store, name="kept")
    orphan = root / "objects" / "ab" / ("ab" + "0" * 30)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left by a crash")
    stale_tmp = root / ".tmp" / "abandoned"
    stale_tmp.write_bytes(b"half an upload")
    assert store.fsck().orphans == [orphan.relative_to(root).as_posix()]
    report = store.gc()
    assert report.removed == [] and report.kept_recent == 1
    old = time.time() - 7200
    os.utime(orphan, (old, old))
    os.utime(stale_tmp, (old, old))
    report = store.gc()
    assert sorted(report.removed) == sorted([".tmp/abandoned", "objects/ab/" + orphan.name])
    assert report.bytes_freed == len(b"left by a crash")
    assert not orphan.exists() and not stale_tmp.exists()
    assert store.read_bytes(kept.asset_uri) == b"payload" * 100


def test_a_path_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        open_store(target)


def test_large_files_are_verified_while_they_stream(store, root, tmp_path):
    """Past 8 MiB the sha256 is computed by a helper thread beside the copy: a clean file
    passes, one flipped bit near the end is still caught before the file appears."""
    data = os.urandom(20 << 20)
    asset = store.upload(data, name="large", version="1", tag="a")
    assert store.download(asset.asset_uri, tmp_path / "ok").read_bytes() == data
    path = root / blob_key(asset.asset_id)
    damaged = bytearray(data)
    damaged[-100] ^= 0x01
    path.write_bytes(bytes(damaged))
    with pytest.raises(IntegrityError):
        store.download(asset.asset_uri, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()

    def read_to_the_end() -> None:
        with store.open(asset.asset_uri) as reader:
            while reader.read(1 << 20):
                pass

    with pytest.raises(IntegrityError):
        read_to_the_end()
