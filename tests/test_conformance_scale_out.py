"""The conformance suites on S3 (moto's HTTP server through s3fs) + MongoDB (each kind:
mongomock, and a real server over the wire, FerretDB or ASSETSTORE_TEST_MONGO_URL's; see
tests/conftest.py), and on the mixed combinations."""

import pytest

from assetstore import open_registry, open_store
from assetstore.testing import AssetStoreConformance, RegistryConformance


class TestS3MongoStore(AssetStoreConformance):
    @pytest.fixture
    def store(self, bucket_url, s3_options, mongo):
        client, url = mongo
        with open_store(bucket_url, metadata=url, mongo_client=client, **s3_options) as store:
            yield store


class TestS3TinyDBStore(AssetStoreConformance):
    @pytest.fixture
    def store(self, bucket_url, s3_options, tmp_path):
        with open_store(bucket_url, metadata=tmp_path / "metadata.json", **s3_options) as store:
            yield store


class TestLocalMongoStore(AssetStoreConformance):
    @pytest.fixture
    def store(self, tmp_path, mongo):
        client, url = mongo
        with open_store(tmp_path / "assets", metadata=url, mongo_client=client) as store:
            yield store


class TestMongoRegistry(RegistryConformance):
    @pytest.fixture
    def registry(self, mongo):
        client, url = mongo
        with open_registry(url, mongo_client=client) as registry:
            yield registry
