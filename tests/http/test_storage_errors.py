"""A full disk, a read-only file system, refused access or damaged records behind the
service: a clear status (507, 503, 500 for damage) and a one-line message on every
endpoint, the same error class raised by the client, and no traceback in the server's
log (the smaller failure "disk full or read-only file system over HTTP" of issue 11)."""

from __future__ import annotations

import errno
import json
import logging
import os

import httpx
import pytest
from live_server import serve

from assetstore import (
    BackendUnavailableError,
    DamageError,
    InsufficientStorageError,
    open_store,
)
from assetstore.backends._journal import Journal
from assetstore.backends.fsspec_blobs import LocalBlobStore

CASES = [
    (errno.ENOSPC, 507, InsufficientStorageError),
    (errno.EDQUOT, 507, InsufficientStorageError),
    (errno.EROFS, 503, BackendUnavailableError),
    (errno.EACCES, 503, BackendUnavailableError),
]
IDS = [errno.errorcode[code] for code, _, _ in CASES]
META = {"asset_name": "m", "asset_version": {"version": "1", "tag": "a"}}


def refuse(code):
    def refused(*args, **kwargs):
        raise OSError(code, os.strerror(code), "/srv/assets/secret/path")

    return refused


def check_failure(response, status, error_class):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["error_type"] == error_class.__name__
    assert "\n" not in body["error"] and "/srv" not in body["error"]
    return body


def no_traceback_logged(caplog):
    assert [r for r in caplog.records if r.exc_info] == []


@pytest.mark.parametrize(("code", "status", "error_class"), CASES, ids=IDS)
def test_a_file_write_refused_by_the_disk(live, monkeypatch, caplog, code, status, error_class):
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(LocalBlobStore, "write", refuse(code))
    response = httpx.post(
        f"{live.url}/upload_asset",
        files={"asset": ("f.bin", b"bytes")},
        data={"asset_metadata": json.dumps(META)},
    )
    check_failure(response, status, error_class)
    with open_store(live.url) as client, pytest.raises(error_class) as raised:
        client.upload(b"bytes", name="m", version="1", tag="a")
    if error_class is InsufficientStorageError:
        assert isinstance(raised.value, OSError) and raised.value.errno == errno.ENOSPC
    no_traceback_logged(caplog)
    assert live.store.count() == 0


@pytest.mark.parametrize(("code", "status", "error_class"), CASES, ids=IDS)
def test_a_metadata_write_refused_by_the_disk(live, monkeypatch, caplog, code, status, error_class):
    caplog.set_level(logging.INFO)
    with open_store(live.url) as client:
        client.upload(b"bytes", name="m", version="1", tag="a")
        monkeypatch.setattr(Journal, "append", refuse(code))
        response = httpx.put(f"{live.url}/asset/m:1-a", json={"asset_tags": ["x"]})
        check_failure(response, status, error_class)
        with pytest.raises(error_class):
            client.register({**META, "asset_name": "ext", "asset_public_url": "https://e.com/x"})
        with pytest.raises(error_class):
            client.delete("m:1-a")
    no_traceback_logged(caplog)


def test_damaged_records_are_a_damage_error_for_the_client(tmp_path, caplog):
    root = tmp_path / "store"
    with open_store(root) as store:
        store.upload(b"bytes", name="m", version="1", tag="a")
    journal = root / "metadata.json.journal"
    data = json.loads((root / "metadata.json").read_bytes())
    data.pop("_integrity")
    next(iter(data["assets"].values()))["revision"] = "two"
    (root / "metadata.json").write_text(json.dumps(data))
    assert journal.exists()
    with open_store(root) as store, serve(store) as url, open_store(url) as client:
        response = httpx.get(f"{url}/asset/m:1-a")
        body = check_failure(response, 500, DamageError)
        assert "fsck" in body["error"]
        with pytest.raises(DamageError):
            client.get("m:1-a")
        with pytest.raises(DamageError):
            client.gc(older_than=0)
        report = client.fsck()
        assert not report.ok and "m:1-a" in report.damaged[0]
        assert client.gc(older_than=0, quarantine=True).removed == []  # never deletes
