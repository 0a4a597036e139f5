"""Forbidden, unsupported and malformed filters; the depth and node limits.

Sources: MongoDB's expression_parser.cpp for the error cases ("unknown top level operator",
"unknown operator", "$and/$or/$nor must be a nonempty array", "$or/$and/$nor entries need to be
full objects"); the brief's security rules for $where, $function and $accumulator.
"""

import datetime as dt
import decimal
import time

import pytest
from bson import ObjectId

from assetstore.errors import AssetStoreError, InvalidQueryError
from assetstore.query import compile_filter, validate_filter


@pytest.mark.parametrize(
    "filter",
    [
        {"$where": "this.a == 1"},
        {"a": {"$where": "1"}},
        {"$and": [{"$where": "1"}]},
        {"$or": [{"a": 1}, {"$nor": [{"$where": "1"}]}]},
        {"a": {"$elemMatch": {"$where": "1"}}},
        {"a": {"$elemMatch": {"b": {"$not": {"$where": "1"}}}}},
        {"$expr": {"$function": {"body": "1", "args": [], "lang": "js"}}},
        {"a": {"$eq": {"$accumulator": {}}}},
        {"a": {"$in": [{"x": {"$function": 1}}]}},
    ],
)
def test_server_side_code_is_forbidden_anywhere(filter):
    with pytest.raises(InvalidQueryError, match="forbidden"):
        validate_filter(filter)


@pytest.mark.parametrize(
    "filter",
    [
        {"$text": {"$search": "x"}},
        {"$jsonSchema": {"required": ["a"]}},
        {"loc": {"$near": [0, 0]}},
        {"loc": {"$geoWithin": {"$center": [[0, 0], 1]}}},
        {"a": {"$bitsAllSet": [1]}},
    ],
)
def test_unsupported_operators_say_so(filter):
    with pytest.raises(InvalidQueryError, match="not supported"):
        validate_filter(filter)


@pytest.mark.parametrize(
    ("filter", "message"),
    [
        ({"$foo": 1}, "unknown top level operator"),
        ({"$not": {"a": 1}}, "unknown top level operator"),
        ({"$size": 1}, "unknown top level operator"),
        ({"$eq": 1}, "unknown top level operator"),
        ({"a": {"$foo": 1}}, "unknown operator"),
        ({"a": {"$gt": 1, "b": 2}}, "unknown operator"),
        ({"$and": []}, "nonempty"),
        ({"$or": []}, "nonempty"),
        ({"$nor": []}, "nonempty"),
        ({"$and": {"a": 1}}, "must be an array"),
        ({"$or": "a"}, "must be an array"),
        ({"$or": [1]}, "full objects"),
        ({"$and": [{"a": 1}, None]}, "full objects"),
    ],
)
def test_malformed_filters(filter, message):
    with pytest.raises(InvalidQueryError, match=message):
        compile_filter(filter)


@pytest.mark.parametrize("filter", [[{"a": 1}], "a", 5, ("a", 1)])
def test_filter_must_be_a_mapping(filter):
    with pytest.raises(InvalidQueryError):
        compile_filter(filter)


@pytest.mark.parametrize(
    "value",
    [object(), {1, 2}, decimal.Decimal("1.5"), dt.date(2020, 1, 1), 2**63, -(2**63) - 1],
)
def test_unsupported_values(value):
    with pytest.raises(InvalidQueryError):
        compile_filter({"a": value})


def test_non_string_keys():
    with pytest.raises(InvalidQueryError):
        compile_filter({1: "a"})
    with pytest.raises(InvalidQueryError):
        compile_filter({"a": {"b": {2: 3}}})


def test_supported_values_validate():
    validate_filter({"a": ObjectId(), "b": dt.datetime(2020, 1, 1), "c": b"x", "d": 2**63 - 1})


def test_error_type():
    with pytest.raises(ValueError, match="forbidden"):
        compile_filter({"$where": "1"})
    with pytest.raises(AssetStoreError):
        compile_filter({"$where": "1"})


def nested_and(depth):
    filter = {"a": 1}
    for _ in range(depth):
        filter = {"$and": [filter]}
    return filter


def test_thousand_deep_filter_is_refused_fast():
    for filter in (
        nested_and(1000),
        _nested_not(1000),
        _nested_elem_match(1000),
        _nested_doc(1000),
        _nested_list(1000),
    ):
        start = time.perf_counter()
        with pytest.raises(InvalidQueryError, match="max_depth=100"):
            compile_filter(filter)
        assert time.perf_counter() - start < 0.5


def test_very_deep_filter_never_raises_recursion_error():
    with pytest.raises(InvalidQueryError):
        compile_filter(nested_and(100_000))
    with pytest.raises(InvalidQueryError):
        compile_filter(nested_and(2000), max_depth=10_000)


def _nested_not(depth):
    operand = {"$gt": 1}
    for _ in range(depth):
        operand = {"$not": operand}
    return {"a": operand}


def _nested_elem_match(depth):
    operand = {"b": 1}
    for _ in range(depth):
        operand = {"b": {"$elemMatch": operand}}
    return operand


def _nested_doc(depth):
    value = 1
    for _ in range(depth):
        value = {"x": value}
    return {"a": value}


def _nested_list(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return {"a": value}


def test_depth_limit_boundary():
    # The filter's own document is level 1; every nested document or array adds one.
    compile_filter(nested_and(49))  # 1 + 49 * 2 levels ({"$and": [...]}) + {"a": 1}
    with pytest.raises(InvalidQueryError, match="max_depth=100"):
        compile_filter(nested_and(50))
    compile_filter(nested_and(50), max_depth=101)
    with pytest.raises(InvalidQueryError, match="max_depth=5"):
        compile_filter(nested_and(3), max_depth=5)


def test_node_limit():
    # Every key and every value counts: {"a": {"$in": [...]}} is 4 nodes plus the elements.
    compile_filter({"a": {"$in": list(range(9_996))}})
    with pytest.raises(InvalidQueryError, match="max_nodes=10000"):
        compile_filter({"a": {"$in": list(range(9_997))}})
    with pytest.raises(InvalidQueryError, match="max_nodes=10000"):
        compile_filter({"a": {"$in": list(range(10_000))}})
    with pytest.raises(InvalidQueryError, match="max_nodes=10"):
        compile_filter({f"f{i}": i for i in range(6)}, max_nodes=10)
    compile_filter({f"f{i}": i for i in range(5)}, max_nodes=10)


def test_node_limit_is_checked_before_work():
    huge = {"a": {"$in": list(range(1_000_000))}}
    start = time.perf_counter()
    with pytest.raises(InvalidQueryError):
        compile_filter(huge)
    assert time.perf_counter() - start < 0.5


def test_validate_filter_returns_none_and_accepts_none():
    assert validate_filter(None) is None
    assert validate_filter({}) is None
    assert validate_filter({"a": {"$gt": 1}}) is None


def test_long_paths_and_wide_filters_compile():
    # Generated code is bounded (Python allows 100 indentation levels); longer paths and many
    # conditions still work.
    path = ".".join(["a"] * 90)
    doc = 1
    for _ in range(90):
        doc = {"a": doc}
    assert compile_filter({path: 1})(doc)
    assert not compile_filter({path: 2})(doc)
    wide = {f"f{i}.x": {"$gte": i} for i in range(2000)}
    assert compile_filter(wide)({f"f{i}": {"x": i} for i in range(2000)})
    assert not compile_filter(wide)({f"f{i}": {"x": 0} for i in range(2000)})
    assert not compile_filter({"$and": [{"a": i} for i in range(40)]})({"a": 3})
