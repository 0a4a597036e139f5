"""null versus missing, through dotted paths and arrays.

Expected results are those of MongoDB's jstests/core/query/null_query_semantics.js (the
requires_fcv_80 version; 7.0 agrees on every case below, since the 8.0 change only concerns the
deprecated ``undefined`` type, which no Python value represents) and of the manual's "Query for
Null or Missing Fields" page.
"""

import re

import pytest

from assetstore.query import compile_filter


def matching_ids(docs, filter):
    predicate = compile_filter(filter)
    return sorted(d["_id"] for d in docs if predicate(d))


# The documents of null_query_semantics.js, minus the ones holding ``undefined``.
NO_ARRAYS = [
    {"_id": "a_empty_subobject", "a": {}},
    {"_id": "a_null", "a": None},
    {"_id": "a_number", "a": 4},
    {"_id": "a_subobject_b_not_null", "a": {"b": "hi"}},
    {"_id": "a_subobject_b_null", "a": {"b": None}},
    {"_id": "no_a"},
]
WITH_ARRAYS = [
    *NO_ARRAYS,
    {"_id": "a_double_array", "a": [[]]},
    {"_id": "a_empty_array", "a": []},
    {"_id": "a_object_array_no_b_nulls", "a": [{"b": 1}, {"b": 3}, {"b": "string"}]},
    {"_id": "a_object_array_some_b_nulls", "a": [{"b": None}, {"b": 3}, {"b": None}]},
    {"_id": "a_object_array_some_b_missing", "a": [{"b": 3}, {}]},
    {"_id": "a_value_array_all_nulls", "a": [None, None]},
    {"_id": "a_value_array_no_nulls", "a": [1, "string", 4]},
    {"_id": "a_value_array_with_null", "a": [1, "string", None, 4]},
]
ALL_IDS = {d["_id"] for d in WITH_ARRAYS}


def ids(filter):
    return matching_ids(WITH_ARRAYS, filter)


def complement(*excluded):
    return sorted(ALL_IDS - set(excluded))


def test_eq_null_without_arrays_matches_null_and_missing():
    assert matching_ids(NO_ARRAYS, {"a": {"$eq": None}}) == ["a_null", "no_a"]
    assert matching_ids(NO_ARRAYS, {"a": None}) == ["a_null", "no_a"]


def test_eq_null_matches_arrays_holding_null():
    expected = ["a_null", "a_value_array_all_nulls", "a_value_array_with_null", "no_a"]
    assert ids({"a": {"$eq": None}}) == expected


def test_ne_null_is_the_complement_of_eq_null():
    expected = complement("a_null", "a_value_array_all_nulls", "a_value_array_with_null", "no_a")
    assert ids({"a": {"$ne": None}}) == expected


def test_not_gte_null_equals_ne_null():
    # testBasicNotEqualsGTENullQuery: $gte null behaves as $eq null (null and missing).
    assert ids({"a": {"$not": {"$gte": None}}}) == ids({"a": {"$ne": None}})


@pytest.mark.parametrize("operator", ["$gt", "$lt"])
def test_strict_comparison_with_null_matches_nothing(operator):
    # ComparisonMatchExpression: only EQ/LTE/GTE treat null and missing alike.
    assert ids({"a": {operator: None}}) == []


def test_in_with_null_matches_missing_too():
    expected = ["a_null", "a_value_array_all_nulls", "a_value_array_with_null", "no_a"]
    assert ids({"a": {"$in": [None, 75]}}) == expected
    assert ids({"$or": [{"a": None}, {"a": 75}]}) == expected
    assert matching_ids(NO_ARRAYS, {"a": {"$in": [None, 4]}}) == ["a_null", "a_number", "no_a"]


def test_nin_null_and_empty_array():
    # testNotInNullAndEmptyArrayQuery
    expected = complement(
        "a_null", "no_a", "a_double_array", "a_empty_array",
        "a_value_array_all_nulls", "a_value_array_with_null",
    )  # fmt: skip
    assert ids({"a": {"$nin": [None, []]}}) == expected


def test_nin_null_and_regex():
    # testNotInNullAndRegexQuery: "string" elements match /^str.*/.
    expected = complement(
        "a_null", "no_a", "a_value_array_all_nulls", "a_value_array_no_nulls",
        "a_value_array_with_null",
    )  # fmt: skip
    assert ids({"a": {"$nin": [None, re.compile("^str.*")]}}) == expected


def test_exists_false():
    assert matching_ids(NO_ARRAYS, {"a": {"$exists": False}}) == ["no_a"]


def test_dotted_eq_null_without_arrays():
    expected = ["a_empty_subobject", "a_null", "a_number", "a_subobject_b_null", "no_a"]
    assert matching_ids(NO_ARRAYS, {"a.b": {"$eq": None}}) == expected
    assert matching_ids(NO_ARRAYS, {"a.b": {"$ne": None}}) == ["a_subobject_b_not_null"]


def test_dotted_eq_null_with_arrays():
    # A scalar "a" has no "a.b" (matches); an array contributes its documents only, so an
    # array of scalars, an empty array or an array of arrays does not match {"a.b": null}.
    expected = sorted(
        [
            "a_empty_subobject", "a_null", "a_number", "a_subobject_b_null", "no_a",
            "a_object_array_some_b_nulls", "a_object_array_some_b_missing",
        ]
    )  # fmt: skip
    assert ids({"a.b": {"$eq": None}}) == expected
    assert ids({"a.b": None}) == expected
    assert ids({"a.b": {"$in": [None, 75]}}) == expected
    assert ids({"$or": [{"a.b": None}, {"a.b": 75}]}) == expected


def test_dotted_ne_null_with_arrays():
    expected = sorted(
        [
            "a_subobject_b_not_null", "a_double_array", "a_empty_array",
            "a_object_array_no_b_nulls", "a_value_array_all_nulls", "a_value_array_no_nulls",
            "a_value_array_with_null",
        ]
    )  # fmt: skip
    assert ids({"a.b": {"$ne": None}}) == expected
    assert ids({"a.b": {"$nin": [None, 75]}}) == expected


def test_dotted_exists_false():
    expected = sorted(
        [
            "no_a", "a_empty_subobject", "a_null", "a_number", "a_double_array",
            "a_empty_array", "a_value_array_all_nulls", "a_value_array_no_nulls",
            "a_value_array_with_null",
        ]
    )  # fmt: skip
    assert ids({"a.b": {"$exists": False}}) == expected


@pytest.mark.parametrize(
    "filter",
    [
        {"a": {"$elemMatch": {"$eq": None}}},
        {"a": {"$elemMatch": {"$ne": None}}},
        {"a.b": {"$elemMatch": {"$eq": None}}},
        {"a.b": {"$elemMatch": {"$ne": None}}},
        {"a": {"$elemMatch": {"b": {"$eq": None}}}},
        {"a": {"$elemMatch": {"b": {"$ne": None}}}},
    ],
)
def test_elem_match_needs_an_array(filter):
    # testElemMatchQueriesWithNoArrays
    assert matching_ids(NO_ARRAYS, filter) == []


def test_elem_match_value_with_null():
    # testElemMatchValue
    assert ids({"a": {"$elemMatch": {"$eq": None}}}) == [
        "a_value_array_all_nulls",
        "a_value_array_with_null",
    ]
    expected = sorted(
        [
            "a_double_array", "a_object_array_no_b_nulls", "a_object_array_some_b_nulls",
            "a_object_array_some_b_missing", "a_value_array_no_nulls", "a_value_array_with_null",
        ]
    )  # fmt: skip
    assert ids({"a": {"$elemMatch": {"$ne": None}}}) == expected


def test_null_through_arrays_of_documents():
    # The manual's examples of the brief: {"a.b": null} and a document missing "b".
    assert ids({"a.b": None}).count("a_object_array_some_b_missing") == 1
    assert matching_ids([{"_id": 1, "a": [{"b": 1}, {"c": 2}]}], {"a.b": None}) == [1]
    assert matching_ids([{"_id": 1, "a": [1, 2]}], {"a.b": None}) == []
    assert matching_ids([{"_id": 1, "a": []}], {"a.b": None}) == []
