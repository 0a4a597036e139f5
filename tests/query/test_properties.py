"""Properties that must hold for any document and operand.

- $ne, $nin, $nor and $not are exact complements of $eq, $in, $or and the negated operator
  (MongoDB parses each as a NOT of the positive, array-aware expression).
- The specialised fast paths for plain dicts agree with the general traversal (exercised by
  wrapping the same documents in a read-only Mapping, which is not a dict).
- bson_compare is a total order consistent with equality matching, and compile_sort orders
  documents exactly as bson_compare orders their (non-array) values.
"""

import functools
import itertools
from types import MappingProxyType

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assetstore._bson import rank
from assetstore.query import bson_compare, compile_filter, compile_sort, run_query

KEYS = st.sampled_from(["a", "b", "0", "1"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, 2.5]),
    st.text(alphabet="ab1é", max_size=3),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=8,
)
DOCS = st.dictionaries(KEYS, VALUES, max_size=3)
PATHS = st.sampled_from(["a", "b", "a.b", "a.0", "a.b.0", "b.1.a", "a.0.b"])
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def frozen(value):
    """The same value with every dict replaced by a read-only, non-dict Mapping."""
    if isinstance(value, dict):
        return MappingProxyType({k: frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return [frozen(v) for v in value]
    return value


@FAST
@given(doc=DOCS, path=PATHS, value=VALUES)
def test_ne_is_the_complement_of_eq(doc, path, value):
    eq = compile_filter({path: {"$eq": value}})
    ne = compile_filter({path: {"$ne": value}})
    assert eq(doc) != ne(doc)


@FAST
@given(doc=DOCS, path=PATHS, values=st.lists(VALUES, max_size=3))
def test_nin_is_the_complement_of_in(doc, path, values):
    in_ = compile_filter({path: {"$in": values}})
    nin = compile_filter({path: {"$nin": values}})
    assert in_(doc) != nin(doc)
    # $in is the $or of equalities.
    if values:
        either = compile_filter({"$or": [{path: {"$eq": v}} for v in values]})
        assert in_(doc) == either(doc)


@FAST
@given(doc=DOCS, path=PATHS, value=VALUES, operator=st.sampled_from(["$gt", "$gte", "$lt", "$lte"]))
def test_nor_and_not_are_complements(doc, path, value, operator):
    positive = compile_filter({"$or": [{path: {operator: value}}, {"b": value}]})
    nor = compile_filter({"$nor": [{path: {operator: value}}, {"b": value}]})
    assert positive(doc) != nor(doc)
    plain = compile_filter({path: {operator: value}})
    negated = compile_filter({path: {"$not": {operator: value}}})
    assert plain(doc) != negated(doc)


@FAST
@given(
    doc=DOCS,
    path=PATHS,
    value=VALUES,
    operator=st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$exists"]),
)
def test_fast_paths_agree_with_the_general_traversal(doc, path, value, operator):
    operand = [value, 1] if operator == "$in" else value
    predicate = compile_filter({path: {operator: operand}})
    assert predicate(doc) == predicate(frozen(doc))
    implicit = compile_filter({path: value}) if not isinstance(value, dict) else predicate
    assert implicit(doc) == implicit(frozen(doc))


@FAST
@given(
    doc=DOCS,
    path=PATHS,
    spec=st.sampled_from(
        [
            {"$type": "string"},
            {"$type": "int"},
            {"$type": "long"},
            {"$type": ["double", "int"]},
            {"$type": "number"},
            {"$type": 16},
            {"$mod": [2, 1]},
            {"$mod": [-3, 0]},
            {"$exists": True},
            {"$exists": False},
            {"$regex": "^a"},
            {"$regex": "b"},
            {"$regex": "ab", "$options": "i"},
            {"$elemMatch": {"$gte": "a", "$lt": "b"}},
            {"$elemMatch": {"$exists": True}},
            {"$elemMatch": {"$mod": [2, 0]}},
        ]
    ),
)
def test_inline_shortcuts_agree_with_the_general_traversal(doc, path, spec):
    """The inline tests of $type, $mod, $exists, literal regexes and $elemMatch give the
    answer of the operators' general form (reached through a non-dict Mapping)."""
    predicate = compile_filter({path: spec})
    assert predicate(doc) == predicate(frozen(doc))


@FAST
@given(a=VALUES, b=VALUES, c=VALUES)
def test_bson_compare_is_a_total_order(a, b, c):
    assert bson_compare(a, a) == 0
    assert bson_compare(a, b) == -bson_compare(b, a)
    if bson_compare(a, b) <= 0 and bson_compare(b, c) <= 0:
        assert bson_compare(a, c) <= 0


@FAST
@given(a=VALUES, b=VALUES)
def test_equality_agrees_with_bson_compare(a, b):
    # For non-array values, {v: b} matches exactly when bson_compare says they are equal.
    if isinstance(a, list) or isinstance(b, list):
        return
    assert compile_filter({"v": {"$eq": b}})({"v": a}) == (bson_compare(a, b) == 0)
    assert compile_filter({"v": {"$gte": b}})({"v": a}) == (
        bson_compare(a, b) >= 0 and _same_class(a, b)
    )


def _same_class(a, b):
    """Type bracketing: numbers with numbers, strings with strings, and so on."""
    return rank(a) == rank(b)


@FAST
@given(values=st.lists(VALUES.filter(lambda v: not isinstance(v, list)), max_size=8))
def test_compile_sort_is_consistent_with_bson_compare(values):
    docs = [{"_id": i, "v": v} for i, v in enumerate(values)]
    ascending = [d["v"] for d in run_query(docs, sort=[("v", 1)])]
    descending = [d["v"] for d in run_query(docs, sort=[("v", -1)])]
    expected = sorted(values, key=functools.cmp_to_key(bson_compare))
    assert [bson_compare(x, y) for x, y in zip(ascending, expected, strict=True)] == [0] * len(
        values
    )
    assert all(bson_compare(x, y) >= 0 for x, y in itertools.pairwise(descending))
    key = compile_sort([("v", 1)])
    for x in docs:
        for y in docs:
            assert (key(x) < key(y)) == (bson_compare(x["v"], y["v"]) < 0)


@FAST
@given(docs=st.lists(DOCS, max_size=6), skip=st.integers(0, 7), limit=st.integers(0, 7))
def test_skip_and_limit_slice_the_sorted_result(docs, skip, limit):
    everything = run_query(docs, sort=[("a", 1)])
    window = run_query(docs, sort=[("a", 1)], skip=skip, limit=limit)
    assert window == everything[skip : skip + limit if limit else None]


CONDITIONS = st.tuples(
    PATHS, st.sampled_from(["$eq", "$gt", "$lte", "$in", "$ne", "$exists", "$regex"]), VALUES
)


def _condition(path, operator, value):
    if operator == "$in":
        return {path: {"$in": [value, "b"]}}
    if operator == "$regex":
        return {path: {"$regex": "^a" if not isinstance(value, str) else value.replace("é", "e")}}
    if operator == "$exists":
        return {path: {"$exists": bool(value)}}
    return {path: {operator: value}}


@FAST
@given(doc=DOCS, conditions=st.lists(CONDITIONS, min_size=1, max_size=5))
def test_fused_conjunctions_equal_the_separate_predicates(doc, conditions):
    filters = [_condition(*c) for c in conditions]
    separate = all(compile_filter(f)(doc) for f in filters)
    assert compile_filter({"$and": filters})(doc) == separate
    assert compile_filter({"$and": filters})(frozen(doc)) == separate


def as_tuples(value):
    """The same value with every list a tuple: still an array to the engine, but not one
    the generated shortcuts (which test ``__class__ is list``) take."""
    if isinstance(value, dict):
        return {k: as_tuples(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(as_tuples(v) for v in value)
    return value


@FAST
@given(
    doc=DOCS,
    path=PATHS,
    text=st.text(alphabet="ab1é", max_size=3),
    others=st.lists(st.text(alphabet="ab", max_size=2), max_size=2),
)
def test_string_shortcuts_on_arrays_agree_with_the_general_traversal(doc, path, text, others):
    for filter in ({path: text}, {path: {"$eq": text}}, {path: {"$in": [text, *others]}}):
        predicate = compile_filter(filter)
        assert predicate(doc) == predicate(as_tuples(doc)), filter
