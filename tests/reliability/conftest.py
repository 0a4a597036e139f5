"""Fixtures of the reliability suite: store specs that a test and its child processes open
the same way (see crashkit.py), on the local store and on S3 (moto's HTTP server from the
parent conftest) with TinyDB or MongoDB metadata."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # crashkit, whatever pytest's import mode


@pytest.fixture(scope="session")
def zygote():
    """Forks the child processes (crashkit.Zygote): imports paid once, not per child."""
    from crashkit import Zygote

    zygote = Zygote()
    yield zygote
    zygote.close()


@pytest.fixture
def small_parts(s3_endpoint, monkeypatch):
    """Let moto accept 64 KiB multipart parts (real S3 wants 5 MiB), so tests get many
    parts from small files. moto's server runs in this process: the patch reaches it."""
    import moto.s3.models

    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 1024)


@pytest.fixture
def local_spec(tmp_path):
    return {"kind": "local", "root": str(tmp_path / "assets")}


@pytest.fixture
def s3_tinydb_spec(s3_endpoint, bucket_url, tmp_path, small_parts):
    return {
        "kind": "s3",
        "bucket_url": bucket_url,
        "endpoint": s3_endpoint,
        "metadata": str(tmp_path / "metadata.json"),
    }


@pytest.fixture
def s3_mongo_spec(s3_endpoint, bucket_url, mongo, small_parts):
    """(spec, client) on each kind of MongoDB (``mongo``): mongomock's client works in this
    process only; on a real server (FerretDB, ASSETSTORE_TEST_MONGO_URL's) child processes
    reach it through the spec's URL."""
    client, url = mongo
    return {
        "kind": "s3",
        "bucket_url": bucket_url,
        "endpoint": s3_endpoint,
        "metadata": url,
    }, client
