"""The order of durable steps on the local store, for power loss.

Killing a process (the other tests) leaves the kernel's page cache intact; a power cut
keeps only what was made durable, in the order it was made durable. That is argued, as in
the ALICE study of crash consistency, from the sequence of calls: this test records the
``fsync``/``link``/``rename``/``unlink``/``mkdir``/``syncfs`` calls of each operation and
checks what the publish protocol needs:

* a file is fsynced before it is linked under its key, and the directory holding the key
  (and every directory created for it) is fsynced before the metadata commit, so no
  committed metadata can point to a file that a power cut loses; ``upload_many`` instead
  syncs the whole file system once (``syncfs``), after the last file and before the commit;
* a change is committed by the fsync of its journal append, the last fsync before the call
  returns (a returned call survives a power cut);
* a checkpoint makes the new TinyDB file durable (temp file fsynced before it replaces the
  old one, then the directory fsynced) before it resets the journal the same way: after a
  power cut the changes are in the file or still in the journal, never in neither;
* a delete's metadata commit is durable before its file is unlinked.

What this cannot show: a disk or file system that lies about fsync.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from crashkit import fd_path, open_spec

import assetstore._fileio as _fileio


class Trace:
    def __init__(self, monkeypatch, root: Path) -> None:
        self.root = os.path.realpath(root)
        self.events: list[tuple[str, str, str]] = []

        def wrap(name, describe):
            real = getattr(os, name)

            def traced(*args, **kwargs):
                result = real(*args, **kwargs)
                self.events.append((name, *describe(*args)))
                return result

            monkeypatch.setattr(os, name, traced)

        def fd(fd, *_):
            return self.rel(fd_path(fd)), ""

        def two(src, dst, *_, **__):
            return self.rel(src), self.rel(dst)

        def one(path, *_, **__):
            return self.rel(path), ""

        wrap("fsync", fd)
        wrap("fdatasync", fd)
        for name in ("link", "replace", "rename"):
            wrap(name, two)
        wrap("unlink", one)
        wrap("mkdir", one)
        wrap("sync", lambda: ("", ""))
        libc = _fileio._LIBC
        if libc is not None:
            trace = self

            class TracedLibc:
                def syncfs(self, fd):
                    result = libc.syncfs(fd)
                    trace.events.append(("syncfs", trace.rel(fd_path(fd)), ""))
                    return result

            monkeypatch.setattr(_fileio, "_LIBC", TracedLibc())

    def rel(self, path) -> str:
        path = os.path.realpath(os.fspath(path))
        return "." if path == self.root else os.path.relpath(path, self.root)

    def index(self, name: str, first: str = "", second: str = "", *, after: int = -1) -> int:
        """The position of the first matching event after ``after`` (regex on paths)."""
        for i, (event, a, b) in enumerate(self.events):
            if (
                i > after
                and event == name
                and re.fullmatch(first or ".*", a)
                and re.fullmatch(second or ".*", b)
            ):
                return i
        raise AssertionError(f"no {name} {first} {second} after {after} in {self.events}")

    def metadata_commit(self, *, after: int = -1) -> int:
        """The fsync of the journal append that commits one change."""
        return self.index("fsync", r"metadata\.json\.journal", after=after)

    def replace_durably(self, target: str, *, after: int = -1) -> tuple[int, int, int]:
        """(temp fsync, rename over ``target``, directory fsync) of an atomic replacement."""
        tmp = rf"\.{re.escape(target)}\.[0-9a-f]{{32}}\.tmp"
        fsync = self.index("fsync", tmp, after=after)
        rename = self.index("replace", tmp, re.escape(target), after=fsync)
        directory = self.index("fsync", ".", after=rename)
        return fsync, rename, directory


@pytest.fixture
def store(local_spec):
    with open_spec(local_spec) as store:
        store.upload(b"old", name="old", version="1", tag="a")  # the store exists
        yield store


def test_publish(store, local_spec, monkeypatch):
    trace = Trace(monkeypatch, local_spec["root"])
    asset = store.upload(b"new" * 1000, name="new", version="1", tag="a")
    key = f"objects/{asset.asset_id[:2]}/{asset.asset_id}"
    link = trace.index("link", r"\.tmp/[0-9a-f]{32}", key)
    blob_tmp = trace.events[link][1]
    assert trace.index("fsync", re.escape(blob_tmp)) < link
    blob_dir = trace.index("fsync", re.escape(os.path.dirname(key)), after=link)
    commit = trace.metadata_commit(after=link)
    assert blob_dir < commit
    assert commit == max(i for i, e in enumerate(trace.events) if e[0] == "fsync")
    created = [i for i, e in enumerate(trace.events) if e[0] == "mkdir"]
    for i in created:  # every directory created on the way is durable in its parent
        parent = os.path.dirname(trace.events[i][1]) or "."
        assert trace.index("fsync", re.escape(parent), after=i) < commit


def test_upload_many(store, local_spec, monkeypatch):
    trace = Trace(monkeypatch, local_spec["root"])
    assets = store.upload_many(
        [
            {"source": f"file {i}".encode(), "name": f"b{i}", "version": "1", "tag": "a"}
            for i in range(5)
        ]
    )
    links = [
        trace.index("link", r"\.tmp/[0-9a-f]{32}", f"objects/{a.asset_id[:2]}/{a.asset_id}")
        for a in assets
    ]
    synced = min(i for i, e in enumerate(trace.events) if e[0] in ("syncfs", "sync"))
    assert max(links) < synced
    assert synced < trace.metadata_commit(after=synced)


def test_update(store, local_spec, monkeypatch):
    trace = Trace(monkeypatch, local_spec["root"])
    store.update("old:1-a", {"asset_tags": ["x"]})
    trace.metadata_commit()


def test_delete(store, local_spec, monkeypatch):
    asset = store.get("old:1-a")
    trace = Trace(monkeypatch, local_spec["root"])
    store.delete("old:1-a")
    commit = trace.metadata_commit()
    unlink = trace.index("unlink", f"objects/{asset.asset_id[:2]}/{asset.asset_id}")
    assert commit < unlink


def test_checkpoint(local_spec, monkeypatch):
    monkeypatch.setenv("ASSETSTORE_CHECKPOINT_BYTES", "0")  # fold after every change
    with open_spec(local_spec) as store:
        store.upload(b"old", name="old", version="1", tag="a")
        trace = Trace(monkeypatch, local_spec["root"])
        store.update("old:1-a", {"asset_tags": ["x"]})
    commit = trace.metadata_commit()
    fsync, rename, directory = trace.replace_durably("metadata.json", after=commit)
    journal = trace.replace_durably("metadata.json.journal", after=directory)
    assert commit < fsync < rename < directory < journal[0] < journal[1] < journal[2]
