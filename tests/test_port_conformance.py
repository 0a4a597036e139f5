"""Each blob and document backend on its own against the port suites, reading and writing
its storage directly to check it (see assetstore.testing.ports_suite)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import tinydb

from assetstore import open_store
from assetstore.backends.fsspec_blobs import FsspecBlobStore, LocalBlobStore
from assetstore.backends.memory import MemoryDocumentStore
from assetstore.backends.mongo import open_mongo_documents
from assetstore.backends.tinydb_documents import TinyDBDocumentStore
from assetstore.testing import BlobStoreConformance, DocumentStoreConformance


class TestLocalBlobs(BlobStoreConformance):
    @pytest.fixture
    def blob_store(self, tmp_path):
        return LocalBlobStore(tmp_path / "blobs")

    def raw_get(self, store, key):
        path = Path(store.root) / key
        return path.read_bytes() if path.is_file() else None

    def raw_set(self, store, key, data):
        path = Path(store.root) / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


class TestMemoryBlobs(BlobStoreConformance):
    @pytest.fixture
    def blob_store(self):
        return FsspecBlobStore(f"memory://ports-{uuid.uuid4().hex}")

    def raw_get(self, store, key):
        path = f"{store.root}/{key}"
        return store.fs.cat_file(path) if store.fs.isfile(path) else None

    def raw_set(self, store, key, data):
        store.fs.pipe_file(f"{store.root}/{key}", data)


class TestS3Blobs(BlobStoreConformance):
    @pytest.fixture
    def blob_store(self, s3_options, bucket_url):
        from assetstore.backends.s3 import S3BlobStore

        store = S3BlobStore(bucket_url, **s3_options)
        yield store
        store.close()

    def raw_get(self, store, key):
        path = f"{store.root}/{key}"
        store.fs.invalidate_cache()
        return store.fs.cat_file(path) if store.fs.isfile(path) else None

    def raw_set(self, store, key, data):
        store.fs.pipe_file(f"{store.root}/{key}", data)
        store.fs.invalidate_cache()


class TestMemoryDocuments(DocumentStoreConformance):
    @pytest.fixture
    def document_store(self):
        return MemoryDocumentStore("asset_uri")

    def raw_get(self, store, key):
        return store._snapshot.get(key)

    def raw_put(self, store, doc):
        store._snapshot = store._snapshot.with_changes(puts=[doc])


class TestTinyDBDocuments(DocumentStoreConformance):
    """The bypass is stock TinyDB: what it reads is the file, after a checkpoint."""

    @pytest.fixture
    def document_store(self, tmp_path):
        store = TinyDBDocumentStore(
            tmp_path / "metadata.json", table="assets", key_field="asset_uri"
        )
        yield store
        store.close()

    def raw_get(self, store, key):
        store.checkpoint()
        with tinydb.TinyDB(store.path) as db:
            found = db.table("assets").search(tinydb.Query().asset_uri == key)
        return dict(found[0]) if found else None

    def raw_put(self, store, doc):
        store.checkpoint()
        with tinydb.TinyDB(store.path) as db:
            db.table("assets").insert(doc)


class TestMongoDocuments(DocumentStoreConformance):
    @pytest.fixture
    def document_store(self, mongo):
        client, url = mongo
        return open_mongo_documents(url, collection="assets", key_field="asset_uri", client=client)

    def raw_get(self, store, key):
        return store._collection.find_one({"asset_uri": key}, {"_id": False})

    def raw_put(self, store, doc):
        store._collection.insert_one(dict(doc))


def test_the_loss_guard_passes_on_every_method_of_the_port(tmp_path):
    """The store wraps its document store in a ``LossGuard``: a port method the guard does
    not define itself would run the port's default instead of the backend's (as
    ``create_index`` once did: every declared index was silently dropped)."""
    import inspect

    from assetstore._loss_guard import LossGuard
    from assetstore.ports import DocumentStore

    port_methods = {
        name
        for name, member in inspect.getmembers(DocumentStore, inspect.isfunction)
        if not name.startswith("_")
    }
    missing = sorted(name for name in port_methods if name not in vars(LossGuard))
    assert missing == []
    with open_store(tmp_path / "store") as store:
        store.create_index("asset_metadata.dataset")
    with open_store(tmp_path / "store") as store:
        assert "asset_metadata.dataset" in store._documents.indexes()
