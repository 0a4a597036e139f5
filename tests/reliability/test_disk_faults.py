"""A full disk or an I/O error in the middle of a write.

What the caller gets: the ``OSError`` itself, with its errno (``ENOSPC``, ``EIO``,
``EFBIG``), unwrapped: it is the natural built-in and names the cause (a
``BackendUnavailableError``, "cannot reach", would misdescribe a full disk). MongoDB and S3
failures arrive as ``BackendUnavailableError`` (also an ``OSError``).

Before the commit point (the journal append of a TinyDB store, with its fsync; the blob's
write or fsync) the operation has not happened: the metadata files are byte for byte what
they were, no temp file and no orphan blob is left even before gc. After the commit, the
checkpoint that folds the journal into the TinyDB file may fail: the change is already
durable, so the call succeeds and the checkpoint is retried later. A lost MongoDB
acknowledgement is ambiguous like a network timeout: the call raises, yet the operation
happened, whole. Never does a fault leave metadata without its file.

Faults are injected by monkeypatching ``os.write``/``os.fsync`` (matched on the file's path
in /proc/self/fd), the blob file's ``write``, and pymongo's collection calls; and, without
any patching, by the kernel: a child process under ``RLIMIT_FSIZE`` gets ``EFBIG`` partway
through a blob or metadata write.
"""

from __future__ import annotations

import ctypes
import errno
import io
import json
import os
import sys
from pathlib import Path

import psutil
import pymongo.errors
import pytest
from crashkit import METADATA_TMP, fd_path, metadata_file, open_spec, payload, verify_sound

import assetstore._fileio as _fileio
import assetstore.backends.fsspec_blobs as fsspec_blobs
from assetstore import AssetNotFoundError, BackendUnavailableError

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="faults are matched through /proc/self/fd"
)

DATA = payload("faulty", 200_000)


class Fault:
    """Counts the faults it injected, so a test can tell that its fault was reached."""

    def __init__(self) -> None:
        self.injected = 0

    def error(self, code: int) -> OSError:
        self.injected += 1
        return OSError(code, f"{os.strerror(code)} (injected)")


def is_journal(fd: int) -> bool:
    return fd_path(fd).endswith(".json.journal")


def fail_journal(monkeypatch, where: str, code: int) -> Fault:
    """Make the journal append (a change's commit) fail at ``where``: ``write`` (nothing
    written), ``write-partial`` (half the record written, then the rest fails), ``fsync``."""
    fault = Fault()
    real_write, real_fsync = os.write, os.fsync
    state = {"writes": 0}

    def write(fd, data):
        if fault.injected == 0 and is_journal(fd):
            state["writes"] += 1
            if where == "write" or (where == "write-partial" and state["writes"] > 1):
                raise fault.error(code)
            if where == "write-partial":
                return real_write(fd, memoryview(data)[: max(1, len(data) // 2)])
        return real_write(fd, data)

    def fsync(fd):
        if fault.injected == 0 and where == "fsync" and is_journal(fd):
            raise fault.error(code)
        return real_fsync(fd)

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "fsync", fsync)
    return fault


def fail_checkpoint(monkeypatch, where: str, code: int) -> Fault:
    """Make the checkpoint (the rewrite of the TinyDB file) fail at ``where``: ``write``,
    ``fsync`` (of its temp file), ``dir-fsync`` (of the directory, after the rename)."""
    fault = Fault()
    real_write, real_fsync, real_replace = os.write, os.fsync, os.replace
    state = {"renamed_into": None}

    def write(fd, data):
        if fault.injected == 0 and where == "write" and METADATA_TMP.search(fd_path(fd)):
            raise fault.error(code)
        return real_write(fd, data)

    def fsync(fd):
        if fault.injected == 0:
            path = fd_path(fd)
            if where == "fsync" and METADATA_TMP.search(path):
                raise fault.error(code)
            if where == "dir-fsync" and path == state["renamed_into"]:
                raise fault.error(code)
        return real_fsync(fd)

    def replace(src, dst, *args, **kwargs):
        real_replace(src, dst, *args, **kwargs)
        if METADATA_TMP.search(os.fspath(src)):
            state["renamed_into"] = os.path.dirname(os.path.realpath(dst))

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return fault


def metadata_bytes(spec) -> bytes:
    """The TinyDB file and its journal, as they are on disk."""
    path = metadata_file(spec)
    journal = path.with_name(path.name + ".journal")
    return path.read_bytes() + b"\0" + (journal.read_bytes() if journal.exists() else b"")


def do(store, op):
    if op == "publish":
        store.upload(DATA, name="new", version="1", tag="a")
    elif op == "upload_many":
        store.upload_many(
            [{"source": DATA, "name": f"batch{i}", "version": "1", "tag": "a"} for i in range(3)]
        )
    elif op == "register":
        store.register(
            {
                "asset_name": "ext",
                "asset_version": {"version": "1", "tag": "a"},
                "asset_public_url": "https://example.com/ext",
            }
        )
    elif op == "update":
        store.update("old:1-a", {"asset_tags": ["changed"]})
    elif op == "delete":
        store.delete("old:1-a")
    else:
        raise ValueError(op)


def happened(store, op):
    """Whether ``op``'s effect is visible (and then whole)."""
    try:
        if op == "publish":
            return store.read_bytes("new:1-a") == DATA
        if op == "upload_many":
            found = [
                store.read_bytes(f"batch{i}:1-a") == DATA
                for i in range(3)
                if store.count({"asset_uri": f"batch{i}:1-a"})
            ]
            assert found in ([], [True] * 3), "a batch is all or nothing"
            return bool(found)
        if op == "register":
            return store.get("ext:1-a").asset_source == "external"
        if op == "update":
            return store.get("old:1-a").asset_tags == ["changed"]
        return store.get("old:1-a") is None
    except AssetNotFoundError:
        return op == "delete"


def prepare(spec, mongo_client=None):
    with open_spec(spec, mongo_client=mongo_client) as store:
        store.upload(b"old bytes", name="old", version="1", tag="a", tags=["t"])
    return metadata_bytes(spec) if metadata_file(spec) is not None else None


def no_leftovers(store, spec):
    """Nothing was left behind, even before gc."""
    report = store.fsck()
    assert report.ok and report.orphans == [], report
    path = metadata_file(spec)
    if path is not None:
        assert list(path.parent.glob(f".{path.name}.*.tmp")) == []
    if spec["kind"] == "local":
        assert list((Path(spec["root"]) / ".tmp").iterdir()) == []


OPS = ["publish", "upload_many", "register", "update", "delete"]
BEFORE_COMMIT = [("write", errno.ENOSPC), ("write-partial", errno.ENOSPC), ("fsync", errno.EIO)]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize(
    ("where", "code"), BEFORE_COMMIT, ids=[f"{w}-{errno.errorcode[c]}" for w, c in BEFORE_COMMIT]
)
def test_metadata_write_fails_before_the_commit(local_spec, monkeypatch, op, where, code):
    before = prepare(local_spec)
    with open_spec(local_spec) as store:
        fault = fail_journal(monkeypatch, where, code)
        with pytest.raises(OSError, match="injected") as raised:
            do(store, op)
        monkeypatch.undo()
        assert fault.injected == 1
        assert raised.value.errno == code
        assert metadata_bytes(local_spec) == before
        assert not happened(store, op)
        no_leftovers(store, local_spec)
        verify_sound(store, local_spec)


CHECKPOINT_FAULTS = [("write", errno.ENOSPC), ("fsync", errno.EIO), ("dir-fsync", errno.EIO)]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize(
    ("where", "code"),
    CHECKPOINT_FAULTS,
    ids=[f"{w}-{errno.errorcode[c]}" for w, c in CHECKPOINT_FAULTS],
)
def test_checkpoint_fails_after_the_commit(local_spec, monkeypatch, op, where, code):
    """The journal holds the change durably before the checkpoint starts: a failing
    checkpoint does not fail the call, the change is there, and the next checkpoint (here
    on close) folds it into the TinyDB file. (Before the fix of Store.publish, an error
    after the commit deleted the blob the committed metadata referred to.)"""
    prepare(local_spec)
    monkeypatch.setenv("ASSETSTORE_CHECKPOINT_BYTES", "0")  # a checkpoint after every write
    with open_spec(local_spec) as store:
        fault = fail_checkpoint(monkeypatch, where, code)
        do(store, op)
        monkeypatch.undo()
        assert fault.injected == 1
        assert happened(store, op)
        assert store.fsck().ok  # no metadata without its file
    with open_spec(local_spec) as store:
        assert happened(store, op)
        verify_sound(store, local_spec)
    path = metadata_file(local_spec)
    assert path.with_name(path.name + ".journal").read_bytes().count(b"\n") == 1  # folded


def test_failed_checkpoint_leaks_no_file_descriptor(local_spec, monkeypatch):
    prepare(local_spec)
    process = psutil.Process()
    monkeypatch.setenv("ASSETSTORE_CHECKPOINT_BYTES", "0")
    with open_spec(local_spec) as store:
        store.count()  # the metadata file is open in the read cache
        before = process.num_fds()
        for attempt in range(5):
            fail_checkpoint(monkeypatch, "dir-fsync", errno.EIO)
            store.update("old:1-a", {"asset_metadata": {"attempt": attempt}})
            monkeypatch.undo()
            monkeypatch.setenv("ASSETSTORE_CHECKPOINT_BYTES", "0")
            store.count()
        assert process.num_fds() == before


# ------------------------------------------------------------------------ blob writes
class FullDisk(io.FileIO):
    """A blob temp file on a disk that fills up after 100 000 bytes."""

    fault: Fault
    room = 100_000

    def write(self, data):
        if self.room <= 0:
            raise self.fault.error(errno.ENOSPC)
        data = memoryview(data)[: self.room]
        self.room -= len(data)
        return super().write(data)


def fail_blob(monkeypatch, where):
    fault = Fault()
    if where == "write":
        FullDisk.fault = fault

        def full_disk_open(path, mode="r", buffering=-1, *args, **kwargs):
            if "/.tmp/" in os.fspath(path) and "x" in mode:
                return FullDisk(path, mode.replace("b", ""))
            return open(path, mode, buffering, *args, **kwargs)

        monkeypatch.setattr(fsspec_blobs, "open", full_disk_open, raising=False)
    else:
        real_fsync = os.fsync

        def fsync(fd):
            if "/.tmp/" in fd_path(fd):
                raise fault.error(errno.EIO)
            return real_fsync(fd)

        monkeypatch.setattr(os, "fsync", fsync)
    return fault


BLOB_CASES = [("publish", "write"), ("upload_many", "write"), ("publish", "fsync")]


@pytest.mark.parametrize(("op", "where"), BLOB_CASES, ids=[f"{o}-{w}" for o, w in BLOB_CASES])
def test_blob_write_fails(local_spec, monkeypatch, op, where):
    """A full disk while the file is written, or an I/O error on its fsync (upload_many does
    not fsync each file: see the syncfs test)."""
    before = prepare(local_spec)
    with open_spec(local_spec) as store:
        fault = fail_blob(monkeypatch, where)
        with pytest.raises(OSError, match="injected") as raised:
            do(store, op)
        monkeypatch.undo()
        assert fault.injected >= 1
        assert raised.value.errno == (errno.ENOSPC if where == "write" else errno.EIO)
        assert metadata_bytes(local_spec) == before
        assert not happened(store, op)
        no_leftovers(store, local_spec)
        verify_sound(store, local_spec)


class FailingSyncfs:
    """libc whose syncfs reports a failed writeback (Linux >= 5.8 reports them)."""

    calls = 0

    def syncfs(self, fd):
        self.calls += 1
        ctypes.set_errno(errno.EIO)
        return -1


def test_upload_many_syncfs_error_is_not_swallowed(local_spec, monkeypatch):
    """upload_many makes its files durable with one syncfs before its commit; a writeback
    error there must stop the commit (it used to fall back to sync(), which reports
    nothing)."""
    before = prepare(local_spec)
    libc = FailingSyncfs()
    monkeypatch.setattr(_fileio, "_LIBC", libc)
    with open_spec(local_spec) as store:
        with pytest.raises(OSError, match="syncfs") as raised:
            do(store, "upload_many")
        monkeypatch.undo()
        assert libc.calls == 1 and raised.value.errno == errno.EIO
        assert metadata_bytes(local_spec) == before
        assert not happened(store, "upload_many")
        no_leftovers(store, local_spec)


# ------------------------------------------------------------- the kernel, unpatched
@pytest.mark.parametrize("op", ["publish-large", "register-large-metadata"])
def test_file_size_limit_reached_partway(zygote, tmp_path, local_spec, op):
    """RLIMIT_FSIZE in a child process: a real, partial write failing with EFBIG."""
    before = prepare(local_spec)
    limit = 256 << 10
    code, out, err = zygote.run(["fsize", json.dumps(local_spec), op, str(limit)], tmp_path)
    assert code == 0, err
    assert out.split() == ["OSError", str(errno.EFBIG)]
    assert metadata_bytes(local_spec) == before
    with open_spec(local_spec) as store:
        assert store.count() == 1
        no_leftovers(store, local_spec)
        verify_sound(store, local_spec)


# ------------------------------------------------------------------ S3 + TinyDB, MongoDB
def test_s3_tinydb_metadata_disk_full(s3_tinydb_spec, monkeypatch):
    """The S3 object is removed again; no multipart upload is left pending."""
    before = prepare(s3_tinydb_spec)
    with open_spec(s3_tinydb_spec) as store:
        fault = fail_journal(monkeypatch, "write-partial", errno.ENOSPC)
        with pytest.raises(OSError, match="injected") as raised:
            do(store, "publish")
        monkeypatch.undo()
        assert fault.injected == 1 and raised.value.errno == errno.ENOSPC
        assert metadata_bytes(s3_tinydb_spec) == before
        assert not happened(store, "publish")
        no_leftovers(store, s3_tinydb_spec)
        verify_sound(store, s3_tinydb_spec)


MONGO_CASES = [
    ("publish", "insert_one"),
    ("register", "insert_one"),
    ("upload_many", "insert_many"),
    ("update", "replace_one"),
    ("delete", "delete_one"),
]


@pytest.mark.parametrize(("op", "method"), MONGO_CASES, ids=[op for op, _ in MONGO_CASES])
@pytest.mark.parametrize("applied", [False, True], ids=["lost-request", "lost-reply"])
def test_mongo_connection_lost(s3_mongo_spec, monkeypatch, op, method, applied):
    """The connection drops before the server applied the write (nothing happened) or after
    (the write happened, the reply was lost): ``BackendUnavailableError`` either way, and
    the store is consistent either way."""
    spec, client = s3_mongo_spec
    prepare(spec, client)
    with open_spec(spec, mongo_client=client) as store:
        # Not the store's last asset: MongoDB cannot tell a collection emptied by deletes
        # from a lost one, so with no record left, the file a lost reply leaves behind
        # would make gc refuse (see test_damage.py); that case is not this test's.
        store.upload(b"bystander", name="bystander", version="1", tag="a")
        collection = type(store._documents._collection)
        real = getattr(collection, method)
        fault = Fault()

        def dropped(self, *args, **kwargs):
            if applied:
                real(self, *args, **kwargs)
            fault.injected += 1
            raise pymongo.errors.AutoReconnect("connection lost (injected)")

        monkeypatch.setattr(collection, method, dropped)
        with pytest.raises(BackendUnavailableError):
            do(store, op)
        monkeypatch.undo()
        assert fault.injected == 1
        assert happened(store, op) == applied
        report = store.fsck()
        assert report.ok, report  # never metadata without its file
        verify_sound(store, spec)
        assert happened(store, op) == applied
