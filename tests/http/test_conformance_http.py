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
