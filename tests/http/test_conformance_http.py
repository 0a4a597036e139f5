"""The conformance suites through the HTTP client, against a live server backed by the local
store (files + TinyDB). Writes carry the token, so every write path is also an auth path.

One server per module; each test swaps a fresh backing store into ``app.state`` (the
``live`` fixture of conftest) and opens a new client: as isolated as a server per test, and
much faster. To run the suites on another backing store, serve it with ``conftest.serve``
(or swap it into ``live.app.state``) and open the client on the URL."""

import pytest
from live_server import TOKEN

from assetstore import open_registry, open_store
from assetstore.http.client import HttpAssetStore, HttpRegistry
from assetstore.testing import AssetStoreConformance, RegistryConformance


class TestHttpStore(AssetStoreConformance):
    # upload_many / register_many are the ABC's defaults: one request per item, stopping at
    # the first error (no batch endpoint), so a failed batch may leave its first items.
    atomic_batches = False

    @pytest.fixture
    def store(self, live):
        live.set_settings(token=TOKEN)
        with open_store(live.url, token=TOKEN) as client:
            assert isinstance(client, HttpAssetStore)
            yield client


class TestHttpRegistry(RegistryConformance):
    @pytest.fixture
    def registry(self, live):
        live.set_settings(token=TOKEN)
        with open_registry(live.url, token=TOKEN) as client:
            assert isinstance(client, HttpRegistry)
            yield client


@pytest.fixture
def live_scale_out(live, bucket_url, s3_options, mongo):
    """The module's server, swapped onto S3 (moto over HTTP) + MongoDB for this test."""
    client, url = mongo
    with (
        open_store(bucket_url, metadata=url, mongo_client=client, **s3_options) as store,
        open_registry(url, mongo_client=client) as registry,
    ):
        live.app.state.store, live.app.state.registry = store, registry
        live.set_settings(token=TOKEN)
        yield live


class TestHttpStoreOnS3Mongo(AssetStoreConformance):
    atomic_batches = False

    @pytest.fixture
    def store(self, live_scale_out):
        with open_store(live_scale_out.url, token=TOKEN) as client:
            yield client


class TestHttpRegistryOnMongo(RegistryConformance):
    @pytest.fixture
    def registry(self, live_scale_out):
        with open_registry(live_scale_out.url, token=TOKEN) as client:
            yield client


def test_global_mode_through_http(live, s3_options, mongo):
    """Two stores share one database; the served one answers all_stores queries for both."""
    client, url = mongo
    with (
        open_store(
            "s3://bucket-served/a", metadata=url, mongo_client=client, **s3_options
        ) as served,
        open_store("s3://bucket-other/b", metadata=url, mongo_client=client, **s3_options) as other,
    ):
        served.upload(b"1", name="m", version="1", tag="a")
        other.upload(b"2", name="m", version="2", tag="a")
        live.app.state.store = served
        with open_store(live.url) as remote:
            assert [a.version for a in remote.query({"asset_name": "m"})] == ["1"]
            assert remote.count({"asset_name": "m"}, all_stores=True) == 2
            everywhere = remote.query(
                {"asset_name": "m"}, sort=[("asset_version.version", 1)], all_stores=True
            )
            assert [a.assets_db_id for a in everywhere] == [served.assets_db_id, other.assets_db_id]
