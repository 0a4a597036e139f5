"""MongoDB 7.0 find filters and sorts, evaluated in-process over Python dicts.

The local backends (TinyDB, in-memory) answer ``find`` with this module, and the MongoDB backend
passes the very same filter to the server, so the results must be MongoDB's, not another
emulator's. A filter is validated and compiled once into closures specialised per operator and
per path; matching a document is then a few dict lookups in the common (no array) case.

Semantics follow MongoDB's manual and its server tests: implicit equality that also matches
array elements; dotted paths that fan out over arrays of documents and read numeric components
both as array indexes and as field names; ``null`` matching missing fields; type bracketing for
``$gt``-style comparisons; ``$ne``/``$nin``/``$not`` as negations of the array-aware positive
match. ``$where``, ``$function`` and ``$accumulator`` are refused anywhere; ``$expr``, ``$text``,
``$jsonSchema``, geo and bitwise operators are refused as unsupported. Regular expressions run
in linear time (see :mod:`assetstore._regex`).

Cost: a filter is refused when compiled if its regular expressions would cost too much to
run (the sum of their RE2 program sizes, one per clause, over ``max_regex_cost``); and inside
:func:`time_limit` (what the HTTP service wraps every query in, like MongoDB's
``maxTimeMS``) evaluation counts the time it spends and stops with
:class:`~assetstore.errors.QueryTimeoutError` once the limit has passed.
"""

from __future__ import annotations

import contextlib
import contextvars
import decimal
import functools
import heapq
import itertools
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final, NamedTuple

from assetstore._bson import (
    COMPARISON_OPERATORS,
    INT32_MAX,
    INT32_MIN,
    INT64_MAX,
    INT64_MIN,
    MISSING,
    RANK_NUMBER,
    RANK_REGEX,
    RANK_STRING,
    RANK_UNKNOWN,
    Decimal128,
    MissingType,
    Regex,
    array_index,
    as_mapping,
    bson_compare,
    comparison_test,
    equality_test,
    is_array,
    is_document,
    membership_test,
    mod_dividend,
    mod_operand,
    rank,
    regex_flags_string,
    truth_value,
    type_test,
)
from assetstore._regex import BoundedRegex, compile_regex
from assetstore._sorting import compile_sort
from assetstore.errors import InvalidQueryError, QueryTimeoutError

__all__ = [
    "MAX_REGEX_COST",
    "bson_compare",
    "compile_filter",
    "compile_sort",
    "run_query",
    "time_limit",
    "validate_filter",
]

Predicate = Callable[[Mapping[str, Any]], bool]
ValuePredicate = Callable[[Any], bool]

_FORBIDDEN: Final = frozenset({"$where", "$function", "$accumulator"})
_UNSUPPORTED: Final = frozenset(
    {"$expr", "$text", "$jsonSchema", "$near", "$nearSphere", "$geoWithin", "$within"}
    | {"$geoIntersects", "$bitsAllSet", "$bitsAllClear", "$bitsAnySet", "$bitsAnyClear"}
    | {"$sampleRate", "$alwaysTrue", "$alwaysFalse", "$maxDistance", "$minDistance"}
)
_PATHLESS: Final = frozenset({"$and", "$or", "$nor", "$comment", "$ref", "$id", "$db"}) | (
    _FORBIDDEN | {"$expr", "$text", "$jsonSchema", "$sampleRate", "$alwaysTrue", "$alwaysFalse"}
)
_FIELD_OPERATORS: Final = frozenset(
    {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$not", "$exists", "$type"}
    | {"$regex", "$options", "$mod", "$all", "$elemMatch", "$size"}
)
# Exact classes that are never arrays (checked before the slower isinstance test).
_SCALAR: Final = frozenset({str, int, float, bool, type(None), MissingType})
_PLAIN: Final = _SCALAR | {dict}


#: The most a filter's regular expressions may cost: the sum of their RE2 program sizes,
#: each counted once per clause that uses it (case folding included). Ordinary patterns
#: cost 10 to 300.
MAX_REGEX_COST: Final = 10_000
#: Seconds one search may take per unit of cost and character of text, at worst: when
#: RE2's DFA gives up, its NFA handles up to every instruction for every byte (54 ns
#: measured for ``(?:a?){1000}b`` with ``i``; doubled for multi-byte characters).
_WORST_SECONDS_PER_STEP: Final = 1e-7


class _Clock:
    """The evaluation time a block may spend, shared by every filter compiled in it (a
    page and its count): like MongoDB's ``maxTimeMS``, processing time only. Waiting, for
    a worker or for a client that reads slowly, does not count."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.spent = 0.0
        self.since: float | None = None  # when the evaluation of the current document began

    def left(self, now: float) -> float:
        """Seconds of evaluation still allowed, at ``now``."""
        running = now - self.since if self.since is not None else 0.0
        return self.seconds - self.spent - running

    def timed_out(self) -> QueryTimeoutError:
        return QueryTimeoutError(
            f"the query ran past its time limit of {self.seconds:g} s (query_time_limit); "
            "narrow the filter or make its patterns simpler"
        )


_time_limit: contextvars.ContextVar[_Clock | None] = contextvars.ContextVar(
    "assetstore_query_time_limit", default=None
)


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Filters compiled inside the block may spend ``seconds`` evaluating documents, in all
    (None: no limit); past it they raise :class:`~assetstore.errors.QueryTimeoutError`.
    Nested limits keep the tighter one. The limit is a context variable, so it follows the
    work into ``asyncio``/``anyio`` worker threads."""
    current = _time_limit.get()
    token = None
    if seconds is not None and (current is None or current.left(time.monotonic()) > seconds):
        token = _time_limit.set(_Clock(seconds))
    try:
        yield
    finally:
        if token is not None:
            _time_limit.reset(token)


class _Budget:
    """What compiling one filter may still spend on regular expressions, and the time
    limit its evaluation runs under (if any).

    A search is one C call that cannot be interrupted, so under a time limit each search
    first checks that even at its worst (cost x length of the text) it would end within the
    time left, and refuses to start otherwise: the limit then holds for the whole query,
    not only between documents."""

    def __init__(self, max_regex_cost: int, limit: _Clock | None) -> None:
        self.left = max_regex_cost
        self.max_regex_cost = max_regex_cost
        self.limit = limit

    def search(self, regex: BoundedRegex) -> Callable[[str], bool]:
        """``regex.search``, charged to the budget; under a time limit it checks the clock
        before each search (see the class docstring)."""
        self.left -= regex.cost
        if self.left < 0:
            raise InvalidQueryError(
                f"the filter's regular expressions cost more than the limit "
                f"max_regex_cost={self.max_regex_cost} (RE2 program size, summed over the "
                f"clauses; {regex.pattern[:40]!r} alone costs {regex.cost}); use fewer or "
                "simpler patterns"
            )
        search = regex.search
        limit = self.limit
        if limit is None:
            return search
        clock = time.monotonic
        step = regex.cost * _WORST_SECONDS_PER_STEP

        def timed_search(text: str) -> bool:
            if step * len(text) > limit.left(clock()):
                raise limit.timed_out()
            return search(text)

        return timed_search


def _with_deadline(predicate: Predicate, limit: _Clock) -> Predicate:
    """``predicate``, adding the time each document takes to ``limit``'s account."""
    clock = time.monotonic

    def timed(doc: Mapping[str, Any]) -> bool:
        limit.since = started = clock()
        try:
            return predicate(doc)
        finally:
            limit.since = None
            limit.spent += clock() - started
            if limit.spent > limit.seconds:
                raise limit.timed_out()  # the time limit wins over the answer

    return timed


def _match_all(doc: Mapping[str, Any]) -> bool:
    return True


def _match_none(doc: Any) -> bool:
    return False


# --------------------------------------------------------------------------- limits and values


def _check_limits(filter: Mapping[str, Any], max_depth: int, max_nodes: int) -> None:
    """One iterative pass: nesting depth, node count, key and value types, forbidden keys.

    Every key and every value (a list element, a sub-document, a scalar) is one node; the
    count is checked before a container's children are looked at, so an oversized filter is
    refused without scanning it."""
    if max_depth < 1 or max_nodes < 1:
        raise ValueError("max_depth and max_nodes must be positive")
    nodes = 0
    stack: list[tuple[Any, int]] = [(filter, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            raise InvalidQueryError(f"filter is nested deeper than the limit max_depth={max_depth}")
        document = is_document(value)
        container = as_mapping(value) if document else value
        nodes += len(container) * (2 if document else 1)
        if nodes > max_nodes:
            raise InvalidQueryError(
                f"filter has more than the limit max_nodes={max_nodes} operators and values"
            )
        for key, child in container.items() if document else enumerate(container):
            if document:
                if not isinstance(key, str):
                    raise InvalidQueryError(f"field names must be strings, not {key!r}")
                if key in _FORBIDDEN:
                    raise InvalidQueryError(f"{key} is forbidden: it would run server-side code")
            if is_document(child) or is_array(child):
                stack.append((child, depth + 1))
            else:
                _check_scalar(child)


def _check_scalar(value: Any) -> None:
    r = rank(value)
    if r == RANK_UNKNOWN or isinstance(value, decimal.Decimal):
        hint = " (use bson.Decimal128)" if isinstance(value, decimal.Decimal) else ""
        raise InvalidQueryError(f"unsupported value of type {type(value).__name__}{hint}")
    if r == RANK_NUMBER and isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise InvalidQueryError(f"integer {value} does not fit in 64 bits")


def _is_regex(value: Any) -> bool:
    return isinstance(value, (re.Pattern, Regex))


def _is_operator_doc(value: Any) -> bool:
    """MongoDB's isExpressionDocument: an object whose first field starts with '$' and that
    is not a DBRef (``$ref`` and ``$id``)."""
    if not is_document(value):
        return False
    mapping = as_mapping(value)
    first = next(iter(mapping), None)
    if not isinstance(first, str) or not first.startswith("$"):
        return False
    return not ("$ref" in mapping and "$id" in mapping)


# --------------------------------------------------------------------------- compiled operators


class _Op:
    """A field operator: a leaf value test, or a negation / conjunction of operators."""

    __slots__ = ("arrays", "children", "expand", "fast", "kind", "vp")

    def __init__(
        self,
        kind: str,
        vp: ValuePredicate | None = None,
        *,
        expand: bool = True,
        arrays: bool = False,
        children: tuple[_Op, ...] = (),
        fast: _Fast | None = None,
    ) -> None:
        self.kind = kind  # "leaf", "not", "and" or "false"
        self.vp = vp  # for a leaf: MongoDB's matchesSingleElement
        self.expand = expand  # leaf arrays are searched element by element
        self.arrays = arrays  # the vp can accept a whole array value
        self.children = children
        self.fast = fast


class _Fast(NamedTuple):
    """A shortcut for the common case, inlined into the generated predicate: when the value
    found is exactly a ``str`` (guard "str") or an ``int``/``float`` (guard "num"), the
    answer is ``expr``, Python source over the value ``w`` and the constant ``RHS``."""

    guard: str
    expr: str
    rhs: Any
    # How a list value is shortcut: "disjoint" (RHS is a set of strings: no common element,
    # no match), "member" (RHS is a string: MongoDB's "an element equals it" is exactly
    # Python's `RHS in w`, a str being equal only to a str), or "" (no shortcut).
    lists: str = ""


_FAST_OPERATORS: Final = {"$eq": "==", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def _fast_compare(name: str, rhs: Any) -> _Fast | None:
    """The shortcut for ``$eq/$gt/$gte/$lt/$lte`` with a plain string or number operand."""
    symbol = _FAST_OPERATORS[name]
    cls = rhs.__class__
    if cls is str:
        return _Fast("str", f"w {symbol} RHS", rhs, lists="member" if name == "$eq" else "")
    if cls is int or (cls is float and rhs == rhs):
        return _Fast("num", f"w {symbol} RHS", rhs)
    return None


def _fast_in(values: Any) -> _Fast | None:
    if values and all(v.__class__ is str for v in values):
        return _Fast("str", "w in RHS", frozenset(values), lists="disjoint")
    return None


def _not(op: _Op) -> _Op:
    return _Op("not", children=(op,))


def _equality_op(value: Any) -> _Op:
    """Equality to ``value`` (an implicit ``{field: value}``, ``$eq`` or an ``$all`` item)."""
    vp, arrays = equality_test(value)
    return _Op("leaf", vp, arrays=arrays, fast=_fast_compare("$eq", value))


def _regex_op(value: Any, options: str | None, budget: _Budget) -> _Op:
    """A ``$regex``: matches strings (and a stored regex with the same pattern and flags)."""
    if _is_regex(value):
        pattern, flags = regex_flags_string(value)
    elif isinstance(value, str):
        pattern, flags = value, ""
    else:
        raise InvalidQueryError("$regex has to be a string")
    if options is not None:
        if flags:
            raise InvalidQueryError("options set in both $regex and $options")
        flags = options
    search = budget.search(compile_regex(pattern, flags))

    def regex_vp(v: Any) -> bool:
        if v.__class__ is str:
            return search(v)
        r = rank(v)
        if r == RANK_STRING:
            return search(str.__str__(v))
        if r == RANK_REGEX:
            return regex_flags_string(v) == (pattern, flags)
        return False

    return _Op("leaf", regex_vp, fast=_Fast("str", "RHS(w)", search))


def _in_vp(values: Any, budget: _Budget) -> tuple[ValuePredicate, bool]:
    """``$in``: equality to any listed value, or a match of any listed regex."""
    if not is_array(values):
        raise InvalidQueryError("$in/$nin needs an array")
    regexes: list[ValuePredicate] = []
    equalities: list[Any] = []
    for value in values:
        if _is_operator_doc(value):
            raise InvalidQueryError("cannot nest $ under $in")
        if _is_regex(value):
            regex = _regex_op(value, None, budget).vp
            assert regex is not None
            regexes.append(regex)
        else:
            equalities.append(value)
    return membership_test(equalities, regexes)


def _size_value(arg: Any) -> int:
    if rank(arg) != RANK_NUMBER or isinstance(arg, Decimal128):  # bool ranks as bool
        raise InvalidQueryError("$size needs a number")
    if isinstance(arg, float) and (not math.isfinite(arg) or arg != int(arg)):
        raise InvalidQueryError("$size must be a whole number")
    size = int(arg)
    if not INT32_MIN <= size <= INT32_MAX:
        raise InvalidQueryError("$size must be representable as a 32-bit integer")
    if size < 0:
        raise InvalidQueryError("$size may not be negative")
    return size


def _doc_view(value: Any) -> Mapping[str, Any]:
    """An $elemMatch element as the document MongoDB sees (arrays have fields "0", "1"...)."""
    if is_array(value):
        return {str(i): v for i, v in enumerate(value)}
    return as_mapping(value)


class _Compiler:
    """Turns a validated filter into predicates (recursion bounded by ``max_depth``)."""

    def __init__(self, budget: _Budget) -> None:
        self.budget = budget

    def document(self, spec: Mapping[str, Any]) -> Predicate:
        predicates: list[Predicate] = []
        for key, value in as_mapping(spec).items():
            if key.startswith("$"):
                predicates.extend(self.top_level(key, value))
            elif _is_operator_doc(value):
                predicates.extend(self.lower(key, op) for op in self.operators(value))
            elif _is_regex(value):
                predicates.append(self.lower(key, _regex_op(value, None, self.budget)))
            else:
                predicates.append(self.lower(key, _equality_op(value)))
        return _all_of(predicates)

    def top_level(self, key: str, value: Any) -> list[Predicate]:
        if key in ("$and", "$or", "$nor"):
            if not is_array(value):
                raise InvalidQueryError(f"{key} must be an array")
            if not value:
                raise InvalidQueryError(f"{key} must be a nonempty array")
            subs = []
            for item in value:
                if not is_document(item):
                    raise InvalidQueryError(f"{key} entries need to be full objects")
                subs.append(self.document(item))
            if key == "$and":
                return [_all_of(subs)]
            either = _any_of(subs)
            return [either] if key == "$or" else [lambda doc: not either(doc)]
        if key == "$comment":
            return []
        if key in _UNSUPPORTED:
            raise InvalidQueryError(f"{key} is not supported by the assetstore query engine")
        raise InvalidQueryError(
            f"unknown top level operator: {key} (allowed: $and, $or, $nor, $comment)"
        )

    def operators(self, spec: Mapping[str, Any]) -> list[_Op]:
        """The operators of ``{field: {$op: arg, ...}}`` (MongoDB's parseSub)."""
        spec = as_mapping(spec)
        ops: list[_Op] = []
        for name, arg in spec.items():
            if name == "$regex":
                options = spec.get("$options")
                if "$options" in spec and not isinstance(options, str):
                    raise InvalidQueryError("$options has to be a string")
                ops.append(_regex_op(arg, options, self.budget))
            elif name == "$options":
                if "$regex" not in spec:
                    raise InvalidQueryError("$options needs a $regex")
            else:
                ops.append(self.operator(name, arg))
        return ops

    def operator(self, name: str, arg: Any) -> _Op:
        if name in ("$ne", "$gt", "$gte", "$lt", "$lte") and _is_regex(arg):
            raise InvalidQueryError(f"Can't have RegEx as arg to {name}")
        if name == "$eq" or name == "$ne":
            op = _equality_op(arg)
            return op if name == "$eq" else _not(op)
        if name in COMPARISON_OPERATORS:
            vp, arrays = comparison_test(name, arg)
            return _Op("leaf", vp, arrays=arrays, fast=_fast_compare(name, arg))
        if name == "$in" or name == "$nin":
            vp, arrays = _in_vp(arg, self.budget)
            op = _Op("leaf", vp, arrays=arrays, fast=_fast_in(arg))
            return op if name == "$in" else _not(op)
        if name == "$exists":
            op = _Op("leaf", lambda v: v is not MISSING, arrays=True)
            return op if truth_value(arg) else _not(op)
        if name == "$type":
            vp, arrays = type_test(arg)
            return _Op("leaf", vp, arrays=arrays)
        if name == "$not":
            return _not(self.negated(arg))
        if name == "$size":
            size = _size_value(arg)
            return _Op("leaf", lambda v: is_array(v) and len(v) == size, expand=False, arrays=True)
        if name == "$mod":
            return self.mod(arg)
        if name == "$all":
            return self.all(arg)
        if name == "$elemMatch":
            return self.elem_match(arg)
        if name in _UNSUPPORTED:
            raise InvalidQueryError(f"{name} is not supported by the assetstore query engine")
        raise InvalidQueryError(f"unknown operator: {name}")

    def negated(self, arg: Any) -> _Op:
        """The operand of ``$not``: a regex or a non-empty operator document."""
        if _is_regex(arg):
            return _regex_op(arg, None, self.budget)
        if not is_document(arg):
            raise InvalidQueryError("$not needs a regex or a document")
        if not as_mapping(arg):
            raise InvalidQueryError("$not cannot be empty")
        for name in as_mapping(arg):
            if not name.startswith("$"):
                raise InvalidQueryError(f"unknown operator: {name}")
        return _Op("and", children=tuple(self.operators(arg)))

    def mod(self, arg: Any) -> _Op:
        if not is_array(arg):
            raise InvalidQueryError("malformed mod, needs to be an array")
        if len(arg) < 2:
            raise InvalidQueryError("malformed mod, not enough elements")
        if len(arg) > 2:
            raise InvalidQueryError("malformed mod, too many elements")
        divisor = mod_operand(arg[0], "divisor")
        remainder = mod_operand(arg[1], "remainder")
        if divisor == 0:
            raise InvalidQueryError("divisor cannot be 0")
        magnitude = abs(divisor)

        def mod_vp(v: Any) -> bool:
            dividend = mod_dividend(v)
            if dividend is None:
                return False
            result = abs(dividend) % magnitude  # C semantics: the sign follows the dividend
            return (-result if dividend < 0 else result) == remainder

        return _Op("leaf", mod_vp)

    def all(self, arg: Any) -> _Op:
        if not is_array(arg):
            raise InvalidQueryError("$all needs an array")
        if not arg:
            return _Op("false")
        first = arg[0]
        if is_document(first) and next(iter(as_mapping(first)), None) == "$elemMatch":
            children = []
            for item in arg:
                if not is_document(item) or next(iter(as_mapping(item)), None) != "$elemMatch":
                    raise InvalidQueryError("$all/$elemMatch has to be consistent")
                children.append(self.elem_match(as_mapping(item)["$elemMatch"]))
            return _Op("and", children=tuple(children))
        children = []
        for item in arg:
            if _is_regex(item):
                children.append(_regex_op(item, None, self.budget))
            elif is_document(item) and next(iter(as_mapping(item)), None) in (
                _FIELD_OPERATORS | _UNSUPPORTED
            ):
                raise InvalidQueryError("no $ expressions in $all")
            else:
                children.append(_equality_op(item))
        return _Op("and", children=tuple(children))

    def elem_match(self, arg: Any) -> _Op:
        if not is_document(arg):
            raise InvalidQueryError("$elemMatch needs an Object")
        spec = as_mapping(arg)
        first = next(iter(spec), None)
        dbref = any(k in spec for k in ("$ref", "$id", "$db"))
        if (
            isinstance(first, str)
            and first.startswith("$")
            and not dbref
            and (first not in _PATHLESS)
        ):
            tests = tuple(self.single(op) for op in self.operators(spec))

            def elem_match_value(v: Any) -> bool:
                if not is_array(v):
                    return False
                return any(all(test(e) for test in tests) for e in v)

            return _Op("leaf", elem_match_value, expand=False, arrays=True)
        sub = self.document(spec)

        def elem_match_object(v: Any) -> bool:
            if not is_array(v):
                return False
            return any(sub(_doc_view(e)) for e in v if is_document(e) or is_array(e))

        return _Op("leaf", elem_match_object, expand=False, arrays=True)

    def lower(self, path: str, op: _Op) -> Predicate:
        """An operator applied to a document path (the path is searched as MongoDB does)."""
        if op.kind == "leaf":
            assert op.vp is not None
            return _path_predicate(path, op.vp, op.expand, op.arrays, op.fast)
        if op.kind == "false":
            return _match_none
        children = [self.lower(path, child) for child in op.children]
        if op.kind == "and":
            return _all_of(children)
        child = children[0]
        return lambda doc: not child(doc)

    def single(self, op: _Op) -> ValuePredicate:
        """An operator applied to one array element ($elemMatch's value form)."""
        if op.kind == "leaf":
            assert op.vp is not None
            return op.vp
        if op.kind == "false":
            return _match_none
        tests = [self.single(child) for child in op.children]
        if op.kind == "and":
            return lambda v: all(test(v) for test in tests)
        test = tests[0]
        return lambda v: not test(v)


def _all_of(predicates: list[Predicate]) -> Predicate:
    leaves = [p.leaf for p in predicates if hasattr(p, "leaf")]
    if len(leaves) > 1:
        others = [p for p in predicates if not hasattr(p, "leaf")]
        chunks = range(0, len(leaves), _MAX_FUSED_LEAVES)
        fused = [_compile_leaves(leaves[i : i + _MAX_FUSED_LEAVES]) for i in chunks]
        predicates = [*fused, *others]
    if not predicates:
        return _match_all
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda doc: first(doc) and second(doc)
    frozen = tuple(predicates)

    def all_of(doc: Mapping[str, Any]) -> bool:
        for predicate in frozen:  # noqa: SIM110 - a loop beats all() + generator here
            if not predicate(doc):
                return False
        return True

    return all_of


def _any_of(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 1:
        return predicates[0]
    frozen = tuple(predicates)

    def any_of(doc: Mapping[str, Any]) -> bool:
        for predicate in frozen:  # noqa: SIM110 - a loop beats any() + generator here
            if predicate(doc):
                return True
        return False

    return any_of


# --------------------------------------------------------------------------- path traversal


def _match_from(
    cur: Mapping[str, Any], parts: tuple[str, ...], i: int, vp: ValuePredicate, expand: bool
) -> bool:
    """MongoDB's BSONElementIterator: does any value reached by ``parts[i:]`` satisfy ``vp``?

    Sub-documents are walked; the first array met either ends the path (its elements are
    tested, then the array itself) or is fanned out over (each document element continues the
    path, and a numeric component also selects the element at that offset). A path that runs
    into a scalar or a missing field yields one "missing" value.
    """
    last = len(parts) - 1
    while True:
        v = cur.get(parts[i], MISSING)
        if is_array(v):
            if i == last:
                if expand:
                    for e in v:
                        if vp(e):
                            return True
                return vp(v)
            return _match_array(v, parts, i + 1, vp, expand)
        if i == last:
            return vp(v)
        if not is_document(v):
            return vp(MISSING)
        cur = as_mapping(v)
        i += 1


def _match_array(
    array: Any, parts: tuple[str, ...], j: int, vp: ValuePredicate, expand: bool
) -> bool:
    index = array_index(parts[j])
    last = j == len(parts) - 1
    for k, e in enumerate(array):
        if is_document(e):
            if _match_from(as_mapping(e), parts, j, vp, expand):
                return True
            if k == index:
                if last:
                    if vp(e):
                        return True
                elif _match_from(as_mapping(e), parts, j + 1, vp, expand):
                    return True
        elif k == index:
            if last:
                if vp(e):
                    return True
            elif is_array(e) and _match_array(e, parts, j + 1, vp, expand):
                return True
    return False


_GUARDS: Final = {"str": "w.__class__ is str", "num": "w.__class__ is int or w.__class__ is float"}
# Bounds on generated code (Python allows 100 indentation levels); beyond them, plain closures.
_MAX_GENERATED_DEPTH: Final = 16
_MAX_FUSED_LEAVES: Final = 16


class _Leaf(NamedTuple):
    """What the generated code needs to test one operator at one path."""

    parts: tuple[str, ...]
    guard: str  # "" when there is no shortcut
    expr: str
    rhs: Any
    missing: bool  # the answer when the path runs into a scalar or a missing field
    general: Predicate  # MongoDB's full traversal, for anything but plain dicts
    leaf: ValuePredicate  # the test of the value found, arrays included
    lists: str  # the shortcut for a list value (see _Fast.lists)


def _leaf_block(j: int, depth: int, guard: str, expr: str, lists: str) -> list[str]:
    """Lines that ``return False`` unless conjunct ``j`` holds, and fall through if it does."""
    indent = " " * 8
    lines = [f"{indent}{'w' if depth == 1 else 'v'} = doc.get(K{j}_0, MISSING)"]
    for i in range(1, depth):
        lines += [
            f"{indent}if v.__class__ is not dict:",
            f"{indent}    if not (MR{j} if v.__class__ in SCALAR else G{j}(doc)):",
            f"{indent}        return False",
            f"{indent}else:",
        ]
        indent += "    "
        lines.append(f"{indent}{'w' if i == depth - 1 else 'v'} = v.get(K{j}_{i}, MISSING)")
    if guard:
        lines += [
            f"{indent}if {_GUARDS[guard]}:",
            f"{indent}    if not ({expr.replace('RHS', f'RHS{j}')}):",
            f"{indent}        return False",
        ]
        if lists == "member":  # a string operand: an element equals it, or no match
            lines += [
                f"{indent}elif w.__class__ is list:",
                f"{indent}    if RHS{j} not in w:",
                f"{indent}        return False",
            ]
        if lists == "disjoint":  # an array of strings: no common element means no match
            lines += [
                f"{indent}elif w.__class__ is list:",
                f"{indent}    try:",
                f"{indent}        if RHS{j}.isdisjoint(w):",
                f"{indent}            return False",
                f"{indent}    except TypeError:",
                f"{indent}        pass",
                f"{indent}    if not L{j}(w):",
                f"{indent}        return False",
            ]
        lines += [f"{indent}elif not L{j}(w):", f"{indent}    return False"]
    else:
        lines += [f"{indent}if not L{j}(w):", f"{indent}    return False"]
    return lines


@functools.lru_cache(maxsize=256)
def _conjunction_factory(
    shapes: tuple[tuple[int, str, str, str], ...],
) -> Callable[..., Predicate]:
    """A compiled factory for the conjunction of leaves of the given (depth, guard, expr,
    lists) shapes. Only fixed text from this module goes into the source; keys and operands are
    passed to the factory and become closure variables."""
    names = ["MISSING", "SCALAR"]
    body: list[str] = []
    for j, (depth, guard, expr, lists) in enumerate(shapes):
        names += [f"K{j}_{i}" for i in range(depth)] + [f"RHS{j}", f"MR{j}", f"G{j}", f"L{j}"]
        body += _leaf_block(j, depth, guard, expr, lists)
    header = [f"def factory({', '.join(names)}):", "    def predicate(doc):"]
    source = "\n".join([*header, *body, "        return True", "    return predicate"])
    namespace: dict[str, Any] = {}
    exec(compile(source, "<assetstore.query predicate>", "exec"), namespace)
    factory: Callable[..., Predicate] = namespace["factory"]
    return factory


def _compile_leaves(leaves: list[_Leaf]) -> Predicate:
    """One generated function testing all the leaves (a conjunction)."""
    shapes = tuple((len(leaf.parts), leaf.guard, leaf.expr, leaf.lists) for leaf in leaves)
    args: list[Any] = [MISSING, _SCALAR]
    for leaf in leaves:
        args += [*leaf.parts, leaf.rhs, leaf.missing, leaf.general, leaf.leaf]
    predicate = _conjunction_factory(shapes)(*args)
    if len(leaves) == 1:
        predicate.leaf = leaves[0]  # type: ignore[attr-defined]
    return predicate


def _path_predicate(
    path: str, vp: ValuePredicate, expand: bool, arrays: bool, fast: _Fast | None = None
) -> Predicate:
    """A predicate for ``vp`` at ``path``: plain dicts along the path and a value of the
    shortcut's type are answered inline; anything else takes MongoDB's general traversal."""
    parts = tuple(path.split("."))

    def general(doc: Mapping[str, Any]) -> bool:
        return _match_from(doc, parts, 0, vp, expand)

    def leaf(w: Any) -> bool:
        c = w.__class__
        if c is list or c is tuple or (c not in _PLAIN and is_array(w)):
            if not expand:
                return vp(w)
            for e in w:
                if vp(e):
                    return True
            return arrays and vp(w)
        return vp(w)

    if len(parts) > _MAX_GENERATED_DEPTH:
        return general
    guard, expr, rhs = (fast.guard, fast.expr, fast.rhs) if fast else ("", "", None)
    lists = fast.lists if fast and expand else ""
    missing = bool(vp(MISSING))
    return _compile_leaves([_Leaf(parts, guard, expr, rhs, missing, general, leaf, lists)])


# --------------------------------------------------------------------------- public API


def compile_filter(
    filter: Mapping[str, Any] | None,
    *,
    max_depth: int = 100,
    max_nodes: int = 10_000,
    max_regex_cost: int = MAX_REGEX_COST,
) -> Callable[[Mapping[str, Any]], bool]:
    """Validates a MongoDB find filter and compiles it into ``pred(doc) -> bool``.

    ``None`` or ``{}`` matches every document. ``max_depth`` bounds the nesting of documents
    and arrays in the filter (logical operators, ``$not``, ``$elemMatch``, sub-documents);
    ``max_nodes`` bounds the number of keys and values (every operator and operand counts);
    ``max_regex_cost`` bounds the summed RE2 program sizes of its regular expressions.
    Raises :class:`InvalidQueryError` for a malformed, forbidden, unsupported or oversized
    filter; the result then equals MongoDB 7.0's for every document. Compiled inside
    :func:`time_limit`, the predicate raises :class:`QueryTimeoutError` once it has passed.
    """
    if filter is None:
        return _match_all
    if not is_document(filter):
        raise InvalidQueryError(f"a filter must be a mapping, not {type(filter).__name__}")
    _check_limits(filter, max_depth, max_nodes)
    if not as_mapping(filter):
        return _match_all
    limit = _time_limit.get()
    try:
        predicate = _Compiler(_Budget(max_regex_cost, limit)).document(filter)
    except RecursionError:
        raise InvalidQueryError("filter is too deeply nested") from None
    return predicate if limit is None else _with_deadline(predicate, limit)


def validate_filter(
    filter: Mapping[str, Any] | None,
    *,
    max_depth: int = 100,
    max_nodes: int = 10_000,
    max_regex_cost: int = MAX_REGEX_COST,
) -> None:
    """Raises :class:`InvalidQueryError` exactly when :func:`compile_filter` would."""
    compile_filter(filter, max_depth=max_depth, max_nodes=max_nodes, max_regex_cost=max_regex_cost)


# --------------------------------------------------------------------------- sorting


def _check_count(name: str, value: Any) -> int:
    if value.__class__ is bool or not isinstance(value, int):
        raise InvalidQueryError(f"{name} must be an integer, not {value!r}")
    if value < 0:
        raise InvalidQueryError(f"{name} must not be negative, got {value}")
    return value


def run_query(
    docs: Iterable[Mapping[str, Any]],
    filter: Mapping[str, Any] | None = None,
    sort: Any = None,
    skip: int = 0,
    limit: int | None = None,
) -> list[Mapping[str, Any]]:
    """Filters, then sorts, then skips, then limits ``docs``, as a MongoDB ``find`` does.

    ``limit`` None or 0 means no limit. Raises :class:`InvalidQueryError` for a bad filter or
    sort, a negative ``skip`` or ``limit``, or (like MongoDB) a sort over parallel arrays.
    """
    skip = _check_count("skip", skip)
    limit = 0 if limit is None else _check_count("limit", limit)
    predicate = compile_filter(filter)
    key = compile_sort(sort)
    matched: Iterable[Mapping[str, Any]] = (
        docs if predicate is _match_all else (d for d in docs if predicate(d))
    )
    if key is None:
        stop = skip + limit if limit else None
        return list(itertools.islice(matched, skip, stop))
    if limit:
        return heapq.nsmallest(skip + limit, matched, key=key)[skip:]
    return sorted(matched, key=key)[skip:]
