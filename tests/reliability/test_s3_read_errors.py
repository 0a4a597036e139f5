"""The connection to S3 drops while a file is read, its size asked, or the bucket listed
(failure 5 of issue 11): the caller gets ``BackendUnavailableError``, never a botocore or
aiohttp exception; ``download`` leaves nothing behind; the CLI prints one line.

The drop is injected into s3fs's one door to botocore (``S3FileSystem._call_s3``): from the
chosen request on, every such request raises what botocore raises when the endpoint is
gone (``EndpointConnectionError``), or aiohttp's error for a connection cut mid-body.
"""

from __future__ import annotations

import json

import aiohttp
import pytest
import s3fs
from botocore.exceptions import EndpointConnectionError
from crashkit import S3_CREDENTIALS, TEST_PART_SIZE, open_spec, payload

from assetstore import BackendUnavailableError
from assetstore.cli import main

DATA = payload("s3-read", 5 * TEST_PART_SIZE + 7)  # six ranged GETs of 64 KiB
URI = "read:1-a"


@pytest.fixture
def store(s3_tinydb_spec):
    with open_spec(s3_tinydb_spec) as store:
        store.upload(DATA, name="read", version="1", tag="a", filename="read.bin")
        yield store


def drop_connection(monkeypatch, method, *, after=0, error=None):
    """From the ``after + 1``-th ``method`` request on, S3 is unreachable."""
    real = s3fs.S3FileSystem._call_s3
    seen = [0]

    async def call(self, name, *args, **kwargs):
        if name == method:
            seen[0] += 1
            if seen[0] > after:
                raise error or EndpointConnectionError(endpoint_url="http://127.0.0.1:9/gone")
        return await real(self, name, *args, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_call_s3", call)
    return seen


def read_in_parts(store):
    with store.open(URI) as reader:
        while reader.read(TEST_PART_SIZE):
            pass


@pytest.mark.parametrize("after", [0, 2], ids=["first-get", "mid-stream"])
def test_open_and_read(store, monkeypatch, after):
    seen = drop_connection(monkeypatch, "get_object", after=after)
    with pytest.raises(BackendUnavailableError, match="cannot reach S3"):
        read_in_parts(store)
    assert seen[0] > after


def test_ranged_read(store, monkeypatch):
    drop_connection(monkeypatch, "get_object")
    with pytest.raises(BackendUnavailableError), store.open(URI, start=10, end=20) as reader:
        reader.read()


def test_read_bytes_with_a_connection_cut_mid_body(store, monkeypatch):
    drop_connection(
        monkeypatch,
        "get_object",
        error=aiohttp.ClientPayloadError("Response payload is not completed (injected)"),
    )
    with pytest.raises(BackendUnavailableError):
        store.read_bytes(URI)


def test_download_leaves_nothing(store, monkeypatch, tmp_path):
    drop_connection(monkeypatch, "get_object")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(BackendUnavailableError):
        store.download(URI, out)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("method", ["head_object", "get_object", "list_objects_v2"])
def test_fsck(store, monkeypatch, method):
    drop_connection(monkeypatch, method)
    with pytest.raises(BackendUnavailableError):
        store.fsck()


def test_gc_listing(store, monkeypatch):
    drop_connection(monkeypatch, "list_objects_v2")
    with pytest.raises(BackendUnavailableError):
        store.gc(older_than=0)


def test_cli_get_prints_one_line(s3_tinydb_spec, store, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("S3_ENDPOINT_URL", s3_tinydb_spec["endpoint"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_CREDENTIALS["key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_CREDENTIALS["secret"])
    monkeypatch.setenv("AWS_REGION", S3_CREDENTIALS["region"])
    argv = ["--store", s3_tinydb_spec["bucket_url"], "--metadata", s3_tinydb_spec["metadata"]]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        drop_connection(patch, "get_object")
        code = main([*argv, "get", URI, "-o", str(out_dir)])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "cannot reach S3" in err and "Traceback" not in err
    assert list(out_dir.iterdir()) == []
    code = main([*argv, "info", URI])
    assert code == 0 and json.loads(capsys.readouterr().out)["asset_uri"] == URI
