"""``$expr``: a safe subset of MongoDB's aggregation expressions, compiled once into closures.

What a filter can say with it that the query language cannot: compare two fields of the same
document (``{"$expr": {"$gt": ["$asset_metadata.accuracy", "$asset_metadata.baseline"]}}``),
or compute before comparing. Nothing here runs code: it is a fixed set of operators.

Supported, with MongoDB 7.0's semantics:

* field paths (``"$a.b"``, through arrays as aggregation does), ``$$ROOT``/``$$CURRENT``,
  ``$literal``, constants, arrays and objects of expressions;
* comparisons ``$eq $ne $gt $gte $lt $lte $cmp`` in BSON order (a missing field sorts below
  null and equals only another missing field), and ``$and $or $not`` by truthiness (false,
  null, 0 and missing are false; ``""`` and ``[]`` are true);
* ``$in``, ``$size``, ``$ifNull``, ``$cond``;
* arithmetic ``$add $subtract $multiply $divide $mod $abs`` (null or missing in, null out).

An expression that cannot be evaluated for a document (``$size`` of a non-array, a division
by zero, arithmetic on a string) fails the whole query, as on MongoDB, with
:class:`~assetstore.errors.InvalidQueryError`.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable, Mapping
from typing import Any, Final

from assetstore._bson import (
    INT64_MAX,
    INT64_MIN,
    MISSING,
    RANK_NUMBER,
    as_mapping,
    bson_compare,
    is_array,
    is_document,
    rank,
    sort_key,
    to_number,
    truth_value,
)
from assetstore.errors import InvalidQueryError

Expression = Callable[[Mapping[str, Any]], Any]

_COMPARE: Final[dict[str, Callable[[int], bool]]] = {
    "$eq": lambda c: c == 0,
    "$ne": lambda c: c != 0,
    "$gt": lambda c: c > 0,
    "$gte": lambda c: c >= 0,
    "$lt": lambda c: c < 0,
    "$lte": lambda c: c <= 0,
}
#: Operators a filter may not reach even inside ``$expr``: server-side code.
_FORBIDDEN: Final = frozenset({"$function", "$accumulator", "$where"})


class _Failure(InvalidQueryError):
    """An expression that cannot be evaluated for a document."""


_NUMBERS: Final = (int, float)


def _order(a: Any, b: Any) -> int:
    """-1, 0 or 1 in BSON order; strings with strings and numbers with numbers directly."""
    ca, cb = a.__class__, b.__class__
    if (ca is str and cb is str) or (ca in _NUMBERS and cb in _NUMBERS and a == a and b == b):
        return (a > b) - (a < b)
    return bson_compare(a, b)


def _path_value(value: Any, parts: tuple[str, ...]) -> Any:
    """``$a.b.c`` as aggregation reads it: through arrays, element by element; missing
    elements are skipped; the result of a path through an array is an array."""
    for index, part in enumerate(parts):
        if is_document(value):
            value = as_mapping(value).get(part, MISSING)
        elif is_array(value):
            rest = parts[index:]
            out = []
            for item in value:
                if is_document(item) or is_array(item):
                    found = _path_value(item, rest)
                    if found is not MISSING:
                        out.append(found)
            return out
        else:
            return MISSING
    return value


def _number(value: Any, op: str) -> int | float | decimal.Decimal:
    if value.__class__ is bool or rank(value) != RANK_NUMBER:
        raise _Failure(f"{op} only supports numeric types, not {_type_name(value)}")
    return to_number(value)


def _type_name(value: Any) -> str:
    if value is MISSING:
        return "missing"
    if value is None:
        return "null"
    if is_array(value):
        return "array"
    if is_document(value):
        return "object"
    return type(value).__name__


def _nullish(value: Any) -> bool:
    return value is None or value is MISSING


def _fit(number: Any) -> Any:
    """An integer result past 64 bits becomes a double, as MongoDB's arithmetic does."""
    if isinstance(number, int) and not INT64_MIN <= number <= INT64_MAX:
        return float(number)
    return number


class _Compiler:
    def __init__(self) -> None:
        self.nodes = 0

    def compile(self, spec: Any) -> Expression:
        self.nodes += 1
        if isinstance(spec, str):
            if spec.startswith("$$"):
                return self.variable(spec)
            if spec.startswith("$"):
                return self.field(spec)
            return lambda doc: spec
        if is_array(spec):
            items = [self.compile(item) for item in spec]
            return lambda doc: [item(doc) for item in items]
        if is_document(spec):
            spec = as_mapping(spec)
            keys = list(spec)
            if len(keys) == 1 and keys[0].startswith("$"):
                return self.operator(keys[0], spec[keys[0]])
            if any(key.startswith("$") for key in keys):
                raise InvalidQueryError(
                    "an expression object with an operator must have exactly one field: "
                    f"{sorted(keys)}"
                )
            fields = {key: self.compile(value) for key, value in spec.items()}

            def literal_object(doc: Mapping[str, Any]) -> Any:
                out = {}
                for key, item in fields.items():
                    value = item(doc)
                    if value is not MISSING:
                        out[key] = value
                return out

            return literal_object
        return lambda doc: spec

    def variable(self, spec: str) -> Expression:
        name, _, rest = spec[2:].partition(".")
        if name not in ("ROOT", "CURRENT"):
            raise InvalidQueryError(f"use of undefined variable: {name}")
        if not rest:
            return lambda doc: doc
        return self.field("$" + rest)

    def field(self, spec: str) -> Expression:
        parts = tuple(spec[1:].split("."))
        if any(not part or part.startswith("$") for part in parts):
            raise InvalidQueryError(f"invalid field path {spec!r}")
        if len(parts) == 1:
            name = parts[0]
            return lambda doc: doc.get(name, MISSING)

        def path(doc: Mapping[str, Any]) -> Any:
            value: Any = doc
            for part in parts:
                if value.__class__ is not dict:
                    return _path_value(doc, parts)
                value = value.get(part, MISSING)
            return value

        return path

    def arguments(self, op: str, args: Any, count: int | None = None) -> list[Expression]:
        items = list(args) if is_array(args) else [args]
        if count is not None and len(items) != count:
            raise InvalidQueryError(
                f"expression {op} takes exactly {count} arguments, {len(items)} were passed in"
            )
        return [self.compile(item) for item in items]

    def operator(self, op: str, args: Any) -> Expression:
        if op in _FORBIDDEN:
            raise InvalidQueryError(f"{op} is not allowed: assetstore never runs server-side code")
        if op == "$literal":
            return lambda doc: args
        if op in _COMPARE:
            left, right = self.arguments(op, args, 2)
            test = _COMPARE[op]
            return lambda doc: test(_order(left(doc), right(doc)))
        if op == "$cmp":
            left, right = self.arguments(op, args, 2)
            return lambda doc: _order(left(doc), right(doc))
        if op in ("$and", "$or"):
            items = self.arguments(op, args)
            if op == "$and":
                return lambda doc: all(truth_value(item(doc)) for item in items)
            return lambda doc: any(truth_value(item(doc)) for item in items)
        if op == "$not":
            (item,) = self.arguments(op, args, 1)
            return lambda doc: not truth_value(item(doc))
        if op == "$in":
            needle, haystack = self.arguments(op, args, 2)

            def contains(doc: Mapping[str, Any]) -> bool:
                values = haystack(doc)
                if not is_array(values):
                    raise _Failure(f"$in needs an array, found {_type_name(values)}")
                key = sort_key(needle(doc))
                return any(sort_key(v) == key for v in values)

            return contains
        if op == "$size":
            (item,) = self.arguments(op, args, 1)

            def size(doc: Mapping[str, Any]) -> int:
                value = item(doc)
                if not is_array(value):
                    raise _Failure(
                        f"the argument to $size must be an array, not {_type_name(value)}"
                    )
                return len(value)

            return size
        if op == "$ifNull":
            items = self.arguments(op, args)
            if len(items) < 2:
                raise InvalidQueryError("$ifNull needs at least two arguments")

            def if_null(doc: Mapping[str, Any]) -> Any:
                for item in items[:-1]:
                    value = item(doc)
                    if not _nullish(value):
                        return value
                return items[-1](doc)

            return if_null
        if op == "$cond":
            if is_document(args):
                spec = as_mapping(args)
                if set(spec) != {"if", "then", "else"}:
                    raise InvalidQueryError("$cond needs exactly if, then and else")
                condition, then, otherwise = (self.compile(spec[k]) for k in ("if", "then", "else"))
            else:
                condition, then, otherwise = self.arguments(op, args, 3)
            return lambda doc: then(doc) if truth_value(condition(doc)) else otherwise(doc)
        if op in _ARITHMETIC:
            return _ARITHMETIC[op](self, op, args)
        raise InvalidQueryError(f"unsupported expression operator in $expr: {op}")


def _variadic(
    reduce: Callable[[Any, Any], Any], start: int
) -> Callable[[_Compiler, str, Any], Expression]:
    def build(compiler: _Compiler, op: str, args: Any) -> Expression:
        items = compiler.arguments(op, args)

        def evaluate(doc: Mapping[str, Any]) -> Any:
            total: Any = start
            for item in items:
                value = item(doc)
                if _nullish(value):
                    return None
                total = reduce(total, _number(value, op))
            return _fit(total)

        return evaluate

    return build


def _binary(
    apply: Callable[[Any, Any, str], Any],
) -> Callable[[_Compiler, str, Any], Expression]:
    def build(compiler: _Compiler, op: str, args: Any) -> Expression:
        left, right = compiler.arguments(op, args, 2)

        def evaluate(doc: Mapping[str, Any]) -> Any:
            a, b = left(doc), right(doc)
            if _nullish(a) or _nullish(b):
                return None
            return _fit(apply(_number(a, op), _number(b, op), op))

        return evaluate

    return build


def _divide(a: Any, b: Any, op: str) -> Any:
    if b == 0:
        raise _Failure("can't $divide by zero")
    if isinstance(a, decimal.Decimal) or isinstance(b, decimal.Decimal):
        return decimal.Decimal(a) / decimal.Decimal(b)
    return a / b  # a double, as MongoDB's $divide gives


def _mod(a: Any, b: Any, op: str) -> Any:
    if b == 0:
        raise _Failure("can't $mod by zero")
    if isinstance(a, int) and isinstance(b, int):
        quotient = abs(a) // abs(b)  # truncated toward zero: the sign of the dividend
        return a - b * (quotient if (a < 0) == (b < 0) else -quotient)
    if isinstance(a, decimal.Decimal) or isinstance(b, decimal.Decimal):
        return decimal.Decimal(a) % decimal.Decimal(b)  # Decimal's % truncates too
    return math.fmod(a, b)


def _abs(compiler: _Compiler, op: str, args: Any) -> Expression:
    (item,) = compiler.arguments(op, args, 1)

    def evaluate(doc: Mapping[str, Any]) -> Any:
        value = item(doc)
        if _nullish(value):
            return None
        return _fit(abs(_number(value, op)))

    return evaluate


_ARITHMETIC: Final[dict[str, Callable[[_Compiler, str, Any], Expression]]] = {
    "$add": _variadic(lambda a, b: a + b, 0),
    "$multiply": _variadic(lambda a, b: a * b, 1),
    "$subtract": _binary(lambda a, b, op: a - b),
    "$divide": _binary(_divide),
    "$mod": _binary(_mod),
    "$abs": _abs,
}


def compile_expression(spec: Any) -> tuple[Expression, int]:
    """An aggregation expression as a function of a document, and its number of nodes (for
    the caller's size limits). ``InvalidQueryError`` for what is malformed or unsupported."""
    compiler = _Compiler()
    return compiler.compile(spec), compiler.nodes


def expression_filter(spec: Any) -> Callable[[Mapping[str, Any]], bool]:
    """The predicate of ``{"$expr": spec}``: the expression's truth value."""
    evaluate, _ = compile_expression(spec)

    def matches(doc: Mapping[str, Any]) -> bool:
        value = evaluate(doc)
        return value if value.__class__ is bool else truth_value(value)

    return matches


__all__ = ["compile_expression", "expression_filter"]
