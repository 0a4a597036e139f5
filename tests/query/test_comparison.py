"""Comparison operators, type bracketing, $in/$nin/$ne and BSON value semantics.

Sources: the manual's "Comparison/Sort Order" and "Type Bracketing" pages, the $eq, $gt, $in,
$nin and $ne pages, and ComparisonMatchExpression::matchesSingleElement in MongoDB's
src/mongo/db/matcher/expression_leaf.cpp (null/missing, MinKey/MaxKey and NaN special cases).
"""

import datetime as dt
import decimal
import enum
import math
import re

import pytest
from bson import Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex

from assetstore.errors import InvalidQueryError
from assetstore.query import bson_compare, compile_filter


def matches(filter, doc):
    return compile_filter(filter)(doc)


def test_numbers_compare_across_int_float_and_decimal():
    assert matches({"a": 1}, {"a": 1.0})
    assert matches({"a": 1.0}, {"a": Int64(1)})
    assert matches({"a": Decimal128("1.0")}, {"a": 1})
    assert matches({"a": {"$gt": 1}}, {"a": Decimal128("1.5")})
    assert matches({"a": {"$lt": 2**53 + 1}}, {"a": 2**53})
    assert not matches({"a": {"$gt": 2**53}}, {"a": float(2**53)})


def test_bool_is_not_a_number():
    # Type bracketing: bool and numbers are different BSON types (Python's bool is an int).
    assert not matches({"a": 1}, {"a": True})
    assert not matches({"a": True}, {"a": 1})
    assert not matches({"a": 0}, {"a": False})
    assert not matches({"a": {"$gte": 0}}, {"a": True})
    assert not matches({"a": {"$in": [1]}}, {"a": True})
    assert not matches({"a": {"$in": [True]}}, {"a": 1})
    assert matches({"a": {"$in": [True]}}, {"a": True})
    assert matches({"a": {"$gt": False}}, {"a": True})
    assert not matches({"a": {"$type": "number"}}, {"a": True})
    assert not matches({"a": {"$mod": [2, 1]}}, {"a": True})
    assert bson_compare(True, 1) == 1  # bool ranks above numbers


def test_comparison_only_matches_the_same_type_class():
    # "Type Bracketing": $gt etc. only consider values of the operand's BSON type class.
    docs = [1, 1.5, "2", None, [0], {"x": 1}, True, dt.datetime(2020, 1, 1)]
    found = [v for v in docs if matches({"a": {"$gt": 0}}, {"a": v})]
    assert found == [1, 1.5]
    assert [v for v in docs if matches({"a": {"$lt": "z"}}, {"a": v})] == ["2"]


def test_strings_compare_by_code_point():
    assert matches({"v": {"$gt": "9.0"}}, {"v": "10.0"}) is False
    assert matches({"v": {"$lt": "9.0"}}, {"v": "10.0"})
    assert matches({"v": {"$gt": "Z"}}, {"v": "a"})
    assert matches({"v": {"$gt": "\uffff"}}, {"v": "\U0001f600"})  # not UTF-16 order
    assert matches({"v": {"$gte": "1.0"}}, {"v": "1.10.3"})


def test_nan_rules():
    # NaN equals NaN; ordered comparisons with NaN are false except $gte/$lte NaN vs NaN.
    nan = float("nan")
    assert matches({"a": nan}, {"a": nan})
    assert matches({"a": nan}, {"a": Decimal128("NaN")})
    assert not matches({"a": nan}, {"a": 1})
    assert not matches({"a": {"$gt": nan}}, {"a": nan})
    assert matches({"a": {"$gte": nan}}, {"a": nan})
    assert not matches({"a": {"$gte": nan}}, {"a": 5})
    assert not matches({"a": {"$lt": 5}}, {"a": nan})
    assert not matches({"a": {"$gt": 5}}, {"a": decimal.Decimal("NaN")})
    assert matches({"a": {"$in": [nan]}}, {"a": nan})
    assert bson_compare(nan, -math.inf) == -1  # NaN sorts below every other number


def test_minkey_maxkey_bracketing():
    # ComparisonMatchExpression: every other type, even a missing field, is > MinKey, < MaxKey.
    assert matches({"a": {"$gt": MinKey()}}, {"a": "x"})
    assert matches({"a": {"$gt": MinKey()}}, {})
    assert not matches({"a": {"$gt": MinKey()}}, {"a": MinKey()})
    assert matches({"a": {"$gte": MinKey()}}, {"a": MinKey()})
    assert matches({"a": {"$lt": MaxKey()}}, {"a": [1]})
    assert not matches({"a": {"$gt": MaxKey()}}, {"a": 1})
    assert not matches({"a": {"$lt": MinKey()}}, {"a": 1})
    assert matches({"a": MaxKey()}, {"a": MaxKey()})
    assert not matches({"a": MaxKey()}, {"a": MinKey()})


def test_comparison_on_arrays():
    # Elements are compared; an array operand compares whole arrays (and array elements).
    assert matches({"a": {"$gt": 5}}, {"a": [1, 10]})
    assert not matches({"a": {"$gt": 5}}, {"a": [1, 2]})
    assert matches({"a": {"$gt": [1]}}, {"a": [2]})
    assert matches({"a": {"$gt": [1]}}, {"a": [[2], 0]})
    assert not matches({"a": {"$gt": 0}}, {"a": []})


def test_comparison_on_documents_and_dates():
    assert matches({"a": {"$gt": {"x": 1}}}, {"a": {"x": 2}})
    assert matches({"a": {"$gt": {"x": 1}}}, {"a": {"x": 1, "y": 0}})
    assert not matches({"a": {"$gt": {"x": 1}}}, {"a": 5})
    when = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    assert matches({"a": {"$gte": when}}, {"a": dt.datetime(2026, 11, 30, 9, 0, 0, 999)})
    assert matches({"a": when}, {"a": dt.datetime(2026, 11, 30, 9, 0)})  # naive is UTC
    assert not matches({"a": {"$gte": when}}, {"a": "2026-11-30T09:00:00Z"})


def test_object_ids_compare_by_bytes():
    low, high = ObjectId("000000000000000000000001"), ObjectId("ff0000000000000000000000")
    assert matches({"a": {"$gt": low}}, {"a": high})
    assert matches({"a": high}, {"a": ObjectId(str(high))})


def test_ne_is_the_negation_of_array_aware_equality():
    # $ne: "documents whose array contains the value do not match"; missing fields match.
    assert not matches({"tags": {"$ne": "x"}}, {"tags": ["x", "y"]})
    assert matches({"tags": {"$ne": "x"}}, {"tags": ["y"]})
    assert matches({"tags": {"$ne": "x"}}, {})
    assert not matches({"tags": {"$ne": ["x", "y"]}}, {"tags": ["x", "y"]})


def test_in_and_nin():
    doc = {"tags": ["image", "classification"], "n": 5}
    assert matches({"tags": {"$in": ["sample", "image"]}}, doc)
    assert not matches({"tags": {"$nin": ["sample", "image"]}}, doc)
    assert matches({"tags": {"$nin": ["sample"]}}, doc)
    assert matches({"missing": {"$nin": ["x"]}}, doc)
    assert not matches({"missing": {"$in": ["x"]}}, doc)
    assert matches({"n": {"$in": [5.0]}}, doc)
    assert matches({"tags": {"$in": [["image", "classification"]]}}, doc)
    assert matches({"n": {"$in": [Decimal128("5")]}}, doc)
    assert not matches({"n": {"$in": []}}, doc)
    assert matches({"n": {"$nin": []}}, doc)


def test_in_with_regexes():
    # The $in page: "{ tags: { $in: [ /^be/, /^st/ ] } }".
    doc = {"tags": ["school", "home"]}
    assert matches({"tags": {"$in": [re.compile("^be"), re.compile("^sc")]}}, doc)
    assert not matches({"tags": {"$in": [re.compile("^be")]}}, doc)
    assert matches({"tags": {"$in": [Regex("^HO", "i")]}}, doc)
    assert not matches({"tags": {"$nin": [re.compile("^h")]}}, doc)


@pytest.mark.parametrize(
    "filter",
    [
        {"a": {"$in": [{"$regex": "x"}]}},
        {"a": {"$in": [{"$gt": 1}]}},
        {"a": {"$nin": [None, {"$regex": "^str"}]}},
        {"a": {"$in": "x"}},
        {"a": {"$nin": 5}},
        {"a": {"$gt": re.compile("x")}},
        {"a": {"$ne": re.compile("x")}},
    ],
)
def test_invalid_comparison_operands(filter):
    with pytest.raises(InvalidQueryError):
        compile_filter(filter)


def test_eq_with_a_regex_value_is_literal():
    # {$eq: /x/} compares regex values; {a: /x/} is a regex match.
    assert not matches({"a": {"$eq": re.compile("x")}}, {"a": "x"})
    assert matches({"a": {"$eq": re.compile("x")}}, {"a": re.compile("x")})
    assert matches({"a": re.compile("x")}, {"a": "xyz"})


def test_binary_and_strings_are_distinct_types():
    assert not matches({"a": b"abc"}, {"a": "abc"})
    assert matches({"a": b"abc"}, {"a": b"abc"})
    assert matches({"a": {"$gt": b"ab"}}, {"a": b"abc"})  # longer binData sorts higher
    assert matches({"a": {"$gt": b"zz"}}, {"a": b"abc"})


def test_str_subclasses_are_strings():
    class Color(enum.StrEnum):
        RED = "red"

    assert matches({"c": "red"}, {"c": Color.RED})
    assert matches({"c": Color.RED}, {"c": "red"})
    assert matches({"c": {"$in": [Color.RED]}}, {"c": "red"})
    assert matches({"c": {"$gte": "r"}}, {"c": Color.RED})
