"""A writer that crashes at any instant of publish, update or delete leaves a store where
every asset is whole or absent, the operation happened entirely or not at all (according to
whether the crash came after its commit point, the metadata write), the metadata parses,
and after ``gc(older_than=0)`` fsck is clean, nothing temporary is left, and the store
takes writes again.

A child process ``os._exit``s at the point, armed by monkeypatching in the child (see
``crashkit.py``):

* local store: while the upload's source is read; inside the blob write (before its
  fsync, after the link while the temp name still exists, after the directory fsync);
  inside the journal append that commits every change (half a record written, written but
  not fsynced, fsynced but not returned) of publish, update, delete, register and
  upload_many (a batch: all or none); inside the checkpoint that folds the journal into the
  TinyDB file (lock held before the temp file exists, temp file half written, written but
  not fsynced, before and after the rename, fully durable; run with a checkpoint after
  every write); between stage and publish; between a delete's metadata and its blob;
* S3 + TinyDB: every request of the multipart upload, single-part PUTs, the blob delete, and
  the metadata writes; the child talks to the test's moto server over HTTP;
* S3 + MongoDB: the same S3 points and before/after each MongoDB write. mongomock lives in
  the test process only, so there the crash is simulated in the process: a
  ``BaseException`` raised at the point, after which every S3 and MongoDB call of the
  process raises it too, so no cleanup handler can run. On a real server (FerretDB, or
  ``ASSETSTORE_TEST_MONGO_URL``'s) the child-process crash runs instead.
"""

from __future__ import annotations

import json
import os
import sys

import pytest
from crashkit import (
    DIED,
    Crash,
    Injector,
    check_outcome,
    committed,
    metadata_file,
    open_spec,
    prepare,
    run_op,
    verify_sound,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="points are found through /proc/self/fd"
)

REAL_MONGO = bool(os.environ.get("ASSETSTORE_TEST_MONGO_URL"))

JOURNAL_POINTS = ("journal:mid-append", "journal:before-fsync", "journal:after-fsync")
LOCAL_CASES = [
    *[
        ("publish", p)
        for p in (
            "blob:before-fsync",
            "blob:after-link",
            "blob:after-dir-fsync",
            "meta:before-temp-open",
            "meta:mid-temp-write",
            "meta:before-temp-fsync",
            "meta:before-replace",
            "meta:after-replace",
            "meta:after-dir-fsync",
            *JOURNAL_POINTS,
        )
    ],
    ("publish", "source:mid-stream"),
    ("delete", "blob:before-delete"),
    *[(op, p) for op in ("update", "delete", "register", "publish-batch") for p in JOURNAL_POINTS],
    ("stage-publish", "store:after-stage"),
    *[
        ("update", p)
        for p in (
            "meta:mid-temp-write",
            "meta:before-temp-fsync",
            "meta:after-replace",
            "meta:after-dir-fsync",
        )
    ],
    *[("delete", p) for p in ("meta:mid-temp-write", "meta:after-replace", "meta:after-dir-fsync")],
    *[("register", p) for p in ("meta:mid-temp-write", "meta:after-replace")],
    *[
        ("publish-batch", p)
        for p in ("blob:after-second-link", "meta:mid-temp-write", "meta:after-replace")
    ],
]

#: On S3 the points of a multipart upload (source dies mid-stream: parts sent, upload
#: pending; all parts sent, not completed; completed, no metadata yet), of a single PUT, of
#: stage + publish, and of the blob delete. (After create_multipart_upload and after the first
#: part leave the same state as mid-stream.)
S3_CASES = [
    ("publish", "s3:mid-stream"),
    ("publish", "s3:before-complete"),
    ("publish", "s3:after-complete"),
    ("publish-small", "s3:after-put"),
    ("stage-publish", "store:after-stage"),
    ("delete", "s3:before-delete"),
]
#: TinyDB's own points are covered on the local store; on S3 some of them, for the S3 side
#: of their outcome (an orphan object; a deleted asset's object left behind).
S3_TINYDB_CASES = [
    *S3_CASES,
    ("publish", "journal:mid-append"),
    ("delete", "journal:after-fsync"),
    ("publish", "meta:before-replace"),
    ("delete", "meta:after-replace"),
]
MONGO_CASES = [
    (op, f"mongo:{when}-{method}")
    for op, method in (
        ("publish", "insert"),
        ("register", "insert"),
        ("publish-batch", "insert_many"),
        ("update", "replace"),
        ("delete", "delete"),
    )
    for when in ("before", "after")
]
#: In-process (mongomock) the S3 points add nothing to the child-process runs on S3 + TinyDB:
#: only the MongoDB points, and the blob delete that follows the metadata delete.
S3_MONGO_CASES = MONGO_CASES + ([*S3_CASES] if REAL_MONGO else [("delete", "s3:before-delete")])


def crash_in_child(zygote, tmp_path, spec, op, point):
    if point.startswith("meta:"):
        spec = {**spec, "checkpoint_every_write": True}
    code, _, err = zygote.run(["crash", json.dumps(spec), op, point], tmp_path)
    assert code == DIED, err


def check_after_crash(spec, op, point, before, mongo_client=None):
    done = committed(op, point)
    path = metadata_file(spec)
    if path is not None:
        json.loads(path.read_bytes())
        if not done:
            assert path.read_bytes() == before, "metadata changed by a crash before its commit"
    with open_spec(spec, mongo_client=mongo_client) as store:
        check_outcome(store, op, done)
        verify_sound(store, spec)  # fsck after gc: gc took nothing still referenced


def prepared(spec, mongo_client=None):
    with open_spec(spec, mongo_client=mongo_client) as store:
        prepare(store)
    path = metadata_file(spec)
    return path.read_bytes() if path is not None else None


@pytest.mark.parametrize(("op", "point"), LOCAL_CASES, ids=[f"{o}@{p}" for o, p in LOCAL_CASES])
def test_local_store_crash(zygote, tmp_path, local_spec, op, point):
    before = prepared(local_spec)
    crash_in_child(zygote, tmp_path, local_spec, op, point)
    check_after_crash(local_spec, op, point, before)


@pytest.mark.parametrize(
    ("op", "point"), S3_TINYDB_CASES, ids=[f"{o}@{p}" for o, p in S3_TINYDB_CASES]
)
def test_s3_tinydb_crash(zygote, tmp_path, s3_tinydb_spec, op, point):
    before = prepared(s3_tinydb_spec)
    crash_in_child(zygote, tmp_path, s3_tinydb_spec, op, point)
    check_after_crash(s3_tinydb_spec, op, point, before)


@pytest.mark.parametrize(
    ("op", "point"), S3_MONGO_CASES, ids=[f"{o}@{p}" for o, p in S3_MONGO_CASES]
)
def test_s3_mongo_crash(zygote, tmp_path, s3_mongo_spec, mongo_kind, monkeypatch, op, point):
    """A child process with a real server; mongomock: the crash simulated in-process."""
    spec, client = s3_mongo_spec
    prepared(spec, client)
    if mongo_kind != "mongomock":
        crash_in_child(zygote, tmp_path, spec, op, point)
    else:
        injector = Injector("raise", monkeypatch.setattr)
        with open_spec(spec, mongo_client=client) as store:
            injector.install(point)
            with pytest.raises(Crash):
                run_op(store, op, point, injector)
            assert injector.fired
        monkeypatch.undo()
    check_after_crash(spec, op, point, None, mongo_client=client)


@pytest.mark.parametrize("point", ["blob:before-link", "blob:after-dir-fsync"])
def test_crash_while_creating_a_store(zygote, tmp_path, local_spec, point):
    """The first open writes the store's id (store.json) like a blob: a crash leaves it
    absent (the next open creates it) or whole (the next open keeps it)."""
    crash_in_child(zygote, tmp_path, local_spec, "open", point)
    with open_spec(local_spec) as store:
        first = store.assets_db_id
        verify_sound(store, local_spec)
    with open_spec(local_spec) as store:
        assert store.assets_db_id == first
