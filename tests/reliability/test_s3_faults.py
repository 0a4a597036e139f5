"""S3 uploads interrupted or refused half-way: nothing becomes visible, and nothing stays
pending after ``gc`` (most of the time nothing stays pending at all: the upload is aborted
on the spot).

``tests/test_scale_out.py`` covers an ordinary exception from the source and gc of an
upload abandoned by a crashed writer. Here: ``KeyboardInterrupt`` from the source, and
while waiting for S3 (for the creation of the upload, for a part, for its completion);
errors from the server itself on a part, on the completion, on a single PUT, and on the
abort too. Server errors are injected into moto's server, which runs in the test process
and answers over HTTP (``InternalError``, which botocore retries, then gives up).

Also: a long-lived store (one that ran gc or fsck) reads blobs that another process wrote
after that (s3fs's listing cache used to hide them).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import moto.s3.models
import pytest
from crashkit import TEST_PART_SIZE, open_spec, payload, pending_uploads, verify_sound
from moto.s3.exceptions import S3ClientError

from assetstore import BackendUnavailableError, open_store
from assetstore.backends.s3 import _MultipartUpload

DATA = payload("s3-fault", 6 * TEST_PART_SIZE + 123)  # 7 parts of 64 KiB


@pytest.fixture
def store(s3_tinydb_spec):
    with open_spec(s3_tinydb_spec) as store:
        yield store


def nothing_visible(store):
    assert store.count() == 0
    assert list(store._blobs.list_blobs("objects/")) == []


class Interrupted:
    """A source that delivers ``parts`` parts, then raises KeyboardInterrupt (Ctrl-C)."""

    def __init__(self, parts):
        self.left = parts

    def read(self, n=-1):
        if self.left == 0:
            raise KeyboardInterrupt
        self.left -= 1
        return b"z" * TEST_PART_SIZE


@pytest.mark.parametrize("parts", [1, 2, 5])
def test_ctrl_c_in_the_source(store, parts):
    """One part: nothing sent yet (a one-part object is a single PUT); more: the multipart
    upload exists with parts in flight, and is aborted."""
    with pytest.raises(KeyboardInterrupt):
        store.upload(Interrupted(parts), name="x", version="1", tag="a")
    nothing_visible(store)
    assert pending_uploads(store) == []


def interrupt_while_waiting(monkeypatch, method):
    """Ctrl-C while this process waits for the answer to ``method`` (the server has done
    it): the wait raises KeyboardInterrupt, once."""
    real = _MultipartUpload._call
    fired: list[str] = []
    armed = [True]

    class InterruptedWait:
        def __init__(self, future):
            self.future = future

        def result(self, timeout=None):
            self.future.result(timeout)
            fired.append(method)
            raise KeyboardInterrupt

        def cancel(self):
            return self.future.cancel()

    def call(upload, name, **kwargs):
        future = real(upload, name, **kwargs)
        if name == method and armed[0]:
            armed[0] = False
            return InterruptedWait(future)
        return future

    monkeypatch.setattr(_MultipartUpload, "_call", call)
    return fired


@pytest.mark.parametrize(
    "method", ["create_multipart_upload", "upload_part", "complete_multipart_upload", "put_object"]
)
def test_ctrl_c_while_waiting_for_s3(store, s3_tinydb_spec, monkeypatch, method):
    """Interrupted before the upload's id is known, the upload cannot be aborted on the
    spot and stays pending; interrupted after the completion (or the PUT), the object
    exists without metadata. Either way nothing is visible, and gc removes the rest."""
    fired = interrupt_while_waiting(monkeypatch, method)
    data = DATA if method != "put_object" else b"small"
    with pytest.raises(KeyboardInterrupt):
        store.upload(data, name="x", version="1", tag="a")
    monkeypatch.undo()
    assert fired == [method]
    assert store.count() == 0
    leftovers = len(pending_uploads(store)) + len(store.fsck().orphans)
    assert leftovers == (
        1 if method in ("create_multipart_upload", "complete_multipart_upload", "put_object") else 0
    )
    verify_sound(store, s3_tinydb_spec)  # gc(older_than=0) removes it
    nothing_visible(store)


def server_fails(monkeypatch, *methods):
    """moto's server answers 500 InternalError to these S3 operations."""
    calls = []

    def failing(name):
        def fail(self, *args, **kwargs):
            calls.append(name)
            raise S3ClientError("InternalError", f"{name} failed (injected)")

        return fail

    for name in methods:
        monkeypatch.setattr(moto.s3.models.S3Backend, name, failing(name))
    return calls


@pytest.mark.parametrize("method", ["upload_part", "complete_multipart_upload", "put_object"])
def test_server_error_mid_upload(store, s3_tinydb_spec, monkeypatch, method):
    calls = server_fails(monkeypatch, method)
    data = DATA if method != "put_object" else b"small"
    with pytest.raises(BackendUnavailableError):
        store.upload(data, name="x", version="1", tag="a")
    monkeypatch.undo()
    assert method in calls
    nothing_visible(store)
    assert pending_uploads(store) == []  # aborted on the spot
    verify_sound(store, s3_tinydb_spec)


def test_server_error_on_the_part_and_on_the_abort(store, s3_tinydb_spec, monkeypatch):
    """The abort fails too: the upload stays pending, invisible, until gc aborts it."""
    calls = server_fails(monkeypatch, "upload_part", "abort_multipart_upload")
    with pytest.raises(BackendUnavailableError):
        store.upload(DATA, name="x", version="1", tag="a")
    monkeypatch.undo()
    assert "abort_multipart_upload" in calls
    nothing_visible(store)
    assert len(pending_uploads(store)) == 1
    assert any("multipart" in item for item in store.gc(older_than=0).removed)
    assert pending_uploads(store) == []
    verify_sound(store, s3_tinydb_spec)


def test_reader_sees_blobs_written_by_another_process_after_it_listed(s3_tinydb_spec, monkeypatch):
    """A store that ran fsck (a listing) then reads an asset another process published
    into an already-listed directory (same two-digit prefix): s3fs's listing cache used to
    answer FileNotFoundError. The writer has its own S3 client (like another process)."""
    with open_spec(s3_tinydb_spec) as reader:
        first = reader.upload(b"first", name="first", version="1", tag="a")
        assert reader.fsck().ok  # lists objects/<prefix>/
        writer = open_store(
            s3_tinydb_spec["bucket_url"],
            metadata=s3_tinydb_spec["metadata"],
            endpoint_url=s3_tinydb_spec["endpoint"],
            key="testing",
            secret="testing",
            region="us-east-1",
            skip_instance_cache=True,
        )
        assert writer._blobs.fs is not reader._blobs.fs
        same_prefix = uuid.UUID(first.asset_id[:2] + uuid.uuid4().hex[2:])
        monkeypatch.setattr(uuid, "uuid4", lambda: same_prefix)
        second = writer.upload(b"second", name="second", version="1", tag="a")
        monkeypatch.undo()
        assert second.asset_id[:2] == first.asset_id[:2]
        assert reader.read_bytes("second:1-a") == b"second"
        writer.close()


def test_gc_grace_period_keeps_a_multipart_upload_in_flight(store, monkeypatch):
    """gc's grace period protects another process's upload in progress. (moto reports
    every upload as initiated in 2010, so the listing's date is set here.)"""
    blobs = store._blobs
    started = blobs.fs.call_s3(
        "create_multipart_upload",
        Bucket=blobs.bucket,
        Key=blobs._path("objects/ab/in-flight").split("/", 1)[1],
    )
    real = type(blobs.fs).call_s3
    age = {"seconds": 60.0}

    def call_s3(fs, method, *args, **kwargs):
        answer = real(fs, method, *args, **kwargs)
        if method == "list_multipart_uploads":
            for upload in answer.get("Uploads", []):
                upload["Initiated"] = datetime.now(UTC) - timedelta(seconds=age["seconds"])
        return answer

    monkeypatch.setattr(type(blobs.fs), "call_s3", call_s3)
    assert store.gc().removed == []  # one minute old: kept
    assert len(pending_uploads(store)) == 1
    age["seconds"] = 7200.0
    assert store.gc().removed == ["multipart upload of " + started["Key"]]
    assert pending_uploads(store) == []
