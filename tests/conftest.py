"""Shared fixtures: a real S3 endpoint (moto's HTTP server on 127.0.0.1) and MongoDB.

MongoDB comes in two kinds, and every test using ``mongo`` (or ``mongo_kind``) runs on each:

* ``mongomock``: the in-process emulator, fast;
* a real server over the wire through pymongo: ``ferretdb`` (FerretDB, built from
  ``tests/servers/ferretdb`` with ``go build`` on first use and started once per session), or
  ``mongodb``, the server named by ``ASSETSTORE_TEST_MONGO_URL`` when that is set.

Without the ``go`` command (and without ``ASSETSTORE_TEST_MONGO_URL``) the real-server cases
are skipped with a reason saying how to enable them; with ``go``, a failing build or start is
an error of every such test, never a skip.
"""

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "servers"))  # ferretdb_server

REAL_MONGO_URL = os.environ.get("ASSETSTORE_TEST_MONGO_URL")
#: The kinds every MongoDB test runs on: the emulator, and the real server.
MONGO_KINDS = ("mongomock", "mongodb" if REAL_MONGO_URL else "ferretdb")
S3_CREDENTIALS = {"key": "testing", "secret": "testing", "region": "us-east-1"}


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server, reached over HTTP by s3fs exactly like a real S3 endpoint."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_options(s3_endpoint):
    """Keyword arguments of open_store for a fresh bucket on the test S3 server."""
    return {"endpoint_url": s3_endpoint, "create_bucket": True, **S3_CREDENTIALS}


@pytest.fixture
def bucket_url():
    return f"s3://bucket-{uuid.uuid4().hex[:12]}/assets"


@pytest.fixture(scope="session")
def mongo_server_url(request, tmp_path_factory) -> Iterator[str]:
    """URL (without a database) of the real server: ASSETSTORE_TEST_MONGO_URL's, or FerretDB's
    started for this session (skipped without the go command; an error if it fails)."""
    if REAL_MONGO_URL:
        base = REAL_MONGO_URL.split("?", 1)[0].rstrip("/")
        if base.count("/") > 2:
            base = base.rsplit("/", 1)[0]
        yield base + "/"
        return
    import ferretdb_server

    go = ferretdb_server.go_command()
    if go is None:
        pytest.skip(
            "the real-MongoDB cases need the FerretDB test server, built with Go: install "
            "Go 1.26+ (the go command on PATH), or set ASSETSTORE_TEST_MONGO_URL to a MongoDB"
        )
    capture = request.config.pluginmanager.getplugin("capturemanager")

    def say(message: str) -> None:
        with capture.global_and_fixture_disabled():
            print(f"\n[ferretdb] {message}", file=sys.stderr, flush=True)

    binary = ferretdb_server.build(go, say=say)
    server = ferretdb_server.start(binary, tmp_path_factory.mktemp("ferretdb"))
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def mongo_server_kind() -> str:
    """Which real server ``mongo_server_url`` is: "ferretdb" or "mongodb"."""
    return MONGO_KINDS[1]


@pytest.fixture(scope="module", params=MONGO_KINDS)
def mongo_kind(request) -> str:
    """Which MongoDB the module's tests run on: "mongomock", "ferretdb" or "mongodb"."""
    return request.param


@pytest.fixture(scope="module")
def mongo_client(request, mongo_kind):
    """A client of ``mongo_kind``: mongomock's, or pymongo's connected to the real server."""
    if mongo_kind == "mongomock":
        import mongomock

        yield mongomock.MongoClient()
        return
    import pymongo

    url = request.getfixturevalue("mongo_server_url")
    client = pymongo.MongoClient(REAL_MONGO_URL or url, serverSelectionTimeoutMS=5000)
    yield client
    client.close()


@pytest.fixture
def mongo(request, mongo_kind, mongo_client):
    """(client, URL of a fresh database) on ``mongo_kind``; the database is dropped after."""
    database = f"assetstore_test_{uuid.uuid4().hex[:12]}"
    if mongo_kind == "mongomock":
        yield mongo_client, f"mongodb://mongomock.invalid/{database}"
        return
    yield mongo_client, request.getfixturevalue("mongo_server_url") + database
    mongo_client.drop_database(database)
