"""Resumable writes of the local blob store, as an import uses them: a partial file kept
by an interrupted process is continued, one left damaged is detected and written again,
and two processes never write one partial file at once."""

from __future__ import annotations

import os

import pytest

from assetstore import BackendUnavailableError, ImportItem, open_store
from assetstore._store import blob_key

MiB = 1 << 20


@pytest.fixture
def stores(tmp_path):
    with open_store(tmp_path / "src") as source, open_store(tmp_path / "dst") as destination:
        yield source, destination


def opener(source, asset, starts):
    def open_at(offset):
        starts.append(offset)
        return source.open_asset(asset, start=offset)

    return open_at


def test_a_kept_prefix_is_continued(stores):
    source, destination = stores
    data = os.urandom(12 * MiB)
    asset = source.upload(data, name="big", version="1", tag="t")
    writer = destination._blobs.resume_write(blob_key(asset.asset_id))
    writer.append([data[: 5 * MiB]])
    writer.close()
    starts: list[int] = []
    destination.import_assets([ImportItem(asset, opener(source, asset, starts))])
    assert starts == [5 * MiB]
    assert destination.read_bytes("big:1-t") == data


def test_a_damaged_prefix_is_detected_and_the_file_written_again(stores):
    source, destination = stores
    data = os.urandom(12 * MiB)
    asset = source.upload(data, name="big", version="1", tag="t")
    writer = destination._blobs.resume_write(blob_key(asset.asset_id))
    writer.append([b"\0" * (5 * MiB)])  # what a machine crash can leave
    writer.close()
    starts: list[int] = []
    destination.import_assets([ImportItem(asset, opener(source, asset, starts))])
    assert starts == [5 * MiB, 0]
    assert destination.read_bytes("big:1-t") == data
    assert destination.fsck().ok


def test_a_partial_file_longer_than_the_record_is_discarded(stores):
    source, destination = stores
    data = os.urandom(9 * MiB)
    asset = source.upload(data, name="big", version="1", tag="t")
    writer = destination._blobs.resume_write(blob_key(asset.asset_id))
    writer.append([os.urandom(10 * MiB)])
    writer.close()
    starts: list[int] = []
    destination.import_assets([ImportItem(asset, opener(source, asset, starts))])
    assert starts == [0]
    assert destination.read_bytes("big:1-t") == data


def test_two_writers_of_one_blob_are_refused(stores):
    _, destination = stores
    first = destination._blobs.resume_write("objects/ab/abc")
    with pytest.raises(BackendUnavailableError, match="another process"):
        destination._blobs.resume_write("objects/ab/abc")
    first.close()
    destination._blobs.resume_write("objects/ab/abc").abort()


def test_gc_removes_an_abandoned_partial_file(stores, tmp_path):
    _, destination = stores
    writer = destination._blobs.resume_write("objects/ab/abc")
    writer.append([b"x" * 1000])
    writer.close()
    partial = next((tmp_path / "dst" / ".tmp").glob("resume-*"))
    old = partial.stat().st_mtime - 7200
    os.utime(partial, (old, old))
    report = destination.gc(older_than=3600)
    assert any("resume-" in removed for removed in report.removed)
    assert not partial.exists()
