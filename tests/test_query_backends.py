"""The same query cases on the TinyDB store (our engine) and on MongoDB (the server itself).

Expected results are MongoDB 7.0's documented answers. With mongomock standing in for the
server, the cases where mongomock itself deviates from MongoDB are listed in
MONGOMOCK_DEVIATIONS with the reason, and expected to fail there (strictly, so a fixed
mongomock shows up); with ASSETSTORE_TEST_MONGO_URL set every case must pass on both."""

import math
import os
import uuid

import pytest

from assetstore.backends.mongo import open_mongo_documents
from assetstore.backends.tinydb_documents import TinyDBDocumentStore

DOCS = {
    "scalar": {"a": 4},
    "null": {"a": None},
    "missing": {},
    "empty-array": {"a": []},
    "array": {"a": [1, 2, 3]},
    "nested-array": {"a": [[1, 2], [3]]},
    "docs": {"a": [{"b": 1}, {"c": 2}]},
    "doc": {"a": {"b": 1, "c": 2}},
    "doc-other-order": {"a": {"c": 2, "b": 1}},
    "string": {"a": "apple"},
    "bool": {"a": True},
    "float": {"a": 4.0},
    "nan": {"a": math.nan},
    "negative": {"a": -5},
    "strings": {"a": ["pear", "Plum"]},
}

CASES = [
    ({"a": 4}, {"scalar", "float"}),
    ({"a": 1}, {"array"}),
    ({"a": [1, 2, 3]}, {"array"}),
    ({"a": [1, 2]}, {"nested-array"}),
    ({"a": None}, {"null", "missing"}),
    ({"a": {"$ne": None}}, set(DOCS) - {"null", "missing"}),
    ({"a": {"$exists": False}}, {"missing"}),
    ({"a": {"$in": [None]}}, {"null", "missing"}),
    ({"a.b": 1}, {"docs", "doc", "doc-other-order"}),
    (
        {"a.b": None},
        set(DOCS)
        - {"docs", "doc", "doc-other-order", "empty-array", "array", "nested-array", "strings"}
        | {"docs"},
    ),
    ({"a": {"b": 1, "c": 2}}, {"doc"}),
    ({"a.0": 1}, {"array"}),
    ({"a.0": [1, 2]}, {"nested-array"}),
    ({"a": {"$gt": 3}}, {"scalar", "float"}),
    ({"a": {"$gte": "b"}}, {"strings"}),
    ({"a": {"$lt": "b"}}, {"string", "strings"}),
    ({"a": {"$ne": 1}}, set(DOCS) - {"array"}),
    ({"a": {"$nin": [1, "apple"]}}, set(DOCS) - {"array", "string"}),
    ({"a": {"$all": [1, 3]}}, {"array"}),
    ({"a": {"$size": 2}}, {"nested-array", "docs", "strings"}),
    ({"a": {"$size": 0}}, {"empty-array"}),
    ({"a": {"$elemMatch": {"$gt": 2}}}, {"array"}),
    ({"a": {"$elemMatch": {"b": 1}}}, {"docs"}),
    ({"a": {"$type": "array"}}, {"empty-array", "array", "nested-array", "docs", "strings"}),
    ({"a": {"$type": "bool"}}, {"bool"}),
    ({"a": {"$type": "number"}}, {"scalar", "float", "nan", "negative", "array"}),
    ({"a": {"$regex": "^p", "$options": "i"}}, {"strings"}),
    ({"a": {"$regex": "^a.*e$"}}, {"string"}),
    ({"a": {"$not": {"$gt": 3}}}, set(DOCS) - {"scalar", "float"}),
    ({"$or": [{"a": 4}, {"a": "apple"}]}, {"scalar", "float", "string"}),
    ({"$nor": [{"a": {"$exists": True}}]}, {"missing"}),
    ({"$and": [{"a": {"$gte": 1}}, {"a": {"$lte": 1}}]}, {"array"}),
    ({"a": {"$mod": [2, 0]}}, {"scalar", "float", "array"}),
    ({"a": {"$mod": [4, -1]}}, {"negative"}),
    ({"a": True}, {"bool"}),
    ({"a": math.nan}, {"nan"}),
    ({"a": {"$all": []}}, set()),
    ({"a": {"$gte": None}}, {"null", "missing"}),
]

MONGOMOCK_DEVIATIONS = {
    '{"a": 1}': "mongomock matches True against the number 1",
    '{"a": {"$ne": 1}}': "mongomock treats True as the number 1",
    '{"a": {"$nin": [1, "apple"]}}': "mongomock treats True as the number 1",
    '{"a": true}': "mongomock matches True against an array holding the number 1",
    '{"a.0": 1}': "mongomock descends into a nested array reached by a positional path",
    '{"a": {"$elemMatch": {"$gt": 2}}}': "mongomock's $elemMatch descends into nested arrays",
    '{"a": {"$size": 2}}': "mongomock's $size also counts a sub-document's fields",
    '{"a.b": null}': "mongomock does not match a missing subfield under a scalar or null",
    '{"a": {"$mod": [4, -1]}}': "mongomock does not implement $mod (unknown operator)",
    '{"a": {"$mod": [2, 0]}}': "mongomock does not implement $mod (unknown operator)",
    '{"a": {"$all": []}}': "mongomock matches $all: [] (MongoDB matches nothing)",
    '{"a": NaN}': "mongomock does not treat NaN as equal to NaN",
    '{"a": {"$gte": null}}': "mongomock's $gte: null does not match a missing field",
    '{"a": {"b": 1, "c": 2}}': "mongomock ignores field order in sub-document equality",
}


def using_mongomock():
    return not os.environ.get("ASSETSTORE_TEST_MONGO_URL")


def _label(filter):
    import json

    return json.dumps(filter, allow_nan=True)


def _load(store):
    for name, fields in DOCS.items():
        store.insert({"asset_uri": name, "revision": 1, **fields})
    return store


@pytest.fixture(scope="module")
def tinydb_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("tinydb") / "metadata.json"
    return _load(TinyDBDocumentStore(path, table="assets", key_field="asset_uri"))


@pytest.fixture(scope="module")
def mongo_store():
    if os.environ.get("ASSETSTORE_TEST_MONGO_URL"):
        import pymongo

        client = pymongo.MongoClient(os.environ["ASSETSTORE_TEST_MONGO_URL"])
    else:
        import mongomock

        client = mongomock.MongoClient()
    database = f"query_cases_{uuid.uuid4().hex[:8]}"
    store = open_mongo_documents(
        f"mongodb://localhost/{database}", collection="assets", key_field="asset_uri", client=client
    )
    yield _load(store)
    client.drop_database(database)


@pytest.mark.parametrize(("filter", "expected"), CASES, ids=[_label(f) for f, _ in CASES])
def test_tinydb_gives_mongodbs_answer(tinydb_store, filter, expected):
    assert {d["asset_uri"] for d in tinydb_store.find(filter)} == expected


@pytest.mark.parametrize(("filter", "expected"), CASES, ids=[_label(f) for f, _ in CASES])
def test_mongodb_gives_the_same_answer(mongo_store, filter, expected, request):
    reason = MONGOMOCK_DEVIATIONS.get(_label(filter))
    if reason and using_mongomock():
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    assert {d["asset_uri"] for d in mongo_store.find(filter)} == expected
