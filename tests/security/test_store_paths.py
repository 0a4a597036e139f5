"""Finding 5: files outside the store's root, through its metadata or its directories.

Someone who can write the metadata (or the store's directory) but nothing else must not
reach other files through the store: a record's ``asset_id`` of ``../../victim/secret.txt``
gave ranged reads of the outside file, ``open()`` handed over its bytes, ``fsck`` read it,
and ``rm`` and ``DELETE`` deleted it; with ``objects/`` or ``.tmp/`` a symbolic link,
``gc`` deleted every old file where it pointed. The victim files here are outside the
store, and each test ends by checking they are untouched."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from assetstore import open_store
from assetstore.errors import DamageError, IntegrityError

SECRET = b"the victim's secret\n"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A directory beside the store with an old file in it (older than gc's grace)."""
    directory = tmp_path / "victim"
    directory.mkdir()
    secret = directory / "secret.txt"
    secret.write_bytes(SECRET)
    old = time.time() - 7 * 86400
    os.utime(secret, (old, old))
    return directory


def untouched(victim: Path) -> bool:
    return (victim / "secret.txt").read_bytes() == SECRET


def forge(store, uri: str, **fields: object) -> None:
    """Change a stored record behind the store's back (what write access to the metadata
    allows), keeping its revision."""
    documents = store._documents
    doc = documents.get(uri)
    assert documents.replace(uri, {**doc, **fields}, expected_revision=doc["revision"])


FORGED_IDS = [
    "../../victim/secret.txt",
    "../../../victim/secret.txt",
    "ab/../../../victim/secret.txt",
    "/etc/passwd",
    "ABCDEF0123456789ABCDEF0123456789",  # not one the store generates (upper case)
    "0123456789abcdef0123456789abcdef/x",
]


@pytest.mark.parametrize("forged", FORGED_IDS)
def test_a_forged_asset_id_reaches_no_file(tmp_path, victim, forged):
    with open_store(tmp_path / "store") as store:
        asset = store.upload(b"mine", name="a", version="1", tag="t")
        info = {**asset.asset_file_info, "file_size": len(SECRET)}
        forge(store, asset.asset_uri, asset_id=forged, asset_file_info=info)
        with pytest.raises(IntegrityError, match="not one this store generates"):
            store.open(asset.asset_uri, start=0, end=5)
        with pytest.raises(IntegrityError):
            store.open(asset.asset_uri).read()
        with pytest.raises(IntegrityError):
            store.read_bytes(asset.asset_uri)
        with pytest.raises(IntegrityError):
            store.download(asset.asset_uri, tmp_path / "out.bin")
        assert not (tmp_path / "out.bin").exists()
        report = store.fsck()
        assert report.corrupt == [asset.asset_uri]
        assert report.orphans == [f"objects/{asset.asset_id[:2]}/{asset.asset_id}"]
        with pytest.raises(IntegrityError):
            store.delete(asset.asset_uri)
        with pytest.raises(DamageError, match=r"damaged record.*nothing was deleted"):
            store.gc(older_than=0)  # the record's real file must not go as an orphan
        assert store.get(asset.asset_uri).asset_id == forged  # refused, not repaired
        assert store.fsck().orphans == report.orphans
    assert untouched(victim)


def test_a_forged_asset_id_over_http(live, victim):
    """The service answers 500 'stored file is corrupt' for the read and the delete of a
    forged record, and the outside file is neither sent nor deleted."""
    victim_from_store = "../../victim/secret.txt"  # live.root/store -> live.root/victim
    (live.root / "victim").mkdir(exist_ok=True)
    (live.root / "victim" / "secret.txt").write_bytes(SECRET)
    asset = live.store.upload(b"mine", name="a", version="1", tag="t")
    forge(live.store, asset.asset_uri, asset_id=victim_from_store)
    read = httpx.get(f"{live.url}/asset-object/{asset.asset_id}")
    assert read.status_code == 404  # the id in the URL no longer names a record
    deleted = httpx.delete(f"{live.url}/asset/{asset.asset_uri}")
    assert deleted.status_code == 500, deleted.text
    assert deleted.json()["error_type"] == "IntegrityError"
    assert SECRET not in deleted.content
    fsck = httpx.post(f"{live.url}/admin/fsck", headers={"X-Requested-With": "t"}).json()
    assert fsck["data"]["corrupt"] == [asset.asset_uri]
    assert (live.root / "victim" / "secret.txt").read_bytes() == SECRET


@pytest.mark.parametrize("directory", ["objects", ".tmp"])
def test_a_linked_data_directory_is_refused(tmp_path, victim, directory):
    """``objects/`` or ``.tmp/`` replaced by a link to another directory: opening the store
    is refused, and a store already open refuses gc and writes (nothing there is deleted)."""
    root = tmp_path / "store"
    with open_store(root) as store:
        store.upload(b"mine", name="a", version="1", tag="t")
        real = root / directory
        os.rename(real, tmp_path / f"moved{directory}")
        os.symlink(victim, real)
        with pytest.raises(IntegrityError, match="symbolic link"):
            store.gc(older_than=0)
        with pytest.raises(IntegrityError, match="symbolic link"):
            store.upload(b"new", name="b", version="1", tag="t")
    with pytest.raises(IntegrityError, match="symbolic link"):
        open_store(root)
    assert untouched(victim)


def test_links_inside_the_objects_tree_are_not_followed(tmp_path, victim):
    """A linked file in place of a blob is not read, and a linked sub-directory is not
    listed: gc leaves the outside files alone."""
    root = tmp_path / "store"
    with open_store(root) as store:
        asset = store.upload(b"mine", name="a", version="1", tag="t")
        blob = root / "objects" / asset.asset_id[:2] / asset.asset_id
        blob.unlink()
        os.symlink(victim / "secret.txt", blob)
        with pytest.raises(IntegrityError, match="outside the store"):
            store.open(asset.asset_uri, start=0, end=3)
        assert store.fsck().corrupt == [asset.asset_uri]
        os.symlink(victim, root / "objects" / "zz")
        with pytest.raises(DamageError, match="lost their file"):
            store.gc(older_than=0)  # its file is a link out of the store: refused
        report = store.gc(older_than=0, quarantine=True)
        assert not any(key.startswith("objects/zz") for key in report.removed)
        assert not any(key.startswith("objects/zz") for key in report.quarantined)
        assert (root / "objects" / "zz").is_symlink()
    assert untouched(victim)
