"""Shared fixtures: a real S3 endpoint (moto's HTTP server on 127.0.0.1) and MongoDB
(mongomock, or the real server named by ASSETSTORE_TEST_MONGO_URL)."""

import os
import uuid

import pytest

REAL_MONGO_URL = os.environ.get("ASSETSTORE_TEST_MONGO_URL")
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


@pytest.fixture
def mongo():
    """(client, URL of a fresh database): a real server if configured, else mongomock."""
    database = f"assetstore_test_{uuid.uuid4().hex[:12]}"
    if REAL_MONGO_URL:
        import pymongo

        client = pymongo.MongoClient(REAL_MONGO_URL, serverSelectionTimeoutMS=5000)
        base = REAL_MONGO_URL.split("?", 1)[0].rstrip("/")
        if base.count("/") > 2:
            base = base.rsplit("/", 1)[0]
        yield client, f"{base}/{database}"
        client.drop_database(database)
        client.close()
    else:
        import mongomock

        yield mongomock.MongoClient(), f"mongodb://mongomock.invalid/{database}"
