"""S3 + MongoDB specifics: global mode, multipart uploads, errors at the boundary, and the
original service's environment variables."""

import io
import os
import time

import pytest

from assetstore import BackendUnavailableError, InvalidInputError, open_registry, open_store
from assetstore.backends.mongo import MongoDocumentStore, open_mongo_documents
from assetstore.backends.s3 import S3BlobStore
from assetstore.errors import AlreadyExistsError


@pytest.fixture
def s3_store(bucket_url, s3_options, mongo):
    client, url = mongo
    with open_store(bucket_url, metadata=url, mongo_client=client, **s3_options) as store:
        yield store


# ------------------------------------------------------------------ global mode
def test_stores_sharing_a_database_stay_apart(s3_options, mongo):
    client, url = mongo
    first = open_store(
        "s3://bucket-global-a/assets", metadata=url, mongo_client=client, **s3_options
    )
    second = open_store(
        "s3://bucket-global-b/assets", metadata=url, mongo_client=client, **s3_options
    )
    assert first.assets_db_id != second.assets_db_id
    mine = first.upload(b"first's", name="shared-name", version="1", tag="a", tags=["t"])
    theirs = second.upload(b"second's", name="shared-name", version="1", tag="a", tags=["t"])
    assert mine.asset_uri == theirs.asset_uri  # the same URI, in two stores

    assert [a.assets_db_id for a in first.query({"asset_tags": "t"})] == [first.assets_db_id]
    assert first.read_bytes("shared-name:1-a") == b"first's"
    assert second.read_bytes("shared-name:1-a") == b"second's"
    with pytest.raises(LookupError):
        first.get_by_id(theirs.asset_id)

    first.update("shared-name:1-a", {"asset_tags": ["changed"]})
    assert second.get("shared-name:1-a").asset_tags == ["t"]
    first.delete("shared-name:1-a")
    assert second.read_bytes("shared-name:1-a") == b"second's"
    assert first.count() == 0 and second.count() == 1

    everywhere = first.query({"asset_name": "shared-name"}, all_stores=True)
    assert [a.assets_db_id for a in everywhere] == [second.assets_db_id]


def test_unique_index_is_per_store_and_created_idempotently(mongo):
    client, url = mongo
    one = open_mongo_documents(
        url,
        collection="assets",
        key_field="asset_uri",
        scope={"assets_db_id": "one"},
        client=client,
    )
    open_mongo_documents(
        url,
        collection="assets",
        key_field="asset_uri",
        scope={"assets_db_id": "one"},
        client=client,
    )  # again: no error
    doc = {"asset_uri": "m:1-a", "asset_id": "x", "revision": 1}
    one.insert(dict(doc))
    with pytest.raises(AlreadyExistsError):
        one.insert(dict(doc))
    indexes = client[url.rsplit("/", 1)[1]]["assets"].index_information()
    assert any(
        info.get("unique") and [k for k, _ in info["key"]] == ["assets_db_id", "asset_uri"]
        for info in indexes.values()
    )


def test_insert_many_is_all_or_nothing(mongo):
    client, url = mongo
    docs = open_mongo_documents(
        url, collection="assets", key_field="asset_uri", scope={"assets_db_id": "s"}, client=client
    )
    docs.insert({"asset_uri": "taken:1-a", "revision": 1})
    batch = [
        {"asset_uri": "new1:1-a", "revision": 1},
        {"asset_uri": "taken:1-a", "revision": 1},
        {"asset_uri": "new2:1-a", "revision": 1},
    ]
    with pytest.raises(AlreadyExistsError, match="taken"):
        docs.insert_many(batch)
    assert docs.count() == 1


# ------------------------------------------------------------------------- S3
def test_large_file_goes_up_in_parts_and_reads_back_in_ranges(s3_store):
    data = os.urandom(40 << 20)  # several 16 MiB parts
    asset = s3_store.upload(io.BytesIO(data), name="big", version="1", tag="a")
    assert asset.file_size == len(data)
    assert s3_store.read_bytes(asset.asset_uri) == data
    with s3_store.open(asset.asset_uri, start=(17 << 20) - 3, end=(17 << 20) + 5) as reader:
        assert reader.read() == data[(17 << 20) - 3 : (17 << 20) + 5]


def test_aborted_upload_leaves_no_object_and_no_pending_parts(s3_store):
    blobs: S3BlobStore = s3_store._blobs

    class Boom(Exception):
        pass

    class FailsHalfway(io.RawIOBase):
        sent = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            if self.sent > (20 << 20):
                raise Boom
            n = len(buffer)
            buffer[:n] = b"x" * n
            self.sent += n
            return n

    with pytest.raises(Boom):
        s3_store.upload(io.BufferedReader(FailsHalfway(), 1 << 20), name="x", version="1", tag="a")
    assert s3_store.count() == 0
    assert list(blobs.list_blobs("objects/")) == []
    pending = blobs.fs.call_s3("list_multipart_uploads", Bucket=blobs.bucket).get("Uploads", [])
    assert pending == []


def test_gc_aborts_abandoned_multipart_uploads(s3_store):
    blobs: S3BlobStore = s3_store._blobs
    file = blobs.fs.open(
        blobs._path("objects/ab/abandoned"), "wb", autocommit=False, block_size=5 << 20
    )
    file.write(b"y" * (6 << 20))  # the first part is sent; the writer then "crashes"
    file.flush()
    assert blobs.fs.call_s3("list_multipart_uploads", Bucket=blobs.bucket).get("Uploads")
    report = s3_store.gc(older_than=0)
    assert any("abandoned" in item for item in report.removed)
    assert not blobs.fs.call_s3("list_multipart_uploads", Bucket=blobs.bucket).get("Uploads")
    file.closed = True


def test_missing_bucket_is_a_clear_error(s3_endpoint, mongo):
    client, url = mongo
    with pytest.raises(BackendUnavailableError, match="create_bucket"):
        open_store(
            "s3://no-such-bucket/x",
            metadata=url,
            mongo_client=client,
            endpoint_url=s3_endpoint,
            key="testing",
            secret="testing",
        )


def test_s3_store_needs_metadata(s3_options):
    with pytest.raises(InvalidInputError, match="metadata"):
        open_store("s3://bucket-x/assets", **s3_options)


def test_unreachable_s3_endpoint(mongo):
    client, url = mongo
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError):
        open_store(
            "s3://bucket/x",
            metadata=url,
            mongo_client=client,
            endpoint_url="http://127.0.0.1:9",
            key="k",
            secret="s",
        )
    assert time.monotonic() - started < 60


# ---------------------------------------------------------------------- MongoDB
def test_unreachable_mongodb_is_a_clear_error():
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError, match="unreachable"):
        open_mongo_documents(
            "mongodb://127.0.0.1:9/db",
            collection="assets",
            key_field="asset_uri",
            server_selection_timeout_ms=300,
        )
    assert time.monotonic() - started < 10


def test_mongo_documents_are_returned_without_internal_ids(mongo):
    client, url = mongo
    docs: MongoDocumentStore = open_mongo_documents(
        url, collection="assets", key_field="asset_uri", client=client
    )
    docs.insert({"asset_uri": "m:1-a", "revision": 1})
    assert "_id" not in docs.get("m:1-a")
    assert all("_id" not in d for d in docs.find())


# ----------------------------------------------- the original service's environment
def test_environment_of_the_original_service(monkeypatch, s3_endpoint, mongo):
    client, url = mongo
    import assetstore.backends.mongo as mongo_backend

    monkeypatch.setattr(mongo_backend.pymongo, "MongoClient", lambda *a, **k: client)
    monkeypatch.delenv("ASSETSTORE_URL", raising=False)
    monkeypatch.setenv("S3_BUCKET_NAME", "bucket-from-env")
    monkeypatch.setenv("S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("MONGO_URL", url)
    monkeypatch.setenv("PUBLIC_URL", "https://assets.example.com")
    monkeypatch.setenv("ASSETSTORE_S3_CREATE_BUCKET", "1")
    with open_store() as store:
        asset = store.upload(b"from env", name="env", version="1", tag="a")
        assert store._blobs.url == "s3://bucket-from-env"
        assert asset.asset_public_url == f"https://assets.example.com/asset-object/{asset.asset_id}"
        assert store.read_bytes(asset.asset_uri) == b"from env"
    monkeypatch.delenv("ASSETSTORE_REGISTRY_URL", raising=False)
    with open_registry() as registry:
        entry = registry.register(
            {"asset_registry_name": "r", "asset_registry_public_url": "https://r.example.com"}
        )
    assert (
        client[url.rsplit("/", 1)[1]]["registries"].count_documents(
            {"asset_registry_id": entry.asset_registry_id}
        )
        == 1
    )


def test_a_query_past_the_server_time_limit_is_a_query_error(mongo, mongo_kind, monkeypatch):
    """MongoDB evaluates $regex with a backtracking engine: queries carry maxTimeMS, and the
    server's ExecutionTimeout becomes InvalidQueryError (HTTP 400), not a hung request.
    (FerretDB gets no $regex: the backend reads the documents with find, under the same
    limit, and matches them in-process, so the count is a find there.)"""
    from pymongo.errors import ExecutionTimeout

    from assetstore import InvalidQueryError

    client, url = mongo
    docs = open_mongo_documents(url, collection="assets", key_field="asset_uri", client=client)
    sent = {}

    class TimingOut:
        def __init__(self, real):
            self.real = real

        def find(self, *args, max_time_ms=None, **kwargs):
            sent["find"] = max_time_ms
            raise ExecutionTimeout("operation exceeded time limit", 50)

        def count_documents(self, *args, maxTimeMS=None, **kwargs):
            sent["count"] = maxTimeMS
            raise ExecutionTimeout("operation exceeded time limit", 50)

    docs._collection = TimingOut(docs._collection)
    with pytest.raises(InvalidQueryError, match="limit"):
        docs.find({"asset_name": {"$regex": "(a+)+$"}})
    with pytest.raises(InvalidQueryError, match="limit"):
        docs.count({"asset_name": {"$regex": "(a+)+$"}})
    if mongo_kind == "ferretdb":
        assert sent == {"find": 10_000}
    else:
        assert sent == {"find": 10_000, "count": 10_000}
