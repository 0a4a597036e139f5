"""Dotted paths, array traversal and equality (implicit and $eq).

Sources: the manual's "Query an Array", "Query on Embedded/Nested Documents" and "Query an Array
of Embedded Documents" pages; jstests/core/match_numeric_components.js;
jstests/core/query/array/array_match2.js and array_match3.js.
"""

import re
from types import MappingProxyType

import pytest

from assetstore.query import compile_filter

ASSET = {
    "asset_uri": "org/resnet:1.2.0-stable",
    "asset_name": "org/resnet",
    "asset_version": {"version": "1.2.0", "tag": "stable"},
    "asset_metadata": {"framework": "pytorch", "params": 25_000_000, "author": {"name": "A"}},
    "asset_tags": ["image", "classification"],
    "revision": 1,
}


def matches(filter, doc):
    return compile_filter(filter)(doc)


def ids(docs, filter):
    predicate = compile_filter(filter)
    return sorted(d["_id"] for d in docs if predicate(d))


def test_asset_shaped_queries():
    assert matches({"asset_metadata.author.name": "A"}, ASSET)
    assert matches({"asset_version.version": {"$gte": "1.0"}}, ASSET)
    assert matches(
        {
            "asset_tags": {"$in": ["sample", "image"]},
            "asset_metadata.framework": "pytorch",
            "asset_version.version": {"$gte": "1.0"},
        },
        ASSET,
    )
    assert not matches({"asset_metadata.framework": "tensorflow"}, ASSET)
    assert not matches({"asset_metadata.author.name.first": "A"}, ASSET)


def test_none_and_empty_filters_match_everything():
    assert compile_filter(None)({})
    assert compile_filter({})({"x": 1})


def test_equality_matches_an_element_or_the_whole_array():
    # "Query an Array": {tags: "red"} matches arrays containing "red"; {tags: [..]} is exact.
    docs = [
        {"_id": 1, "tags": ["blank", "red"]},
        {"_id": 2, "tags": ["red", "blank"]},
        {"_id": 3, "tags": ["red", "blank", "plain"]},
        {"_id": 4, "tags": "red"},
        {"_id": 5, "tags": [["red", "blank"], "x"]},
    ]
    assert ids(docs, {"tags": "red"}) == [1, 2, 3, 4]
    assert ids(docs, {"tags": ["red", "blank"]}) == [2, 5]  # order-sensitive, or an element
    assert ids(docs, {"tags": {"$eq": ["blank", "red"]}}) == [1]


def test_arrays_of_arrays_are_not_flattened():
    assert not matches({"a": 1}, {"a": [[1, 2]]})
    assert matches({"a": [1, 2]}, {"a": [[1, 2]]})
    assert not matches({"a": 1}, {"a": [[[1]]]})


def test_sub_document_equality_is_exact_and_field_order_sensitive():
    # "Query on Embedded/Nested Documents": equality on a whole embedded document requires an
    # exact match, including the field order.
    doc = {"size": {"h": 14, "w": 21, "uom": "cm"}}
    assert matches({"size": {"h": 14, "w": 21, "uom": "cm"}}, doc)
    assert not matches({"size": {"w": 21, "h": 14, "uom": "cm"}}, doc)
    assert not matches({"size": {"h": 14, "w": 21}}, doc)
    assert matches({"size": {"h": 14.0, "w": 21, "uom": "cm"}}, doc)  # numbers compare by value
    assert not matches({"size": {"h": True, "w": 21, "uom": "cm"}}, {"size": {"h": 1}})


def test_dotted_path_fans_out_over_arrays_of_documents():
    # "Query an Array of Embedded Documents": "instock.qty" matches any element's qty.
    doc = {"instock": [{"warehouse": "A", "qty": 5}, {"warehouse": "C", "qty": 15}]}
    assert matches({"instock.qty": 15}, doc)
    assert matches({"instock.qty": {"$lte": 5}}, doc)
    assert not matches({"instock.qty": 10}, doc)
    # Conditions on one path are checked independently: different elements may satisfy them
    # ("Specify Multiple Conditions for Array of Documents"); $elemMatch needs one element.
    assert matches({"instock.qty": {"$gt": 10, "$lt": 10}}, doc)
    assert not matches({"instock": {"$elemMatch": {"qty": {"$gt": 10, "$lt": 10}}}}, doc)
    assert matches({"instock.warehouse": "A", "instock.qty": 15}, doc)


def test_dotted_path_does_not_descend_into_nested_arrays():
    assert not matches({"a.b": 1}, {"a": [[{"b": 1}]]})
    assert matches({"a.b": 1}, {"a": [{"b": [1]}]})
    assert matches({"a.b.c": 1}, {"a": [{"b": [{"c": 1}]}]})


def test_path_through_a_scalar_is_missing():
    assert matches({"a.b": None}, {"a": 5})
    assert not matches({"a.b": {"$exists": True}}, {"a": 5})
    assert matches({"a.b.c": None}, {"a": {"b": "text"}})


NUMERIC = [
    {"_id": 0, "a": 42},
    {"_id": 1, "a": [42]},
    {"_id": 2, "a": {"0": 42}},
    {"_id": 3, "a": [[42]]},
    {"_id": 4, "a": [{"0": 42}]},
    {"_id": 5, "a": {"0": [42]}},
    {"_id": 6, "a": {"0": {"0": 42}}},
    {"_id": 7, "a": [[[42]]]},
    {"_id": 8, "a": [[{"0": 42}]]},
    {"_id": 9, "a": [{"0": [42]}]},
    {"_id": 10, "a": [{"0": {"0": 42}}]},
    {"_id": 11, "a": {"0": [[42]]}},
    {"_id": 12, "a": {"0": [{"0": 42}]}},
    {"_id": 13, "a": {"0": {"0": [42]}}},
    {"_id": 14, "a": {"0": {"0": {"0": 42}}}},
    {"_id": 17, "a": [[{"0": [42]}]]},
    {"_id": 20, "a": [{"0": [{"0": 42}]}]},
    {"_id": 21, "a": [{"0": {"0": [42]}}]},
    {"_id": 25, "a": {"0": [{"0": [42]}]}},
]


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"a.0": 42}, [1, 2, 4, 5, 9]),
        ({"a.0": {"$gt": 41}}, [1, 2, 4, 5, 9]),
        ({"a.0": {"$in": [41, 42, 43]}}, [1, 2, 4, 5, 9]),
        ({"a.0": {"$all": [42]}}, [1, 2, 4, 5, 9]),
        ({"a.0": {"$type": "number"}}, [1, 2, 4, 5, 9]),
        ({"a.0": {"$mod": [42, 0]}}, [1, 2, 4, 5, 9]),
        ({"$or": [{"a.0": 42}, {"notARealField": 123}]}, [1, 2, 4, 5, 9]),
        ({"a.0.0": 42}, [3, 4, 5, 6, 8, 9, 10, 12, 13, 17, 20, 21, 25]),
        ({"a.0": {"$all": [{"$elemMatch": {"0": 42}}]}}, [7, 8, 11, 12, 17, 20, 25]),
    ],
)
def test_numeric_path_components(filter, expected):
    # jstests/core/match_numeric_components.js (documents 15-30 partly omitted).
    assert ids(NUMERIC, filter) == expected


def test_numeric_path_negations_are_complements():
    # match_numeric_components.js: $ne and $nin are exact complements of $eq and $in.
    everything = sorted(d["_id"] for d in NUMERIC)
    positive = set(ids(NUMERIC, {"a.0": 42}))
    assert ids(NUMERIC, {"a.0": {"$ne": 42}}) == [i for i in everything if i not in positive]
    assert ids(NUMERIC, {"a.0": {"$nin": [41, 42, 43]}}) == [
        i for i in everything if i not in positive
    ]


def test_numeric_component_matches_index_and_field_name():
    # jstests/core/query/array/array_match2.js and array_match3.js.
    assert matches({"a.1": 4}, {"a": [{"1": 4}, 5]})
    assert matches({"a.1": 5}, {"a": [{"1": 4}, 5]})
    doc = {"a": [{"1": {"foo": 4}}, {"foo": 5}]}
    assert matches({"a.1.foo": 4}, doc)
    assert matches({"a.1.foo": 5}, doc)
    assert matches({"a.1": {"$exists": True}}, {"a": [{"1": {"foo": 4}}, {}]})
    assert matches({"a.0": 5}, {"a": {"0": 5}})
    assert matches({"a.0": 5}, {"a": [5]})


def test_non_canonical_numbers_are_only_field_names():
    assert not matches({"a.00": 5}, {"a": [5]})
    assert matches({"a.00": 5}, {"a": {"00": 5}})
    assert not matches({"a.-1": 5}, {"a": [5]})


def test_regex_on_numeric_path():
    # match_numeric_components.js, "Regexes are often something of a special case".
    docs = [
        {"_id": 1, "b": "hello"},
        {"_id": 2, "b": {"0": "hello"}},
        {"_id": 3, "b": ["hello", "abc", "abc"]},
    ]
    assert ids(docs, {"b.0": {"$regex": "hello"}}) == [2, 3]
    assert ids(docs, {"b.0": {"$all": [re.compile("^hello")]}}) == [2, 3]


def test_equality_with_operator_like_keys_is_literal_after_the_first_field():
    # isExpressionDocument looks at the first field only.
    doc = {"a": {"b": 1, "$c": 2}}
    assert matches({"a": {"b": 1, "$c": 2}}, doc)
    assert matches({"a": {"$eq": {"b": 1, "$c": 2}}}, doc)


def test_dbref_shaped_value_is_equality():
    doc = {"owner": {"$ref": "users", "$id": 7}}
    assert matches({"owner": {"$ref": "users", "$id": 7}}, doc)
    assert not matches({"owner": {"$ref": "users", "$id": 8}}, doc)


def test_tuples_are_arrays():
    assert matches({"a": 2}, {"a": (1, 2)})
    assert matches({"a": [1, 2]}, {"a": (1, 2)})
    assert matches({"a": {"$size": 2}}, {"a": (1, 2)})


def test_mapping_documents_that_are_not_dicts():
    doc = MappingProxyType({"a": MappingProxyType({"b": [1, 2]})})
    assert compile_filter({"a.b": 2})(doc)
    assert compile_filter({"a": {"b": [1, 2]}})(doc)
