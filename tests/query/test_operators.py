"""$exists, $type, $mod, $size, $all, $elemMatch, $not, logical operators and $comment.

Sources: the manual's page for each operator; jstests/core/query/type/type_array.js,
jstests/core/query/mod/mod.js and mod_special_values.js; MongoDB's expression_parser.cpp for
the argument rules ($size, $all, $not, $elemMatch value versus object form).
"""

import datetime as dt
import math
import re

import pytest
from bson import Binary, Decimal128, Int64, MaxKey, MinKey, ObjectId, Timestamp

from assetstore.errors import InvalidQueryError
from assetstore.query import compile_filter


def matches(filter, doc):
    return compile_filter(filter)(doc)


def ids(docs, filter):
    predicate = compile_filter(filter)
    return sorted(d["_id"] for d in docs if predicate(d))


# ------------------------------------------------------------------------------------ $exists


@pytest.mark.parametrize("flag", [True, 1, "yes", "", {}, [], float("nan")])
def test_exists_truthy_operands(flag):
    # BSON trueValue: only false, 0 and null are false ("" and {} are true).
    assert matches({"a": {"$exists": flag}}, {"a": None})
    assert not matches({"a": {"$exists": flag}}, {})


@pytest.mark.parametrize("flag", [False, 0, 0.0, None])
def test_exists_falsy_operands(flag):
    assert matches({"a": {"$exists": flag}}, {})
    assert not matches({"a": {"$exists": flag}}, {"a": None})


def test_exists_with_arrays():
    assert matches({"a": {"$exists": True}}, {"a": []})
    assert matches({"a.b": {"$exists": True}}, {"a": [{"b": None}]})
    assert not matches({"a.b": {"$exists": True}}, {"a": [1, 2]})


# -------------------------------------------------------------------------------------- $type

TYPE_DOCS = [
    {"_id": 1, "a": [1, 2, 3]},
    {"_id": 2, "a": [1, "foo", 3]},
    {"_id": 3, "a": []},
    {"_id": 4, "a": [[]]},
    {"_id": 5, "a": [[[]]]},
    {"_id": 6, "a": 1},
    {"_id": 7, "a": "foo"},
]


def test_type_with_arrays():
    # jstests/core/query/type/type_array.js
    assert ids(TYPE_DOCS, {"a": {"$type": "number"}}) == [1, 2, 6]
    assert ids(TYPE_DOCS, {"a": {"$type": "string"}}) == [2, 7]
    assert ids(TYPE_DOCS, {"a": {"$type": "array"}}) == [1, 2, 3, 4, 5]
    assert ids(TYPE_DOCS, {"a.0": {"$type": "array"}}) == [4, 5]
    assert ids(TYPE_DOCS, {"a.0.0": {"$type": "array"}}) == [5]


def test_type_lists_mix_aliases_and_codes():
    # type_array.js, second part (Python int 1 is an int32, Int64(1) a long).
    docs = [
        {"_id": 0, "a": 1.0},
        {"_id": 1, "a": 1},
        {"_id": 2, "a": Int64(1)},
        {"_id": 3, "a": "str"},
        {"_id": 4, "a": []},
        {"_id": 5, "a": [1, "str"]},
        {"_id": 6},
    ]
    assert ids(docs, {"a": {"$type": ["long", 2]}}) == [2, 3, 5]
    assert ids(docs, {"a": {"$type": ["long", "array"]}}) == [2, 4, 5]
    assert ids(docs, {"a": {"$type": ["long", "array", 18, 4]}}) == [2, 4, 5]


@pytest.mark.parametrize(
    ("value", "alias", "code"),
    [
        (1.5, "double", 1),
        ("s", "string", 2),
        ({"x": 1}, "object", 3),
        (["x"], "array", 4),
        (b"\x00", "binData", 5),
        (Binary(b"x", 4), "binData", 5),
        (ObjectId(), "objectId", 7),
        (False, "bool", 8),
        (dt.datetime(2020, 1, 1), "date", 9),
        (None, "null", 10),
        (re.compile("x"), "regex", 11),
        (2**31 - 1, "int", 16),
        (Timestamp(1, 2), "timestamp", 17),
        (2**31, "long", 18),
        (Int64(5), "long", 18),
        (Decimal128("1.5"), "decimal", 19),
        (MinKey(), "minKey", -1),
        (MaxKey(), "maxKey", 127),
    ],
)
def test_type_aliases_and_codes(value, alias, code):
    doc = {"a": value}
    assert matches({"a": {"$type": alias}}, doc)
    assert matches({"a": {"$type": code}}, doc)
    assert matches({"a": {"$type": float(code)}}, doc)
    number = alias in ("double", "int", "long", "decimal")
    assert matches({"a": {"$type": "number"}}, doc) == number


def test_type_does_not_match_missing():
    assert not matches({"a": {"$type": "null"}}, {})
    assert matches({"a": {"$not": {"$type": "null"}}}, {})


@pytest.mark.parametrize(
    "operand", ["nosuchtype", 0, 20, 2.5, True, None, [], ["string", None], [{}, "string"]]
)
def test_type_invalid_operands(operand):
    with pytest.raises(InvalidQueryError):
        compile_filter({"a": {"$type": operand}})


# --------------------------------------------------------------------------------------- $mod


def test_mod_basic_and_negative():
    # jstests/core/query/mod/mod.js: C-style remainder (the sign follows the dividend).
    docs = [
        {"_id": 1, "a": 0},
        {"_id": 2, "a": 5},
        {"_id": 3, "a": 12},
        {"_id": 4, "a": [0, 7]},
        {"_id": 5, "a": [1, 7]},
        {"_id": 6, "a": [-5]},
    ]
    assert len(ids(docs, {"a": {"$mod": [-10, -5]}})) == 1
    assert ids(docs, {"a": {"$mod": [4, -1]}}) == [6]
    assert len(ids(docs, {"a": {"$mod": [5, 0]}})) == 4
    assert len(ids(docs, {"a": {"$mod": [12, 0]}})) == 3
    assert len(ids(docs, {"a": {"$mod": [12, 1]}})) == 1
    assert len(ids(docs, {"a": {"$mod": [1, Int64(0)]}})) == 6
    assert len(ids(docs, {"a": {"$mod": [Int64(5), Decimal128("2.1")]}})) == 3
    assert len(ids(docs, {"a": {"$mod": [Decimal128("5.001"), Decimal128("2.1")]}})) == 3


def test_mod_truncates_float_dividends_and_operands():
    # mod.js and mod_special_values.js: truncation toward zero.
    for value in (4.2, 4.5, 4.7, Decimal128("4.5"), -4.7):
        assert matches({"a": {"$mod": [4, 0]}}, {"a": value})
    assert matches({"a": {"$mod": [4.9, 0]}}, {"a": 8})
    assert matches({"a": {"$mod": [10, 4]}}, {"a": 14.50001})
    assert not matches({"a": {"$mod": [10, 4]}}, {"a": 15.01})


def test_mod_large_values():
    # mod.js: divisors and remainders beyond 32 bits.
    assert matches({"a": {"$mod": [4_000_000_000, 0]}}, {"a": -4_000_000_000})
    assert matches({"a": {"$mod": [10_000_000_000, -5_000_000_000]}}, {"a": -15_000_000_000.12})
    # mod_overflow.js: -2**63 % -1 does not overflow.
    assert matches({"a": {"$mod": [-1, 0]}}, {"a": Int64(-(2**63))})


@pytest.mark.parametrize(
    "value", [float("nan"), math.inf, -math.inf, Decimal128("NaN"), Decimal128("Infinity"), -1e19]
)
def test_mod_special_dividends_never_match(value):
    # mod_special_values.js
    assert not matches({"a": {"$mod": [1, 0]}}, {"a": value})


def test_mod_non_numbers_never_match():
    for doc in ({"a": "12"}, {}, {"a": None}, {"a": True}):
        assert not matches({"a": {"$mod": [2, 0]}}, doc)


@pytest.mark.parametrize(
    "operand",
    [
        [0, 1],
        [0, 0],
        [0.5, 0],
        [Decimal128("0.001"), Decimal128("1.001")],
        [10, 1, 1],
        [10],
        [],
        ["a", 0],
        [1, "b"],
        5,
        [float("nan"), 1],
        [1, math.inf],
        [1e19, 1],
        [True, 0],
    ],
)
def test_mod_invalid_operands(operand):
    # mod.js ("divide by zero", arity, non-numbers) and mod_special_values.js (NaN, Inf, 1e19).
    with pytest.raises(InvalidQueryError):
        compile_filter({"a": {"$mod": operand}})


# -------------------------------------------------------------------------------------- $size


def test_size():
    # The $size page: matches arrays with exactly that many elements; nothing else.
    assert matches({"a": {"$size": 2}}, {"a": ["red", "green"]})
    assert not matches({"a": {"$size": 1}}, {"a": ["red", "green"]})
    assert matches({"a": {"$size": 0}}, {"a": []})
    assert not matches({"a": {"$size": 0}}, {})
    assert not matches({"a": {"$size": 1}}, {"a": "x"})
    assert not matches({"a": {"$size": 2}}, {"a": [[1, 2]]})  # nested arrays are not searched
    assert matches({"a.b": {"$size": 2}}, {"a": [{"b": [1, 2]}]})
    assert matches({"a": {"$size": 2.0}}, {"a": [1, 2]})
    assert matches({"a": {"$not": {"$size": 2}}}, {"a": [1]})


@pytest.mark.parametrize("operand", [-1, 1.5, "2", None, True, 2**31, Decimal128("1"), math.nan])
def test_size_invalid_operands(operand):
    with pytest.raises(InvalidQueryError):
        compile_filter({"a": {"$size": operand}})


# --------------------------------------------------------------------------------------- $all


def test_all():
    # The $all page: an $and of equality conditions.
    doc = {"tags": ["appliance", "school", "book"], "qty": [{"size": "S", "num": 10}]}
    assert matches({"tags": {"$all": ["appliance", "school", "book"]}}, doc)
    assert matches({"tags": {"$all": ["book"]}}, doc)
    assert not matches({"tags": {"$all": ["book", "pen"]}}, doc)
    assert matches({"tags": {"$all": [re.compile("^sch"), "book"]}}, doc)
    assert matches({"t": {"$all": ["x"]}}, {"t": "x"})
    assert matches({"t": {"$all": [["x", "y"]]}}, {"t": ["x", "y"]})
    assert matches({"t": {"$all": [["x", "y"]]}}, {"t": [["x", "y"], "z"]})


def test_all_empty_matches_nothing():
    # parseAll: an empty $all is AlwaysFalse ("$all: [] matches nothing").
    assert not matches({"tags": {"$all": []}}, {"tags": []})
    assert not matches({"tags": {"$all": []}}, {"tags": ["a"]})
    assert matches({"tags": {"$not": {"$all": []}}}, {"tags": ["a"]})


def test_all_with_elem_match():
    # The $all page, "Use $all with $elemMatch".
    docs = [
        {"_id": 1, "qty": [{"size": "S", "num": 10, "color": "blue"}]},
        {"_id": 2, "qty": [{"size": "M", "num": 45, "color": "blue"}, {"num": 100}]},
        {"_id": 3, "qty": [{"size": "L", "num": 100, "color": "green"}]},
    ]
    filter = {
        "qty": {
            "$all": [
                {"$elemMatch": {"size": "M", "num": {"$gt": 50}}},
                {"$elemMatch": {"num": 100, "color": "green"}},
            ]
        }
    }
    assert ids(docs, filter) == []
    assert ids(docs, {"qty": {"$all": [{"$elemMatch": {"num": {"$gte": 45}}}]}}) == [2, 3]


@pytest.mark.parametrize(
    "operand",
    [
        "x",
        {"a": 1},
        [{"$elemMatch": {"a": 1}}, 5],
        [{"$elemMatch": {"a": 1}}, {"a": 1}],
        [{"$gt": 1}],
        [1, {"$in": [1]}],
    ],
)
def test_all_invalid_operands(operand):
    with pytest.raises(InvalidQueryError):
        compile_filter({"a": {"$all": operand}})


# --------------------------------------------------------------------------------- $elemMatch


def test_elem_match_operator_form_on_scalars():
    # The $elemMatch page: { results: { $elemMatch: { $gte: 80, $lt: 85 } } }.
    docs = [{"_id": 1, "results": [82, 85, 88]}, {"_id": 2, "results": [75, 88, 89]}]
    assert ids(docs, {"results": {"$elemMatch": {"$gte": 80, "$lt": 85}}}) == [1]
    # Without $elemMatch the conditions may be met by different elements.
    assert ids(docs, {"results": {"$gte": 80, "$lt": 85}}) == [1, 2]


def test_elem_match_query_form_on_documents():
    # The $elemMatch page: "Array of Embedded Documents".
    docs = [
        {"_id": 1, "results": [{"product": "abc", "score": 10}, {"product": "xyz", "score": 5}]},
        {"_id": 2, "results": [{"product": "abc", "score": 8}, {"product": "xyz", "score": 7}]},
        {"_id": 3, "results": [{"product": "abc", "score": 7}, {"product": "xyz", "score": 8}]},
        {"_id": 4, "results": [{"product": "abc", "score": 7}, {"product": "def", "score": 8}]},
    ]
    assert ids(docs, {"results": {"$elemMatch": {"product": "xyz", "score": {"$gte": 8}}}}) == [3]
    assert ids(docs, {"results": {"$elemMatch": {"product": {"$ne": "xyz"}}}}) == [1, 2, 3, 4]
    assert ids(docs, {"results": {"$elemMatch": {"$or": [{"score": 10}, {"score": 5}]}}}) == [1]


def test_elem_match_only_matches_arrays():
    assert not matches({"a": {"$elemMatch": {"$gt": 1}}}, {"a": 5})
    assert not matches({"a": {"$elemMatch": {"b": 1}}}, {"a": {"b": 1}})
    assert not matches({"a": {"$elemMatch": {"$gt": 1}}}, {"a": [[5]]})  # no nested search
    assert matches({"a": {"$elemMatch": {"$elemMatch": {"$gt": 1}}}}, {"a": [[5]]})


def test_elem_match_object_form_sees_nested_arrays_as_documents():
    # ElemMatchObjectMatchExpression accepts array elements, whose fields are "0", "1", ...
    assert matches({"a": {"$elemMatch": {"0": 42}}}, {"a": [[42]]})
    assert not matches({"a": {"$elemMatch": {"b": 1}}}, {"a": [1, 2]})
    assert matches({"a": {"$elemMatch": {}}}, {"a": [{}]})
    assert not matches({"a": {"$elemMatch": {}}}, {"a": [1]})


def test_elem_match_value_form_negations_apply_per_element():
    assert matches({"a": {"$elemMatch": {"$not": {"$gt": 5}}}}, {"a": [1, 10]})
    assert not matches({"a": {"$elemMatch": {"$not": {"$gt": 5}}}}, {"a": [6, 10]})
    assert matches({"a": {"$elemMatch": {"$nin": [1, 2]}}}, {"a": [1, 3]})
    assert matches({"a": {"$elemMatch": {"$exists": True}}}, {"a": [None]})
    assert not matches({"a": {"$elemMatch": {"$exists": False}}}, {"a": [None]})
    assert matches({"a": {"$elemMatch": {"$regex": "^x", "$options": "i"}}}, {"a": ["Xy"]})


@pytest.mark.parametrize(
    "operand",
    [5, [1], {"$gt": 1, "b": 2}, {"b": 1, "$gt": 2}, {"$where": "1"}, {"$unknown": 1}],
)
def test_elem_match_invalid_operands(operand):
    with pytest.raises(InvalidQueryError):
        compile_filter({"a": {"$elemMatch": operand}})


# --------------------------------------------------------------------------------------- $not


def test_not_matches_missing_fields():
    # The $not page: { price: { $not: { $gt: 1.99 } } } also selects documents without price.
    assert matches({"price": {"$not": {"$gt": 1.99}}}, {})
    assert matches({"price": {"$not": {"$gt": 1.99}}}, {"price": 1.99})
    assert not matches({"price": {"$not": {"$gt": 1.99}}}, {"price": 2})
    assert matches({"price": {"$not": {"$gt": 1.99}}}, {"price": "high"})


def test_not_with_regex():
    # The $not page: { item: { $not: /^p.*/ } } and { $not: { $regex: "^p.*" } }.
    doc = {"item": "pen"}
    assert not matches({"item": {"$not": re.compile("^p.*")}}, doc)
    assert not matches({"item": {"$not": {"$regex": "^p.*"}}}, doc)
    assert matches({"item": {"$not": {"$regex": "^P.*"}}}, doc)
    assert not matches({"item": {"$not": {"$regex": "^P.*", "$options": "i"}}}, doc)
    assert matches({"item": {"$not": re.compile("^p")}}, {"item": ["quill"]})


def test_not_of_several_operators_negates_their_conjunction():
    assert matches({"a": {"$not": {"$gt": 1, "$lt": 5}}}, {"a": 7})
    assert not matches({"a": {"$not": {"$gt": 1, "$lt": 5}}}, {"a": 3})


@pytest.mark.parametrize("operand", [5, "x", None, [1], {}, {"b": 1}, {"$nosuch": 1}])
def test_not_needs_an_operator_document_or_regex(operand):
    with pytest.raises(InvalidQueryError):
        compile_filter({"a": {"$not": operand}})


# --------------------------------------------------------------------------- logical, $comment


def test_and_or_nor():
    doc = {"a": 1, "b": 2}
    assert matches({"$and": [{"a": 1}, {"b": 2}]}, doc)
    assert not matches({"$and": [{"a": 1}, {"b": 3}]}, doc)
    assert matches({"$or": [{"a": 5}, {"b": 2}]}, doc)
    assert not matches({"$or": [{"a": 5}, {"b": 5}]}, doc)
    assert matches({"$nor": [{"a": 5}, {"b": 5}]}, doc)
    assert not matches({"$nor": [{"a": 1}, {"b": 5}]}, doc)
    assert matches({"$nor": [{"price": 1.99}, {"sale": True}]}, {})  # the $nor page
    assert matches({"$or": [{"a": 1}], "b": 2, "$nor": [{"c": 1}]}, doc)


def test_comment_is_ignored():
    assert matches({"$comment": "why", "a": 1}, {"a": 1})
    assert matches({"$comment": {"any": ["thing"]}}, {})
    with pytest.raises(InvalidQueryError):
        compile_filter({"a": {"$comment": "not here"}})


def test_eq_operator_and_implicit_and_on_one_field():
    assert matches({"a": {"$eq": 1, "$gt": 0}}, {"a": 1})
    assert not matches({"a": {"$gt": 0, "$lt": 1}}, {"a": 1})
