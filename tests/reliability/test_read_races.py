"""Reads racing deletes, and deletes whose file cannot be removed (failure 7 of issue 11 and
the smaller "delete after the fact").

* A read that loses a race with a delete gets ``AssetNotFoundError``, wherever the delete
  lands: before the file's size is read, between that and the open, or (on S3, whose
  reads are ranged GETs) in the middle of the stream. ``IntegrityError`` is kept for a
  file missing while its record stands.
* ``delete`` succeeds once the record is gone, even if the file cannot be removed (it is
  left to ``gc``); ``gc`` reports a file it cannot remove and goes on with the others.
"""

from __future__ import annotations

import threading

import pytest
from crashkit import open_spec, payload

from assetstore import AssetNotFoundError, IntegrityError
from assetstore._store import blob_key
from assetstore.backends.fsspec_blobs import LocalBlobStore

DATA = payload("raced", 300 << 10)


@pytest.fixture
def stores(local_spec):
    """Two store objects on one directory: a reader and a deleter (as two processes)."""
    with open_spec(local_spec) as reader, open_spec(local_spec) as deleter:
        reader.upload(DATA, name="raced", version="1", tag="a")
        yield reader, deleter


def delete_before(monkeypatch, owner, method, deleter):
    """Run ``deleter.delete`` just before the reader's next ``owner.method`` call."""
    real = getattr(owner, method)
    armed = [True]

    def racing(self, *args, **kwargs):
        if armed[0] and self is not deleter._blobs:
            armed[0] = False
            deleter.delete("raced:1-a")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(owner, method, racing)


@pytest.mark.parametrize("method", ["size", "_open_file"])
def test_a_delete_landing_inside_a_read_is_not_found(stores, monkeypatch, method):
    reader, deleter = stores
    delete_before(monkeypatch, LocalBlobStore, method, deleter)
    with pytest.raises(AssetNotFoundError, match="was deleted"):
        reader.read_bytes("raced:1-a")


def test_a_delete_landing_inside_a_download_is_not_found(stores, monkeypatch, tmp_path):
    reader, deleter = stores
    delete_before(monkeypatch, LocalBlobStore, "size", deleter)
    with pytest.raises(AssetNotFoundError):
        reader.download("raced:1-a", tmp_path / "out.bin")
    assert list(tmp_path.glob("*out.bin*")) == []


def test_a_missing_file_of_a_standing_record_is_still_an_integrity_error(stores):
    reader, _ = stores
    asset = reader.get("raced:1-a")
    reader._blobs.delete(blob_key(asset.asset_id))
    with pytest.raises(IntegrityError, match="is missing"):
        reader.read_bytes("raced:1-a")


def test_reads_racing_deletes_get_the_file_or_not_found(local_spec):
    """Threads read while another deletes and uploads the same URI again: every read
    returns the whole file or raises AssetNotFoundError, nothing else."""
    outcomes: dict[str, int] = {}
    errors: list[BaseException] = []
    stop = threading.Event()
    with open_spec(local_spec) as reader, open_spec(local_spec) as writer:

        def churn():
            for _ in range(60):
                try:
                    writer.upload(DATA, name="raced", version="1", tag="a")
                    writer.delete("raced:1-a")
                except BaseException as exc:  # reported below
                    errors.append(exc)
            stop.set()

        def read():
            while not stop.is_set():
                try:
                    assert reader.read_bytes("raced:1-a") == DATA
                    outcome = "read"
                except AssetNotFoundError:
                    outcome = "not found"
                except BaseException as exc:  # reported below
                    errors.append(exc)
                    return
                outcomes[outcome] = outcomes.get(outcome, 0) + 1

        threads = [
            threading.Thread(target=churn),
            *(threading.Thread(target=read) for _ in range(3)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert outcomes.get("not found", 0) > 0


def test_delete_succeeds_when_its_file_cannot_be_removed(local_spec, monkeypatch):
    with open_spec(local_spec) as store:
        asset = store.upload(b"kept", name="kept", version="1", tag="a")

        def refuse(self, key):
            raise PermissionError(13, "Permission denied (injected)")

        monkeypatch.setattr(LocalBlobStore, "delete", refuse)
        store.delete("kept:1-a")  # the record is gone: the delete happened
        with pytest.raises(AssetNotFoundError):
            store.get("kept:1-a")
        report = store.gc(older_than=0)  # gc cannot remove it either, says so, goes on
        assert report.failed == [
            f"{blob_key(asset.asset_id)}: [Errno 13] Permission denied (injected)"
        ]
        monkeypatch.undo()
        assert store.gc(older_than=0).removed == [blob_key(asset.asset_id)]
        assert store.fsck().orphans == []


def test_gc_goes_on_after_a_file_it_cannot_remove(local_spec, monkeypatch):
    with open_spec(local_spec) as store:
        store.upload(b"stays", name="stays", version="1", tag="a")
        root = store._blobs._root
        orphans = []
        for i in range(3):
            key = f"objects/0{i}/0{i}{'e' * 30}"
            (root / key).parent.mkdir(parents=True, exist_ok=True)
            (root / key).write_bytes(b"orphan")
            orphans.append(key)
        real = LocalBlobStore.delete

        def fail_first(self, key):
            if key == orphans[0]:
                raise OSError(5, "Input/output error (injected)")
            return real(self, key)

        monkeypatch.setattr(LocalBlobStore, "delete", fail_first)
        report = store.gc(older_than=0)
        assert sorted(report.removed) == orphans[1:]
        assert report.failed == [f"{orphans[0]}: [Errno 5] Input/output error (injected)"]
