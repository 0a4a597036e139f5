"""$expr: a safe subset of aggregation expressions with MongoDB 7.0's semantics.

Expected answers follow MongoDB's documented behaviour of each operator (aggregation
semantics, not find's: a missing field is not null there, and compares below it)."""

import math

import pytest

from assetstore import InvalidQueryError, open_store
from assetstore.query import compile_filter

DOCS = [
    {"_k": 0, "acc": 0.91, "base": 0.85, "tags": ["a", "b"], "n": 4, "m": {"x": 2}},
    {"_k": 1, "acc": 0.80, "base": 0.85, "tags": [], "n": -7, "m": {"x": None}},
    {"_k": 2, "acc": 0.85, "base": 0.85, "n": 0, "m": [{"x": 1}, {"x": 3}]},
    {"_k": 3, "acc": None, "base": 0.5, "tags": ["c"], "n": 2.5},
    {"_k": 4, "base": 0.5, "n": "4"},
]


def matching(expr, docs=DOCS):
    predicate = compile_filter({"$expr": expr})
    return [doc["_k"] for doc in docs if predicate(doc)]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ({"$gt": ["$acc", "$base"]}, [0]),
        ({"$gte": ["$acc", "$base"]}, [0, 2]),
        ({"$eq": ["$acc", "$base"]}, [2]),
        ({"$ne": ["$acc", "$base"]}, [0, 1, 3, 4]),
        # missing sorts below null: a missing acc is less than anything, null included
        ({"$lt": ["$acc", None]}, [4]),
        ({"$eq": ["$acc", None]}, [3]),
        ({"$eq": ["$nothing", "$nothing_either"]}, [0, 1, 2, 3, 4]),
        # type order: numbers < strings; "4" < "a" as strings
        ({"$lt": ["$n", "a"]}, [0, 1, 2, 3, 4]),
        ({"$lt": ["$n", ""]}, [0, 1, 2, 3]),
        ({"$eq": [{"$cmp": ["$n", 0]}, 1]}, [0, 3, 4]),  # a string is above any number
        ({"$and": ["$acc", {"$gt": ["$n", 0]}]}, [0]),
        ({"$or": [{"$eq": ["$n", 0]}, {"$eq": ["$_k", 4]}]}, [2, 4]),
        ({"$not": ["$n"]}, [2]),
        ({"$in": ["a", {"$ifNull": ["$tags", []]}]}, [0]),
        ({"$eq": [{"$size": {"$ifNull": ["$tags", []]}}, 0]}, [1, 2, 4]),
        ({"$eq": [{"$ifNull": ["$acc", "$base"]}, 0.5]}, [3, 4]),
        ({"$cond": [{"$gt": ["$n", 1]}, True, False]}, [0, 3, 4]),
        ({"$cond": {"if": "$acc", "then": False, "else": True}}, [3, 4]),
        ({"$eq": [{"$add": ["$nothing", 1]}, None]}, [0, 1, 2, 3, 4]),
        ({"$eq": ["$m.x", [1, 3]]}, [2]),  # a path through an array gives an array
        ({"$eq": ["$m.x", 2]}, [0]),
        ({"$eq": [{"$literal": "$n"}, "$n"]}, []),
        ({"$eq": ["$$ROOT.n", 4]}, [0]),
        ({"$eq": [{"k": "$n"}, {"k": 4}]}, [0]),
    ],
)
def test_expression_semantics(expr, expected):
    assert matching(expr) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ({"$eq": [{"$add": ["$n", 1]}, 5]}, [0]),
        ({"$eq": [{"$subtract": ["$n", 1]}, -8]}, [1]),
        ({"$eq": [{"$multiply": ["$n", 2, 0.5]}, 2.5]}, [3]),
        ({"$eq": [{"$divide": ["$n", 2]}, 2]}, [0]),
        ({"$eq": [{"$mod": ["$n", 3]}, -1]}, [1]),  # the dividend's sign
        ({"$eq": [{"$abs": "$n"}, 7]}, [1]),
    ],
)
def test_arithmetic(expr, expected):
    assert matching(expr, DOCS[:4]) == expected  # the fifth document's n is a string


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ({"$size": "$n"}, "\\$size must be an array"),
        ({"$divide": ["$n", 0]}, "divide by zero"),
        ({"$add": ["$n", "x"]}, "only supports numeric"),
        ({"$in": [1, "$n"]}, "\\$in needs an array"),
    ],
)
def test_an_expression_that_cannot_be_evaluated_fails_the_query(expr, message):
    predicate = compile_filter({"$expr": {"$eq": [expr, 1]}})
    with pytest.raises(InvalidQueryError, match=message):
        [predicate(doc) for doc in DOCS]


@pytest.mark.parametrize(
    "expr",
    [
        {"$function": {"body": "return 1", "args": [], "lang": "js"}},
        {"$accumulator": {}},
        {"$eq": ["$a"]},
        {"$regexMatch": {"input": "$a", "regex": "x"}},
        {"$eq": ["$$NOW", 1]},
        {"$eq": ["$a..b", 1]},
        {"$gt": ["$a", 1], "b": 2},
    ],
)
def test_refused_at_compile_time(expr):
    with pytest.raises(InvalidQueryError):
        compile_filter({"$expr": expr})


def test_large_integers_become_doubles_as_in_mongodb():
    predicate = compile_filter({"$expr": {"$gt": [{"$multiply": ["$v", "$v"]}, 1e30]}})
    assert predicate({"v": 2**62})
    assert not math.isnan(2.0**124)


def test_expr_in_every_store(tmp_path):
    """Stores evaluate $expr with these semantics (the in-process engine; MongoDB natively)."""
    with open_store(tmp_path) as store:
        for name, acc in (("good", 0.9), ("bad", 0.7)):
            store.register(
                {
                    "asset_name": name,
                    "asset_version": {"version": "1", "tag": "x"},
                    "asset_metadata": {"accuracy": acc, "baseline": 0.8},
                }
            )
        better = store.query(
            {"$expr": {"$gt": ["$asset_metadata.accuracy", "$asset_metadata.baseline"]}}
        )
        assert [a.asset_name for a in better] == ["good"]
