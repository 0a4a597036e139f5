"""The MongoDB backend on FerretDB gives MongoDB's answers (docs/MONGODB-COMPATIBILITY.md).

Each gap between FerretDB 1.24 and MongoDB has a test here or in test_query_backends.py,
run on every kind of MongoDB (mongomock, and the real server: FerretDB, or the MongoDB named
by ASSETSTORE_TEST_MONGO_URL). What a user relies on is the same everywhere, except values
FerretDB cannot store, which it refuses clearly instead of losing them.
"""

from __future__ import annotations

import math
import re
import threading
import uuid

import pytest
from bson.regex import Regex

from assetstore import InvalidInputError, InvalidQueryError, open_store
from assetstore.backends import _mongo_compat as mongo_compat
from assetstore.backends.mongo import open_mongo_documents


def documents(mongo, scope=None, **options):
    client, url = mongo
    return open_mongo_documents(
        url, collection="assets", key_field="asset_uri", scope=scope, client=client, **options
    )


# --------------------------------------------------------- which filters stay on the server
@pytest.mark.parametrize(
    "filter",
    [
        None,
        {},
        {"asset_name": "org/resnet"},
        {"asset_tags": {"$in": ["image"]}, "asset_version.version": {"$gte": "1.0"}},
        {"$or": [{"asset_tags": "a"}, {"asset_metadata.framework": {"$ne": "jax"}}]},
        {"asset_metadata": None, "asset_public_url": {"$exists": False}},
        {"asset_metadata.size": {"$exists": True}, "asset_tags": {"$size": 2}},
    ],
)
def test_usual_filters_are_sent_to_ferretdb(filter):
    assert mongo_compat.evaluate_locally(filter) is None


@pytest.mark.parametrize(
    ("filter", "why"),
    [
        ({"a.b": None}, "null on a dotted path"),
        ({"$or": [{"x": 1}, {"a.b": {"$in": ["y", None]}}]}, "null on a dotted path"),
        ({"a": {"$elemMatch": {"$gt": 1}}}, "$elemMatch"),
        ({"$and": [{"a": {"$all": [{"$elemMatch": {"b": 1}}]}}]}, "$elemMatch"),
        ({"a": {"$mod": [2, 0]}}, "$mod"),
        ({"a": {"$exists": 1}}, "$exists"),
        ({"a": {"$regex": "^x"}}, "regular expression"),
        ({"a": re.compile("^x")}, "regular expression"),
        ({"a": {"$nin": [Regex("^x", "i")]}}, "regular expression"),
        ({"a": {"$in": [1, math.nan]}}, "NaN"),
    ],
)
def test_filters_ferretdb_answers_differently_are_evaluated_here(filter, why):
    assert why in mongo_compat.evaluate_locally(filter)


def test_only_dotted_sorts_are_sorted_here():
    assert not mongo_compat.sort_locally([("created_at", -1), ("asset_name", 1)])
    assert mongo_compat.sort_locally([("asset_version.version", 1)])


@pytest.mark.parametrize(
    "doc",
    [
        {"m": [[1, 2]]},
        {"m": {"deep": [{"x": [1, [2]]}]}},
        {"m": math.nan},
        {"m": [1.0, -math.inf]},
    ],
)
def test_values_ferretdb_cannot_store_are_recognized(doc):
    with pytest.raises(InvalidInputError, match="FerretDB"):
        mongo_compat.check_storable(doc, "asset 'x'")


def test_arrays_inside_documents_inside_arrays_are_storable():
    mongo_compat.check_storable({"m": [{"b": [1, 2]}, {"b": 3}], "x": 1.5}, "asset 'x'")


# ------------------------------------------------------------------ over the wire, each kind
def test_ferretdb_is_recognized(mongo, mongo_kind):
    client, _ = mongo
    assert mongo_compat.is_ferretdb(client) == (mongo_kind == "ferretdb")


def test_values_ferretdb_cannot_store_are_refused_there_and_kept_elsewhere(mongo, mongo_kind):
    docs = documents(mongo)
    nested = {"asset_uri": "n:1-a", "revision": 1, "m": [[1, 2], [3]]}
    plain = {"asset_uri": "p:1-a", "revision": 1, "m": [1]}
    if mongo_kind != "ferretdb":  # MongoDB (and mongomock) store nested arrays
        docs.insert(nested)
        assert docs.get("n:1-a")["m"] == [[1, 2], [3]]
        return
    with pytest.raises(InvalidInputError, match="nested arrays"):
        docs.insert(nested)
    with pytest.raises(InvalidInputError, match="nested arrays"):
        docs.insert_many([plain, nested])
    assert docs.count() == 0  # all or nothing
    docs.insert(plain)
    with pytest.raises(InvalidInputError, match="NaN"):
        docs.replace("p:1-a", {**plain, "revision": 2, "m": math.nan}, expected_revision=1)
    assert docs.get("p:1-a") == plain


@pytest.mark.parametrize("rounds", [6])
def test_compare_and_swap_has_exactly_one_winner(mongo, rounds):
    """Eight threads replace (or delete) the same revision at once: one wins, the others
    see the revision gone. (FerretDB applies a write as a query then a write by _id; the
    backend serializes its own threads' writes there.)"""
    docs = documents(mongo, scope={"assets_db_id": "cas"})
    docs.insert({"asset_uri": "c:1-a", "revision": 1, "by": None})
    for revision in range(1, rounds + 1):
        barrier = threading.Barrier(8)
        won: list[int] = []

        def attempt(i, revision=revision, barrier=barrier, won=won):
            barrier.wait()
            new = {"asset_uri": "c:1-a", "revision": revision + 1, "by": i}
            if docs.replace("c:1-a", new, expected_revision=revision):
                won.append(i)

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(won) == 1, won
        assert docs.get("c:1-a")["by"] == won[0]
    deleted: list[bool] = []
    barrier = threading.Barrier(4)

    def delete():
        barrier.wait()
        deleted.append(docs.delete("c:1-a", expected_revision=rounds + 1))

    threads = [threading.Thread(target=delete) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(deleted) == [False, False, False, True]


def test_regex_objects_get_mongodbs_answer(mongo):
    docs = documents(mongo)
    for uri, name in [("1", "pear"), ("2", "Plum"), ("3", "apple"), ("4", "line\nPeach")]:
        docs.insert({"asset_uri": uri, "revision": 1, "name": name})
    cases = [
        ({"name": re.compile("^p", re.IGNORECASE)}, {"1", "2"}),
        ({"name": Regex("^p", "im")}, {"1", "2", "4"}),
        ({"name": {"$in": [re.compile("^ap"), "Plum"]}}, {"2", "3"}),
        ({"name": {"$not": re.compile("^p")}}, {"2", "3", "4"}),
        ({"name": {"$regex": "e$"}}, {"3"}),
    ]
    for filter, expected in cases:
        assert {d["asset_uri"] for d in docs.find(filter)} == expected, filter
        assert docs.count(filter) == len(expected), filter


def test_in_process_answers_keep_stores_apart_and_page(tmp_path, mongo):
    """Global mode through the in-process path: each store's query sees its own assets,
    ``all_stores`` sees both; sort, skip and limit apply after the filter."""
    client, url = mongo
    first = open_store(tmp_path / "first", metadata=url, mongo_client=client)
    second = open_store(tmp_path / "second", metadata=url, mongo_client=client)
    for store, layers in ((first, ["conv", "fc"]), (second, ["conv"])):
        for i in range(4):
            store.upload(
                f"{i}".encode(),
                name=f"m{i}",
                version="1",
                tag="a",
                metadata={"layers": [{"name": n} for n in layers], "score": {"v": i}},
            )
    where = {"asset_metadata.layers": {"$elemMatch": {"name": "fc"}}}
    assert first.count(where) == 4 and second.count(where) == 0
    page = first.query(where, sort=[("asset_metadata.score.v", -1)], skip=1, limit=2)
    assert [a.asset_name for a in page] == ["m2", "m1"]
    conv = {"asset_metadata.layers": {"$elemMatch": {"name": "conv"}}}
    everywhere = first.query(conv, all_stores=True)
    assert len(everywhere) == 8
    assert {a.assets_db_id for a in everywhere} == {first.assets_db_id, second.assets_db_id}


def test_the_server_enforces_the_time_limit(mongo_server_url, monkeypatch):
    """A real server stops a query past ASSETSTORE_MONGO_MAX_TIME_MS: InvalidQueryError.
    (Real servers only: mongomock ignores maxTimeMS.)"""
    import pymongo

    database = f"time_limit_{uuid.uuid4().hex[:8]}"
    client = pymongo.MongoClient(mongo_server_url, serverSelectionTimeoutMS=5000)
    try:
        docs = documents((client, mongo_server_url + database), max_time_ms=1)
        client[database]["assets"].insert_many(
            [{"asset_uri": f"{i}", "n": i, "pad": uuid.uuid4().hex} for i in range(20_000)]
        )
        with pytest.raises(InvalidQueryError, match="limit"):
            docs.find({"n": {"$lt": 0}, "pad": {"$ne": "x"}})
        with pytest.raises(InvalidQueryError, match="limit"):
            docs.count({"n": {"$lt": 0}, "pad": {"$ne": "x"}})
    finally:
        client.drop_database(database)
        client.close()
