"""The behaviour every :class:`~assetstore.ports.BlobStore` and
:class:`~assetstore.ports.DocumentStore` must show, so a backend can be checked on its own
before the core's publish protocol runs on it.

As in zarr's ``StoreTests``, the implementer supplies a way around the store under test
(``raw_get``/``raw_set`` straight into the storage), so a write is checked by reading the
storage itself, and a read by writing the storage itself::

    class TestMyBlobs(BlobStoreConformance):
        @pytest.fixture
        def blob_store(self, tmp_path):
            return MyBlobStore(tmp_path)

        def raw_get(self, store, key):
            path = tmp_path / key  # however the bytes are reached without the store
            return path.read_bytes() if path.exists() else None

        def raw_set(self, store, key, data): ...
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from assetstore.errors import AlreadyExistsError, InvalidQueryError
from assetstore.ports import BlobStore, DocumentStore


class BlobStoreConformance:
    """Subclass with a ``blob_store`` fixture (a new, empty store) and the two bypasses."""

    def raw_get(self, store: BlobStore, key: str) -> bytes | None:
        """The bytes stored under ``key``, read without the store (None if absent)."""
        raise NotImplementedError

    def raw_set(self, store: BlobStore, key: str, data: bytes) -> None:
        """Put ``data`` under ``key`` without the store."""
        raise NotImplementedError

    def test_write_stores_the_concatenated_chunks(self, blob_store: BlobStore) -> None:
        size = blob_store.write("objects/ab/one", [b"he", b"llo", b"", b" world"])
        assert size == 11
        assert self.raw_get(blob_store, "objects/ab/one") == b"hello world"

    def test_an_empty_blob_exists(self, blob_store: BlobStore) -> None:
        assert blob_store.write("objects/ab/empty", []) == 0
        assert blob_store.size("objects/ab/empty") == 0
        assert self.raw_get(blob_store, "objects/ab/empty") == b""

    def test_reads_see_what_the_storage_holds(self, blob_store: BlobStore) -> None:
        self.raw_set(blob_store, "objects/cd/two", b"0123456789")
        assert blob_store.size("objects/cd/two") == 10
        with blob_store.open("objects/cd/two") as reader:
            assert reader.read() == b"0123456789"
        with blob_store.open("objects/cd/two", 2, 5) as reader:
            assert reader.read() == b"234"
        with blob_store.open("objects/cd/two", 7) as reader:
            assert reader.read() == b"789"

    def test_missing_blobs(self, blob_store: BlobStore) -> None:
        assert blob_store.size("objects/zz/missing") is None
        with pytest.raises(FileNotFoundError):
            blob_store.open("objects/zz/missing").read()
        blob_store.delete("objects/zz/missing")  # not an error

    def test_overwrite_false_keeps_the_first_blob(self, blob_store: BlobStore) -> None:
        blob_store.write("objects/ef/x", [b"first"], overwrite=False)
        with pytest.raises(AlreadyExistsError):
            blob_store.write("objects/ef/x", [b"second"], overwrite=False)
        assert self.raw_get(blob_store, "objects/ef/x") == b"first"

    def test_overwrite_replaces(self, blob_store: BlobStore) -> None:
        blob_store.write("objects/ef/y", [b"first"])
        blob_store.write("objects/ef/y", [b"second"])
        assert self.raw_get(blob_store, "objects/ef/y") == b"second"

    def test_a_failed_write_leaves_nothing(self, blob_store: BlobStore) -> None:
        def chunks() -> Iterator[bytes]:
            yield b"partial " * 1000
            raise RuntimeError("the source broke")

        with pytest.raises(RuntimeError):
            blob_store.write("objects/fa/broken", chunks())
        assert self.raw_get(blob_store, "objects/fa/broken") is None
        assert blob_store.size("objects/fa/broken") is None
        assert [b.key for b in blob_store.list_blobs("objects/")] == []

    def test_delete(self, blob_store: BlobStore) -> None:
        blob_store.write("objects/de/gone", [b"x"])
        blob_store.delete("objects/de/gone")
        assert self.raw_get(blob_store, "objects/de/gone") is None
        assert blob_store.size("objects/de/gone") is None

    def test_list_blobs_by_prefix(self, blob_store: BlobStore) -> None:
        before = time.time() - 5
        blob_store.write("objects/aa/one", [b"1"])
        blob_store.write("objects/bb/two", [b"22"])
        blob_store.write("store.json", [b"{}"])
        listed = {b.key: b for b in blob_store.list_blobs("objects/")}
        assert set(listed) == {"objects/aa/one", "objects/bb/two"}
        assert listed["objects/bb/two"].size == 2
        assert listed["objects/aa/one"].modified >= before
        assert [b.key for b in blob_store.list_blobs("objects/cc/")] == []

    def test_unsynced_writes_become_durable_with_sync_all(self, blob_store: BlobStore) -> None:
        blob_store.write("objects/sy/a", [b"a"], sync=False)
        blob_store.sync_all()
        assert self.raw_get(blob_store, "objects/sy/a") == b"a"

    def test_remove_incomplete_keeps_complete_blobs(self, blob_store: BlobStore) -> None:
        blob_store.write("objects/ri/kept", [b"kept"])
        blob_store.remove_incomplete(0)
        assert self.raw_get(blob_store, "objects/ri/kept") == b"kept"

    def test_public_url_names_the_key(self, blob_store: BlobStore) -> None:
        assert blob_store.public_url("objects/aa/one").endswith("/objects/aa/one")


class DocumentStoreConformance:
    """Subclass with a ``document_store`` fixture: a new, empty store whose ``key_field`` is
    ``"asset_uri"``, and the two bypasses."""

    def raw_get(self, store: DocumentStore, key: str) -> dict[str, Any] | None:
        """The stored document with this key, read without the store (None if absent)."""
        raise NotImplementedError

    def raw_put(self, store: DocumentStore, doc: dict[str, Any]) -> None:
        """Add ``doc`` to the storage without the store."""
        raise NotImplementedError

    @staticmethod
    def doc(key: str, revision: int = 1, **fields: Any) -> dict[str, Any]:
        return {"asset_uri": key, "revision": revision, "asset_id": f"id-{key}", **fields}

    def test_insert_writes_the_storage(self, document_store: DocumentStore) -> None:
        document_store.insert(self.doc("a:1-x", asset_tags=["t"]))
        stored = self.raw_get(document_store, "a:1-x")
        assert stored is not None
        assert stored["asset_tags"] == ["t"]
        assert stored["revision"] == 1

    def test_reads_see_the_storage(self, document_store: DocumentStore) -> None:
        self.raw_put(document_store, self.doc("b:1-x", n=5))
        assert document_store.get("b:1-x")["n"] == 5  # type: ignore[index]
        assert document_store.find_one("asset_id", "id-b:1-x")["n"] == 5  # type: ignore[index]
        assert [d["asset_uri"] for d in document_store.find({"n": {"$gte": 5}})] == ["b:1-x"]
        assert document_store.count({"n": 5}) == 1

    def test_a_taken_key_is_refused(self, document_store: DocumentStore) -> None:
        document_store.insert(self.doc("a:1-x", n=1))
        with pytest.raises(AlreadyExistsError):
            document_store.insert(self.doc("a:1-x", n=2))
        assert self.raw_get(document_store, "a:1-x")["n"] == 1  # type: ignore[index]

    def test_insert_many_is_all_or_nothing(self, document_store: DocumentStore) -> None:
        document_store.insert(self.doc("taken:1-x"))
        with pytest.raises(AlreadyExistsError):
            document_store.insert_many([self.doc("new:1-x"), self.doc("taken:1-x")])
        with pytest.raises(AlreadyExistsError):
            document_store.insert_many([self.doc("twice:1-x"), self.doc("twice:1-x")])
        assert self.raw_get(document_store, "new:1-x") is None
        assert self.raw_get(document_store, "twice:1-x") is None
        document_store.insert_many([self.doc("c:1-x"), self.doc("d:1-x")])
        assert document_store.count() == 3

    def test_documents_returned_belong_to_the_caller(self, document_store: DocumentStore) -> None:
        document_store.insert(self.doc("a:1-x", meta={"k": [1]}))
        got = document_store.get("a:1-x")
        assert got is not None
        got["meta"]["k"].append(2)
        assert document_store.get("a:1-x")["meta"] == {"k": [1]}  # type: ignore[index]

    def test_find_sorts_skips_and_limits(self, document_store: DocumentStore) -> None:
        document_store.insert_many([self.doc(f"n:{i}-x", n=i) for i in (3, 1, 2, 5, 4)])
        found = document_store.find({"n": {"$gt": 1}}, sort=[("n", -1)], skip=1, limit=2)
        assert [d["n"] for d in found] == [4, 3]
        assert document_store.count({"n": {"$gt": 1}}) == 4
        with pytest.raises(InvalidQueryError):
            document_store.find({"n": {"$nope": 1}})

    def test_replace_is_a_compare_and_swap(self, document_store: DocumentStore) -> None:
        document_store.insert(self.doc("a:1-x", n=1))
        assert document_store.replace("a:1-x", self.doc("a:1-x", 2, n=2), expected_revision=1)
        assert not document_store.replace("a:1-x", self.doc("a:1-x", 3, n=3), expected_revision=1)
        assert self.raw_get(document_store, "a:1-x")["n"] == 2  # type: ignore[index]
        assert not document_store.replace("new:1-x", self.doc("new:1-x"), expected_revision=1)
        assert self.raw_get(document_store, "new:1-x") is None  # never inserts

    def test_delete(self, document_store: DocumentStore) -> None:
        document_store.insert(self.doc("a:1-x", 3))
        assert not document_store.delete("a:1-x", expected_revision=2)
        assert self.raw_get(document_store, "a:1-x") is not None
        assert document_store.delete("a:1-x", expected_revision=3)
        assert self.raw_get(document_store, "a:1-x") is None
        assert not document_store.delete("a:1-x")


__all__ = ["BlobStoreConformance", "DocumentStoreConformance"]
