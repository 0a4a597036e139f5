"""Indexes never change an answer: for random documents and filters, a store that plans
through its indexes returns exactly what a scan of every document returns, in the same
order; and the indexes stay right across writes (puts, replacements, deletes)."""

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assetstore._planner import plan
from assetstore.backends._snapshots import Snapshot, _SnapshotIndexes
from assetstore.backends.memory import MemoryDocumentStore
from assetstore.query import run_query

KEYS = st.sampled_from(["a", "b", "0"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, 2.5, 2**53 + 1]),
    st.text(alphabet="ab1é\n", max_size=3),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=2)),
    max_leaves=6,
)
PATHS = st.sampled_from(["a", "b", "a.b", "a.0", "b.a.0"])
INDEXED = ("a", "b", "a.b", "a.0", "b.a.0")


def documents():
    return st.lists(st.dictionaries(KEYS, VALUES, max_size=3), max_size=12)


def regexes():
    return st.builds(
        lambda prefix, tail: re.compile("^" + prefix + tail),
        st.text(alphabet="ab1é", min_size=0, max_size=2),
        st.sampled_from(["", ".*", "b*", "a?", "|b", "$", "[ab]"]),
    )


def conditions():
    scalar_or_value = st.one_of(SCALARS, VALUES)
    return st.one_of(
        scalar_or_value,
        regexes(),
        st.builds(lambda v: {"$eq": v}, scalar_or_value),
        st.builds(lambda v: {"$in": v}, st.lists(st.one_of(SCALARS, regexes()), max_size=3)),
        st.builds(lambda v: {"$all": v}, st.lists(SCALARS, max_size=3)),
        st.builds(lambda op, v: {op: v}, st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), SCALARS),
        st.builds(lambda lo, hi: {"$gte": lo, "$lt": hi}, SCALARS, SCALARS),
        st.builds(lambda v: {"$ne": v}, SCALARS),
        st.builds(lambda v: {"$exists": v}, st.booleans()),
        st.builds(lambda p: {"$regex": "^" + p}, st.text(alphabet="ab", max_size=2)),
    )


def filters():
    leaf = st.dictionaries(PATHS, conditions(), min_size=1, max_size=2)
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.builds(lambda xs: {"$and": xs}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda xs: {"$or": xs}, st.lists(inner, min_size=1, max_size=3)),
        ),
        max_leaves=4,
    )


SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))


def store_of(docs):
    store = MemoryDocumentStore("k", index_fields=INDEXED)
    keyed = [{**doc, "k": str(i)} for i, doc in enumerate(docs)]
    if keyed:
        store.insert_many(keyed)
    return store, keyed


@SETTINGS
@given(docs=documents(), filter=filters())
def test_an_indexed_find_equals_a_scan(docs, filter):
    store, keyed = store_of(docs)
    try:
        expected = run_query(keyed, filter)
    except Exception as exc:  # the filter itself is invalid: both must refuse it
        try:
            store.find(filter)
        except type(exc):
            return
        raise AssertionError(f"the store accepted a filter the engine refuses: {filter}") from None
    assert store.find(filter, shared=True) == expected
    assert store.count(filter) == len(expected)


@SETTINGS
@given(docs=documents(), filter=filters())
def test_a_plan_holds_every_match(docs, filter):
    store, keyed = store_of(docs)
    snapshot = store._current()
    try:
        expected = {int(d["k"]) for d in run_query(keyed, filter)}
    except Exception:
        return
    candidates = plan(filter, _SnapshotIndexes(snapshot, frozenset(INDEXED)))
    if candidates is not None:
        matched_slots = {snapshot.ids[str(k)] for k in expected}
        assert matched_slots <= candidates


@SETTINGS
@given(
    docs=documents(),
    changes=st.lists(
        st.tuples(st.integers(min_value=0, max_value=14), st.one_of(st.none(), VALUES)),
        max_size=10,
    ),
    filter=filters(),
)
def test_indexes_follow_writes(docs, changes, filter):
    store, keyed = store_of(docs)
    store.find(filter) if _valid(keyed, filter) else None  # builds the indexes it can use
    current = {d["k"]: d for d in keyed}
    for number, value in changes:
        key = str(number)
        if value is None:
            store.delete(key)
            current.pop(key, None)
        else:
            doc = {"a": value, "k": key, "revision": 1}
            if key in current:
                store.delete(key)
            store.insert(doc)
            current.pop(key, None)
            current[key] = doc
    if not _valid(list(current.values()), filter):
        return
    expected = run_query(list(store._current().documents()), filter)
    assert store.find(filter, shared=True) == expected
    assert sorted(d["k"] for d in expected) == sorted(
        d["k"] for d in run_query(list(current.values()), filter)
    )


def _valid(docs, filter):
    try:
        run_query(docs, filter)
    except Exception:
        return False
    return True


def test_a_snapshot_from_a_tinydb_table_keeps_its_order_and_ids():
    table = {"10": {"k": "c"}, "2": {"k": "a"}, "7": {"k": "b"}}
    snapshot = Snapshot(table, "k")
    assert [d["k"] for d in snapshot.documents()] == ["a", "b", "c"]
    after = snapshot.with_changes(puts=[{"k": "d"}], deletes=["b"])
    assert after.table == {"2": {"k": "a"}, "10": {"k": "c"}, "11": {"k": "d"}}
    assert snapshot.table == table  # the old snapshot is unchanged
