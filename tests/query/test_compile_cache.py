"""Compiled filters are reused, and a reuse never answers for a different filter: JSON that
looks the same (NaN and null, a datetime and its string, 1 and 1.0, key order) and a
filter the caller changed after compiling it each get their own predicate."""

import datetime as dt
import math

from assetstore.query import compile_filter


def test_a_repeated_filter_is_compiled_once():
    first = compile_filter({"asset_tags": {"$in": ["a", "b"]}, "n": {"$gt": 1}})
    again = compile_filter({"asset_tags": {"$in": ["a", "b"]}, "n": {"$gt": 1}})
    assert first is again


def test_nan_and_null_do_not_share_a_predicate():
    nan = compile_filter({"a": math.nan})
    null = compile_filter({"a": None})
    assert nan({"a": math.nan}) and not nan({})
    assert null({}) and not null({"a": math.nan})


def test_a_datetime_and_its_string_do_not_share_a_predicate():
    when = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    as_date = compile_filter({"a": when})
    as_text = compile_filter({"a": when.isoformat()})
    assert as_date({"a": when}) and not as_date({"a": when.isoformat()})
    assert as_text({"a": when.isoformat()}) and not as_text({"a": when})


def test_numbers_and_key_order_are_told_apart():
    assert compile_filter({"a": 1})({"a": 1.0})  # equal in MongoDB, whichever is cached
    assert not compile_filter({"a": True})({"a": 1})
    ordered = compile_filter({"a": {"x": 1, "y": 2}})
    swapped = compile_filter({"a": {"y": 2, "x": 1}})
    assert ordered({"a": {"x": 1, "y": 2}}) and not ordered({"a": {"y": 2, "x": 1}})
    assert swapped({"a": {"y": 2, "x": 1}}) and not swapped({"a": {"x": 1, "y": 2}})


def test_a_filter_changed_after_compiling_gets_its_own_predicate():
    filter = {"a": {"$in": [1, 2]}}
    before = compile_filter(filter)
    filter["a"]["$in"].append(3)
    after = compile_filter(filter)
    assert not before({"a": 3})
    assert after({"a": 3})
