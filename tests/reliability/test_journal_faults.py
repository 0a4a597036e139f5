"""The journal under an fsync error and under damage (failures 1 and 2 of issue 11).

* An fsync error on the journal: the writer's call fails, and no other process ever sees
  the change it failed to make, not even one that reads while the record is written and
  not yet durable; afterwards every process sees every acknowledged change. The fault is
  an fsync/EIO shim in the writer's process; the "other processes" are store objects of
  their own (their own caches and file descriptors: ``flock`` locks are per open file, so
  they exclude each other exactly as processes do).
* A bit flipped in the journal: reads and writes stop with a ``DamageError`` naming the
  file and the line; nothing is cut off, nothing is appended, ``gc`` deletes nothing, and
  ``fsck`` lists the damage.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import time
from pathlib import Path

import pytest
from crashkit import blocked_on_flock, fd_path, flip_bit, open_spec, verify_sound

from assetstore import DamageError
from assetstore.backends.tinydb_documents import TinyDBDocumentStore

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="faults are matched through /proc"
)


def uris(store):
    return sorted(asset.asset_uri for asset in store.query())


def wait_until(condition, limit=30.0):
    """Poll ``condition`` until it holds (or ``limit`` seconds pass: the test then goes on
    and its assertions decide)."""
    deadline = time.monotonic() + limit
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def journal_of(spec) -> Path:
    return Path(spec["root"]) / "metadata.json.journal"


def test_an_fsync_error_is_never_seen_by_another_process(local_spec, monkeypatch):
    journal = journal_of(local_spec)
    with (
        open_spec(local_spec) as writer,
        open_spec(local_spec) as server,  # long-lived, like `assetstore serve`
        open_spec(local_spec) as other,
    ):
        writer.upload(b"first", name="first", version="1", tag="a")
        assert uris(server) == ["first:1-a"]  # its cache now ends where the journal does
        seen: dict[str, list[str]] = {}
        reader = threading.Thread(target=lambda: seen.setdefault("during", uris(server)))
        real_fsync = os.fsync
        armed = [True]

        def fsync(fd):
            if armed[0] and fd_path(fd) == os.path.realpath(journal):
                armed[0] = False
                # The record is written, not durable: the other process reads right now.
                reader.start()
                wait_until(lambda: not reader.is_alive() or blocked_on_flock(journal))
                raise OSError(errno.EIO, "Input/output error (injected)")
            return real_fsync(fd)

        monkeypatch.setattr(os, "fsync", fsync)
        with pytest.raises(OSError, match="injected"):
            writer.upload(b"phantom", name="phantom", version="1", tag="a")
        monkeypatch.undo()
        reader.join()
        assert seen["during"] == ["first:1-a"]  # the failed upload was never visible...
        assert uris(server) == ["first:1-a"]  # ...nor afterwards
        other.upload(b"legit", name="legit", version="1", tag="a")
        assert uris(server) == ["first:1-a", "legit:1-a"]  # another's acknowledged upload
        server.upload(b"mine", name="mine", version="1", tag="a")
        everything = ["first:1-a", "legit:1-a", "mine:1-a"]
        assert uris(other) == uris(writer) == everything  # and its own, seen by the others
    with open_spec(local_spec) as store:
        assert uris(store) == everything
        assert store.read_bytes("legit:1-a") == b"legit"
        assert store.read_bytes("mine:1-a") == b"mine"
        verify_sound(store, local_spec)


def test_after_an_fsync_error_the_journal_is_a_new_file(local_spec, monkeypatch):
    """Fatal for that file: the durable records are copied to a new journal, and the file
    whose writeback failed is never appended to again."""
    journal = journal_of(local_spec)
    with open_spec(local_spec) as store:
        store.upload(b"first", name="first", version="1", tag="a")
        inode = journal.stat().st_ino
        real_fsync = os.fsync
        armed = [True]

        def fsync(fd):
            if armed[0] and fd_path(fd) == os.path.realpath(journal):
                armed[0] = False
                raise OSError(errno.EIO, "Input/output error (injected)")
            return real_fsync(fd)

        monkeypatch.setattr(os, "fsync", fsync)
        with pytest.raises(OSError, match="injected"):
            store.upload(b"failed", name="failed", version="1", tag="a")
        monkeypatch.undo()
        assert journal.stat().st_ino != inode
        store.upload(b"after", name="after", version="1", tag="a")
        assert uris(store) == ["after:1-a", "first:1-a"]
        verify_sound(store, local_spec)


# ----------------------------------------------------------------------------- damage
def populate(spec, monkeypatch=None):
    """Five uploads, an update and a delete; with ``monkeypatch``, all left in the journal
    (no checkpoint, not even on close: as if the process had died)."""
    if monkeypatch is not None:
        monkeypatch.setenv("ASSETSTORE_CHECKPOINT_BYTES", str(1 << 30))
        monkeypatch.setattr(TinyDBDocumentStore, "checkpoint", lambda self: None)
    with open_spec(spec) as store:
        for name in "abcde":
            store.upload(name.encode() * 100, name=name, version="1", tag="a")
        store.update("b:1-a", {"asset_tags": ["changed"]})
        store.delete("c:1-a")
        return {info.key for info in store._blobs.list_blobs("objects/")}


def line_start(path: Path, line: int) -> int:
    """The byte offset where (1-based) ``line`` of a file starts."""
    data = path.read_bytes()
    offset = 0
    for _ in range(line - 1):
        offset = data.index(b"\n", offset) + 1
    return offset


@pytest.mark.parametrize("line", [2, 4, 8], ids=["first-change", "middle", "last-change"])
def test_a_flipped_bit_in_the_journal_is_damage(local_spec, monkeypatch, line):
    files = populate(local_spec, monkeypatch)
    monkeypatch.undo()
    journal = journal_of(local_spec)
    flip_bit(journal, (line_start(journal, line) + 12) * 8 + 2)
    damaged = journal.read_bytes()
    with open_spec(local_spec) as store:
        where = rf"metadata\.json\.journal, line {line} \(byte \d+\)"
        with pytest.raises(DamageError, match=where):
            store.query()
        with pytest.raises(DamageError, match=where):
            store.get("a:1-a")
        with pytest.raises(DamageError):
            store.upload(b"new", name="new", version="1", tag="a")
        assert journal.read_bytes() == damaged  # nothing cut off, nothing appended
        with pytest.raises(DamageError, match=r"gc refused|line"):
            store.gc(older_than=0)
        report = store.fsck()
        assert not report.ok and any(f"line {line}" in problem for problem in report.damaged)
    assert journal.read_bytes() == damaged  # close folded nothing into metadata.json
    root = Path(local_spec["root"])
    assert {str(p.relative_to(root)) for p in (root / "objects").rglob("*") if p.is_file()} == files


def test_a_flipped_bit_in_metadata_json_is_damage(local_spec):
    """The TinyDB file is sealed with its sha256: a flipped bit in a value is caught."""
    files = populate(local_spec)  # closing folded the journal into metadata.json
    path = Path(local_spec["root"]) / "metadata.json"
    text = path.read_bytes()
    flip_bit(path, text.index(b'"asset_tags":["changed"]') * 8 + 8 * 16)  # inside "changed"
    with open_spec(local_spec) as store:
        with pytest.raises(DamageError, match=r"metadata\.json does not match its sha256"):
            store.get("b:1-a")
        with pytest.raises(DamageError):
            store.gc(older_than=0)
        assert not store.fsck().ok
    root = Path(local_spec["root"])
    assert {str(p.relative_to(root)) for p in (root / "objects").rglob("*") if p.is_file()} == files


def test_a_process_that_read_the_journal_before_the_damage_keeps_it_and_says_so(
    local_spec, monkeypatch, caplog
):
    """A long-lived process read every change intact, then the journal is damaged behind
    it: it may go on (its state is right), and its checkpoint folds that state into
    metadata.json; the damaged journal is kept beside it and the damage logged, not hidden."""
    populate(local_spec, monkeypatch)
    monkeypatch.undo()
    journal = journal_of(local_spec)
    with open_spec(local_spec) as store:
        before = uris(store)
        flip_bit(journal, (line_start(journal, 3) + 12) * 8 + 1)
        damaged = journal.read_bytes()
        store.upload(b"after", name="after", version="1", tag="a")
    kept = list(journal.parent.glob("metadata.json.journal.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes().startswith(damaged)  # + the later change
    assert any("line 3" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
    with open_spec(local_spec) as store:
        assert uris(store) == sorted([*before, "after:1-a"])
        assert store.fsck().ok
