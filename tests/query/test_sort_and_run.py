"""compile_sort, run_query and bson_compare.

Sources: the manual's "Comparison/Sort Order" page (type order, arrays by min/max element, empty
array below null, missing as null, objects field by field, binData by length then subtype);
jstests/core/query/sort/sort_dotted_paths.js and sort_array.js (arrays, dotted paths, compound
keys over one array, the parallel-arrays error); the find command's skip/limit semantics.
"""

import datetime as dt
import math

import pytest
from bson import Binary, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp

from assetstore.errors import InvalidQueryError
from assetstore.query import bson_compare, compile_sort, run_query

# One value of each type class, in ascending BSON order.
ORDERED = [
    MinKey(),
    None,
    float("nan"),
    -math.inf,
    -1,
    0,
    Decimal128("0.5"),
    Int64(1),
    1.5,
    "",
    "A",
    "a",
    "é",
    {},
    {"a": 1},
    {"a": 1, "b": 0},
    {"b": 0},  # objects compare a field's type before its name: {"b": 0} < {"a": "x"}
    {"a": "x"},
    [],
    [0],
    [0, 1],
    [1],
    b"",
    Binary(b"z", 0),
    Binary(b"a", 5),
    b"ab",
    ObjectId("000000000000000000000000"),
    ObjectId("ffffffffffffffffffffffff"),
    False,
    True,
    dt.datetime(1960, 1, 1),
    dt.datetime(2026, 1, 1),
    Timestamp(1, 1),
    Timestamp(1, 2),
    Regex("a", ""),
    Regex("a", "i"),
    Regex("b", ""),
    MaxKey(),
]


def ids(docs, sort, **kwargs):
    return [d["_id"] for d in run_query(docs, None, sort, **kwargs)]


def test_bson_compare_follows_the_type_order():
    for i, low in enumerate(ORDERED):
        assert bson_compare(low, low) == 0, low
        for high in ORDERED[i + 1 :]:
            assert bson_compare(low, high) == -1, (low, high)
            assert bson_compare(high, low) == 1, (high, low)


def test_bson_compare_equalities():
    assert bson_compare(1, 1.0) == 0
    assert bson_compare(Int64(2), Decimal128("2.00")) == 0
    assert bson_compare(float("nan"), Decimal128("NaN")) == 0
    assert bson_compare(-0.0, 0) == 0
    assert bson_compare({"a": 1}, {"a": 1.0}) == 0
    assert bson_compare(dt.datetime(2020, 1, 1, 0, 0, 0, 999), dt.datetime(2020, 1, 1)) == 0
    assert bson_compare(True, 1) == 1
    assert bson_compare("10.0", "9.0") == -1


def test_sort_across_types():
    # Scalars and documents (arrays sort by an element, tested below) in shuffled order.
    docs = [{"_id": i, "v": v} for i, v in enumerate(ORDERED) if not isinstance(v, list)]
    shuffled = docs[1::2] + docs[::2]
    expected = [d["_id"] for d in docs]
    assert ids(shuffled, [("v", 1)]) == expected
    assert ids(shuffled, [("v", -1)]) == expected[::-1]
    # A missing field sorts as null: between MinKey and the numbers, tied with null.
    with_missing = [*shuffled, {"_id": "missing"}]
    ascending = ids(with_missing, [("v", 1)])
    assert ascending[0] == 0
    assert set(ascending[1:3]) == {1, "missing"}


def test_sort_missing_as_null_and_empty_array_below_null():
    # sort_dotted_paths.js, first block (documents with undefined left out).
    docs = [
        {"_id": 1, "a": 1},
        {"_id": 3, "a": None},
        {"_id": 4, "a": {}},
        {"_id": 5, "a": []},
        {"_id": 6, "a": [1]},
        {"_id": 7, "a": [[1]]},
        {"_id": 8},
    ]
    assert ids(docs, {"a": 1, "_id": 1}) == [5, 3, 8, 1, 6, 4, 7]
    assert ids(docs, {"a": -1, "_id": 1}) == [7, 4, 1, 6, 3, 8, 5]
    assert ids(docs, {"a.0": 1, "_id": 1}) == [1, 3, 4, 5, 8, 6, 7]
    assert ids(docs, {"a.0": -1, "_id": 1}) == [7, 6, 1, 3, 4, 5, 8]


def test_arrays_sort_by_min_ascending_and_max_descending():
    # sort_array.js and sort_dotted_paths.js.
    docs = [{"_id": 0, "a": [3, 0, 1]}, {"_id": 1, "a": [8, 4, -1]}]
    assert ids(docs, [("a", 1)]) == [1, 0]
    assert ids(docs, [("a", -1)]) == [1, 0]
    docs = [{"_id": 0, "a": [3, 0, 1]}, {"_id": 1, "a": [0, 4, -1]}]
    assert ids(docs, [("a", -1)]) == [1, 0]


def test_compound_sort_with_arrays():
    # sort_dotted_paths.js, "sort({a:1,b:1}) where a is an array for some documents".
    docs = [
        {"_id": 1, "a": 1, "b": [2]},
        {"_id": 2, "a": 2, "b": []},
        {"_id": 3, "a": [], "b": 4},
        {"_id": 4, "a": [1], "b": 4},
        {"_id": 5, "a": [2, 3], "b": 2},
        {"_id": 6, "a": 2, "b": [3, 5]},
        {"_id": 7, "a": 1, "b": [1, 3]},
        {"_id": 8, "a": [1, 2], "b": 3},
        {"_id": 9, "a": 2, "b": 3},
    ]
    assert ids(docs, {"a": 1, "b": 1, "_id": 1}) == [3, 7, 1, 8, 4, 2, 5, 6, 9]
    assert ids(docs, {"a": 1, "b": -1, "_id": 1}) == [3, 4, 7, 8, 1, 6, 9, 5, 2]
    assert ids(docs, {"a": -1, "b": 1, "_id": 1}) == [5, 2, 6, 8, 9, 7, 1, 4, 3]
    assert ids(docs, {"a": -1, "b": -1, "_id": 1}) == [5, 6, 8, 9, 2, 4, 7, 1, 3]


def test_parallel_arrays_cannot_be_sorted():
    docs = [{"_id": 1, "a": [], "b": 1}, {"_id": 2, "a": 1, "b": []}, {"_id": 3, "a": [], "b": []}]
    with pytest.raises(InvalidQueryError, match="parallel arrays"):
        run_query(docs, sort={"a": 1, "b": 1})
    # Filtering the offending document out first makes the sort legal.
    filter = {"$or": [{"a": {"$not": {"$type": "array"}}}, {"b": {"$not": {"$type": "array"}}}]}
    assert [d["_id"] for d in run_query(docs, filter, {"a": 1, "b": 1})] == [1, 2]
    with pytest.raises(InvalidQueryError, match="parallel arrays"):
        run_query([{"a": {"b": [1, 2], "c": [3, 4]}}], sort={"a.b": 1, "a.c": 1})


def test_dotted_sort_paths_through_arrays():
    # sort_dotted_paths.js, "a path of length 2".
    docs = [
        {"_id": 1, "a": {"b": 2}},
        {"_id": 2, "a": {"b": []}},
        {"_id": 3, "a": {"b": [2, 3]}},
        {"_id": 4, "a": {"c": 1}},
        {"_id": 5, "a": []},
        {"_id": 6, "a": [{"b": [5]}]},
        {"_id": 7, "a": [{"b": [4, 5]}, {"b": 7}]},
        {"_id": 8, "a": [{"b": [1, 3]}, {"b": [2, 5]}]},
        {"_id": 9, "a": [{"b": []}, {"b": [1, 3]}]},
    ]
    assert ids(docs, {"a.b": 1, "_id": 1}) == [2, 9, 4, 5, 8, 1, 3, 7, 6]
    assert ids(docs, {"a.b": 1, "_id": -1}) == [9, 2, 5, 4, 8, 3, 1, 7, 6]
    assert ids(docs, {"a.b": -1, "_id": 1}) == [7, 6, 8, 3, 9, 1, 4, 5, 2]


def test_compound_sort_pairs_values_of_one_array_element():
    # sort_dotted_paths.js, "two paths of length 2 with a common prefix".
    docs = [
        {"_id": 1, "a": [{"b": 4, "c": 1}, {"b": 1, "c": 2}]},
        {"_id": 2, "a": [{"b": 2, "c": 1}, {"b": 4, "c": 2}]},
        {"_id": 3, "a": [{"b": 6, "c": 1}, {"b": 9, "c": 2}]},
        {"_id": 4, "a": [{"b": 4, "c": 1}, {"b": 5, "c": 3}]},
        {"_id": 5, "a": [{"b": 2, "c": 1}, {"b": 7, "c": 3}]},
        {"_id": 6, "a": [{"b": 5, "c": 1}, {"b": 3, "c": 3}]},
        {"_id": 7, "a": [{"b": 7, "c": 2}, {"b": 2, "c": 3}]},
        {"_id": 8, "a": [{"b": 3, "c": 2}, {"b": 8, "c": 3}]},
        {"_id": 9, "a": [{"b": 8, "c": 2}, {"b": 6, "c": 3}]},
    ]
    assert ids(docs, {"a.c": 1, "a.b": 1, "_id": 1}) == [2, 5, 1, 4, 6, 3, 8, 7, 9]
    assert ids(docs, {"a.c": 1, "a.b": -1, "_id": 1}) == [3, 6, 1, 4, 2, 5, 9, 7, 8]
    assert ids(docs, {"a.c": -1, "a.b": -1, "_id": 1}) == [8, 5, 9, 4, 6, 7, 3, 2, 1]
    assert ids(docs, {"a.c": 1, "a": -1, "_id": 1}) == [3, 6, 1, 4, 2, 5, 9, 7, 8]


def test_three_part_sort_path():
    # sort_dotted_paths.js, "a path of length 3".
    docs = [
        {"_id": 1, "a": {"b": {"c": 2}}},
        {"_id": 2, "a": {"b": {"c": []}}},
        {"_id": 3, "a": [{"b": []}, {"b": {"c": []}}]},
        {"_id": 4, "a": [{"b": {"c": 1}}]},
        {"_id": 5, "a": {"b": [{"c": 3}, {"d": 1}]}},
        {"_id": 6, "a": {"b": [{"c": [5]}]}},
        {"_id": 7, "a": []},
        {"_id": 8, "a": {"b": [{"c": [1, 3]}, {"c": [2, 5]}]}},
        {"_id": 9, "a": [{"b": [{"c": []}, {"c": [1, 3]}]}]},
    ]
    assert ids(docs, {"a.b.c": 1, "_id": 1}) == [2, 3, 9, 5, 7, 4, 8, 1, 6]
    assert ids(docs, {"a.b.c": -1, "_id": -1}) == [8, 6, 9, 5, 1, 4, 7, 3, 2]


def test_sort_strings_by_code_point():
    docs = [{"_id": v, "v": v} for v in ["9.0", "10.0", "B", "a", "é"]]
    assert ids(docs, [("v", 1)]) == ["10.0", "9.0", "B", "a", "é"]


def test_sort_spec_forms_are_equivalent():
    docs = [{"_id": i, "x": i % 3, "y": -i} for i in range(9)]
    expected = ids(docs, [("x", 1), ("y", -1)])
    assert ids(docs, {"x": 1, "y": -1}) == expected
    assert ids(docs, [["x", 1], ["y", -1]]) == expected
    assert ids(docs, [("x", 1.0), ("y", -1.0)]) == expected
    assert compile_sort(None) is None
    assert compile_sort([]) is None
    assert compile_sort({}) is None


@pytest.mark.parametrize(
    "sort",
    [
        [("a", 2)],
        [("a", 0)],
        [("a", True)],
        [("a", "asc")],
        {"a": {"$meta": "textScore"}},
        [("", 1)],
        [("a..b", 1)],
        [(".a", 1)],
        [("$a", 1)],
        [("a", 1), ("a", -1)],
        [("a",)],
        "a",
        5,
        [5],
    ],
)
def test_bad_sort_specs(sort):
    with pytest.raises(InvalidQueryError):
        compile_sort(sort)


def test_skip_and_limit():
    docs = [{"_id": i, "n": i} for i in range(10)]
    assert ids(docs, [("n", -1)], skip=2, limit=3) == [7, 6, 5]
    assert ids(docs, None, skip=8) == [8, 9]
    assert ids(docs, None, limit=2) == [0, 1]
    assert ids(docs, None, limit=0) == list(range(10))
    assert ids(docs, None, limit=None) == list(range(10))
    assert ids(docs, [("n", 1)], skip=20, limit=5) == []
    assert ids(docs, [("n", 1)], limit=0) == list(range(10))
    assert [d["_id"] for d in run_query(docs, {"n": {"$gte": 5}}, [("n", -1)], 1, 2)] == [8, 7]


@pytest.mark.parametrize(("skip", "limit"), [(-1, None), (0, -1), (True, None), (0, 1.5), ("1", 0)])
def test_bad_skip_and_limit(skip, limit):
    with pytest.raises(InvalidQueryError):
        run_query([], skip=skip, limit=limit)


def test_run_query_filters_before_sorting_and_returns_the_documents():
    docs = [{"_id": 1, "t": ["a"]}, {"_id": 2, "t": ["b"]}, {"_id": 3, "t": ["a", "b"]}]
    found = run_query(docs, {"t": "a"}, [("_id", -1)])
    assert [d["_id"] for d in found] == [3, 1]
    assert found[0] is docs[2]
    assert run_query(iter(docs), {"t": "z"}) == []


def test_sort_is_stable_for_equal_keys():
    docs = [{"_id": i, "k": 1.0 if i % 2 else 1} for i in range(6)]
    assert ids(docs, [("k", 1)]) == list(range(6))
    assert ids(docs, [("k", -1)]) == list(range(6))
