"""The conformance suites on the in-process backends: memory and local (files + TinyDB)."""

import uuid

import pytest

from assetstore import open_registry, open_store
from assetstore.testing import AssetStoreConformance, RegistryConformance


class TestMemoryStore(AssetStoreConformance):
    @pytest.fixture
    def store(self):
        with open_store(f"memory://{uuid.uuid4().hex}") as store:
            yield store


class TestLocalStore(AssetStoreConformance):
    @pytest.fixture
    def store(self, tmp_path):
        with open_store(tmp_path / "assets") as store:
            yield store


class TestMemoryRegistry(RegistryConformance):
    @pytest.fixture
    def registry(self):
        return open_registry(f"memory://{uuid.uuid4().hex}")


class TestLocalRegistry(RegistryConformance):
    @pytest.fixture
    def registry(self, tmp_path):
        with open_registry(tmp_path) as registry:
            yield registry
