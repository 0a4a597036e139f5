"""BSON type classes, canonical ordering and comparison of Python values, as MongoDB 7.0 does it.

Python values map to BSON types the way pymongo encodes them: ``None`` is null, ``bool`` is
bool (never a number, although Python's ``bool`` subclasses ``int``), ``int`` is int32 or int64
by magnitude (``bson.Int64`` is always int64), ``float`` is double, ``decimal.Decimal`` and
``bson.Decimal128`` are decimal128, ``str`` is string, a ``Mapping`` is an object, ``list`` and
``tuple`` are arrays, ``bytes``/``bson.Binary``/``uuid.UUID`` are binData, ``datetime`` is a
date (compared at millisecond precision, naive values being UTC), ``re.Pattern``/``bson.Regex``
are regular expressions, and the remaining ``bson`` classes map to their own types.

Values of different canonical types order by the rank of their type class
(reference: "Comparison/Sort Order" in the MongoDB manual); ``sort_key`` turns any value into
a tuple whose Python ordering is exactly that BSON ordering, so ``bson_compare``, sorting and
the query operators share one definition.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import decimal
import math
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from assetstore.errors import InvalidQueryError

__all__ = [
    "COMPARISON_OPERATORS",
    "INT32_MAX",
    "INT32_MIN",
    "INT64_MAX",
    "INT64_MIN",
    "MISSING",
    "RANK_MAXKEY",
    "RANK_MINKEY",
    "RANK_MISSING",
    "RANK_NULL",
    "RANK_NUMBER",
    "RANK_REGEX",
    "RANK_STRING",
    "RANK_UNKNOWN",
    "Decimal128",
    "Descending",
    "MissingType",
    "Regex",
    "array_index",
    "as_mapping",
    "bson_compare",
    "bson_equal",
    "comparison_test",
    "date_millis",
    "document_sort_key",
    "equality_test",
    "is_array",
    "is_document",
    "is_nan",
    "membership_test",
    "mod_dividend",
    "mod_operand",
    "rank",
    "regex_flags_string",
    "sort_key",
    "sort_value_key",
    "to_number",
    "truth_value",
    "type_code",
    "type_test",
]


class MissingType:
    """The value of a path that leads nowhere (BSON's EOO)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = MissingType()


class _NeverInstantiated:
    """Stand-in for a ``bson`` class when pymongo is not installed."""


try:
    from bson.binary import Binary
    from bson.code import Code
    from bson.datetime_ms import DatetimeMS
    from bson.dbref import DBRef
    from bson.decimal128 import Decimal128
    from bson.int64 import Int64
    from bson.max_key import MaxKey
    from bson.min_key import MinKey
    from bson.objectid import ObjectId
    from bson.regex import Regex
    from bson.timestamp import Timestamp
except ImportError:  # pragma: no cover - pymongo is an optional extra
    Binary = Code = DatetimeMS = DBRef = Decimal128 = Int64 = type(  # type: ignore[misc,assignment]
        "_Absent", (_NeverInstantiated,), {}
    )
    MaxKey = MinKey = ObjectId = Regex = Timestamp = Binary  # type: ignore[misc,assignment]

# Canonical type ranks, as in MongoDB's canonicalizeBSONType().
RANK_MINKEY: Final = -1
RANK_MISSING: Final = 0
RANK_NULL: Final = 5
RANK_NUMBER: Final = 10
RANK_STRING: Final = 15
RANK_OBJECT: Final = 20
RANK_ARRAY: Final = 25
RANK_BINDATA: Final = 30
RANK_OBJECTID: Final = 35
RANK_BOOL: Final = 40
RANK_DATE: Final = 45
RANK_TIMESTAMP: Final = 47
RANK_REGEX: Final = 50
RANK_CODE: Final = 60
RANK_CODE_W_SCOPE: Final = 65
RANK_UNKNOWN: Final = 100
RANK_MAXKEY: Final = 127

INT32_MIN: Final = -(2**31)
INT32_MAX: Final = 2**31 - 1
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

_RANK_BY_EXACT_TYPE: Final[dict[type, int]] = {
    str: RANK_STRING,
    int: RANK_NUMBER,
    float: RANK_NUMBER,
    bool: RANK_BOOL,
    type(None): RANK_NULL,
    dict: RANK_OBJECT,
    list: RANK_ARRAY,
    tuple: RANK_ARRAY,
    MissingType: RANK_MISSING,
    decimal.Decimal: RANK_NUMBER,
    _dt.datetime: RANK_DATE,
}


def rank(value: Any) -> int:
    """The canonical BSON type rank of a value (``MISSING`` ranks 0, like EOO)."""
    r = _RANK_BY_EXACT_TYPE.get(value.__class__)
    if r is not None:
        return r
    return _rank_slow(value)


def _rank_slow(value: Any) -> int:
    if isinstance(value, bool):
        return RANK_BOOL
    if isinstance(value, Code):
        return RANK_CODE if value.scope is None else RANK_CODE_W_SCOPE
    if isinstance(value, (int, float, decimal.Decimal, Decimal128)):
        return RANK_NUMBER
    if isinstance(value, str):
        return RANK_STRING
    if isinstance(value, (Mapping, DBRef)):
        return RANK_OBJECT
    if isinstance(value, (list, tuple)):
        return RANK_ARRAY
    if isinstance(value, (bytes, bytearray, uuid.UUID)):
        return RANK_BINDATA
    if isinstance(value, ObjectId):
        return RANK_OBJECTID
    if isinstance(value, (_dt.datetime, DatetimeMS)):
        return RANK_DATE
    if isinstance(value, Timestamp):
        return RANK_TIMESTAMP
    if isinstance(value, (re.Pattern, Regex)):
        return RANK_REGEX
    if isinstance(value, MinKey):
        return RANK_MINKEY
    if isinstance(value, MaxKey):
        return RANK_MAXKEY
    return RANK_UNKNOWN


def is_array(value: Any) -> bool:
    """True for the Python values that are BSON arrays (``list`` and ``tuple``)."""
    cls = value.__class__
    return cls is list or cls is tuple or isinstance(value, (list, tuple))


def is_document(value: Any) -> bool:
    """True for the Python values that are BSON objects."""
    return value.__class__ is dict or isinstance(value, (Mapping, DBRef))


def as_mapping(value: Any) -> Mapping[str, Any]:
    """A BSON object as a Mapping (a ``DBRef`` becomes its ``$ref/$id/$db`` document)."""
    if isinstance(value, DBRef):
        return value.as_doc()
    return value


def to_number(value: Any) -> int | float | decimal.Decimal:
    """A BSON number as a Python number that compares exactly with the others."""
    if isinstance(value, Decimal128):
        return value.to_decimal()
    return value


def is_nan(value: Any) -> bool:
    """True for a double or decimal NaN."""
    if value.__class__ is float:
        return value != value
    if isinstance(value, decimal.Decimal):
        return value.is_nan()
    if isinstance(value, Decimal128):
        return value.to_decimal().is_nan()
    if isinstance(value, float):
        return value != value
    return False


def date_millis(value: Any) -> int:
    """Milliseconds since the epoch, truncated as pymongo stores a ``datetime``."""
    if isinstance(value, DatetimeMS):
        return int(value)
    offset = value.utcoffset()
    if offset is not None:
        value = value - offset
    return calendar.timegm(value.timetuple()) * 1000 + value.microsecond // 1000


def regex_flags_string(value: Any) -> tuple[str, str]:
    """``(pattern, flags)`` of a ``re.Pattern`` or ``bson.Regex``, flags as pymongo encodes them."""
    pattern = value.pattern
    if isinstance(pattern, bytes):
        pattern = pattern.decode("utf-8", "surrogateescape")
    flags = value.flags
    if isinstance(flags, str):
        return pattern, "".join(sorted(flags))
    letters = []
    for bit, letter in (
        (re.IGNORECASE, "i"),
        (re.LOCALE, "l"),
        (re.MULTILINE, "m"),
        (re.DOTALL, "s"),
        (re.UNICODE, "u"),
        (re.VERBOSE, "x"),
    ):
        if flags & bit:
            letters.append(letter)
    return pattern, "".join(letters)


def _binary_parts(value: Any) -> tuple[int, bytes]:
    if isinstance(value, uuid.UUID):
        return 4, value.bytes
    if isinstance(value, Binary):
        return int(value.subtype), bytes(value)
    return 0, bytes(value)


_TYPE_CODE_BY_RANK: Final = {
    RANK_STRING: 2,
    RANK_OBJECT: 3,
    RANK_ARRAY: 4,
    RANK_BINDATA: 5,
    RANK_OBJECTID: 7,
    RANK_BOOL: 8,
    RANK_DATE: 9,
    RANK_NULL: 10,
    RANK_REGEX: 11,
    RANK_CODE: 13,
    RANK_CODE_W_SCOPE: 15,
    RANK_TIMESTAMP: 17,
    RANK_MINKEY: -1,
    RANK_MAXKEY: 127,
}


def type_code(value: Any) -> int | None:
    """The BSON type number of a value (as ``$type`` sees it), None for ``MISSING``."""
    r = rank(value)
    if r == RANK_NUMBER:
        if isinstance(value, Int64):
            return 18
        if isinstance(value, int):
            return 16 if INT32_MIN <= value <= INT32_MAX else 18
        if isinstance(value, float):
            return 1
        return 19
    return _TYPE_CODE_BY_RANK.get(r)


def truth_value(value: Any) -> bool:
    """BSON ``trueValue``: false only for false, null, zero (and missing); "" is true."""
    if value is None or value is MISSING or value is False:
        return False
    if value is True:
        return True
    if rank(value) == RANK_NUMBER:
        number = to_number(value)
        return bool(number != 0 or is_nan(number))
    return True


def sort_key(value: Any) -> tuple[Any, ...]:
    """A tuple whose Python ordering is MongoDB's BSON comparison order of ``value``.

    Numbers compare by exact value across int/float/decimal, NaN below every other number and
    equal to itself; strings by code point (the same order as UTF-8 bytes); objects field by
    field (type rank, then name, then value) and field-order sensitive; arrays element by
    element; binData by length, then subtype, then bytes.
    """
    cls = value.__class__
    if cls is str:
        return (RANK_STRING, value)
    if cls is int:
        return (RANK_NUMBER, 1, value)
    r = rank(value)
    if r == RANK_NUMBER:
        number = to_number(value)
        if is_nan(number):
            return (RANK_NUMBER, 0)
        return (RANK_NUMBER, 1, number)
    if r == RANK_STRING:
        return (RANK_STRING, str.__str__(value))
    if r == RANK_OBJECT:
        return (
            RANK_OBJECT,
            tuple((rank(v), k, sort_key(v)) for k, v in as_mapping(value).items()),
        )
    if r == RANK_ARRAY:
        return (RANK_ARRAY, tuple(sort_key(v) for v in value))
    if r in (RANK_NULL, RANK_MISSING, RANK_MINKEY, RANK_MAXKEY):
        return (r,)
    if r == RANK_BOOL:
        return (RANK_BOOL, bool(value))
    if r == RANK_DATE:
        return (RANK_DATE, date_millis(value))
    if r == RANK_BINDATA:
        subtype, data = _binary_parts(value)
        return (RANK_BINDATA, len(data), subtype, data)
    if r == RANK_OBJECTID:
        return (RANK_OBJECTID, value.binary)
    if r == RANK_TIMESTAMP:
        return (RANK_TIMESTAMP, value.time, value.inc)
    if r == RANK_REGEX:
        return (RANK_REGEX, *regex_flags_string(value))
    if r == RANK_CODE:
        return (RANK_CODE, str(value))
    if r == RANK_CODE_W_SCOPE:
        return (RANK_CODE_W_SCOPE, str(value), sort_key(value.scope))
    return (RANK_UNKNOWN, type(value).__qualname__, repr(value))


def bson_compare(a: Any, b: Any) -> int:
    """-1, 0 or 1 as ``a`` sorts before, with or after ``b`` in MongoDB's BSON order.

    Values of different types order by canonical type rank (MinKey < null < numbers <
    strings < objects < arrays < binData < ObjectId < bool < date < timestamp < regex <
    MaxKey); ``True`` is a bool, not the number 1; ``1 == 1.0``; NaN equals NaN and sorts
    below all other numbers.
    """
    ka = sort_key(a)
    kb = sort_key(b)
    return (ka > kb) - (ka < kb)


def bson_equal(a: Any, b: Any) -> bool:
    """BSON equality (``compareElements(...) == 0``): exact, numeric across types,
    field-order sensitive for objects, NaN equal to NaN; ``MISSING`` equals nothing."""
    ra = rank(a)
    if ra != rank(b) or ra == RANK_MISSING:
        return False
    if ra == RANK_NUMBER:
        x = to_number(a)
        y = to_number(b)
        if is_nan(x) or is_nan(y):
            return is_nan(x) and is_nan(y)
        return bool(x == y)
    if ra == RANK_STRING:
        return bool(a == b)
    if ra == RANK_OBJECT:
        ma = as_mapping(a)
        mb = as_mapping(b)
        if len(ma) != len(mb):
            return False
        for (ka, va), (kb, vb) in zip(ma.items(), mb.items(), strict=True):
            if ka != kb or not bson_equal(va, vb):
                return False
        return True
    if ra == RANK_ARRAY:
        if len(a) != len(b):
            return False
        return all(bson_equal(x, y) for x, y in zip(a, b, strict=True))
    if ra == RANK_NULL:
        return True
    if ra == RANK_BOOL:
        return bool(a) == bool(b)
    return sort_key(a) == sort_key(b)


# --------------------------------------------------------------------------- operand tests
# Each ``*_test`` returns ``(test, arrays)``: ``test(value)`` is MongoDB's matchesSingleElement
# for one value, and ``arrays`` says whether a whole array can pass (so callers can skip that
# check).

ValueTest = Callable[[Any], bool]


def _never(value: Any) -> bool:
    return False


_COMPARISONS: Final[dict[str, Callable[[int], bool]]] = {
    "$gt": lambda c: c > 0,
    "$gte": lambda c: c >= 0,
    "$lt": lambda c: c < 0,
    "$lte": lambda c: c <= 0,
}


_TYPE_ALIASES: Final = {
    "double": 1, "string": 2, "object": 3, "array": 4, "binData": 5, "undefined": 6,
    "objectId": 7, "bool": 8, "date": 9, "null": 10, "regex": 11, "dbPointer": 12,
    "javascript": 13, "symbol": 14, "javascriptWithScope": 15, "int": 16, "timestamp": 17,
    "long": 18, "decimal": 19, "minKey": -1, "maxKey": 127,
}  # fmt: skip


_VALID_TYPE_CODES: Final = frozenset(_TYPE_ALIASES.values())
COMPARISON_OPERATORS: Final = frozenset(_COMPARISONS)


def mod_operand(value: Any, what: str) -> int:
    """A number truncated toward zero to a 64-bit integer ($mod's argument rules)."""
    if rank(value) != RANK_NUMBER:
        raise InvalidQueryError(f"malformed mod, {what} not a number")
    number = to_number(value)
    if isinstance(number, int):
        result = number
    elif isinstance(number, float):
        if not math.isfinite(number):
            raise InvalidQueryError(f"malformed mod, {what} value is invalid: {number}")
        result = math.trunc(number)
    else:
        if not number.is_finite():
            raise InvalidQueryError(f"malformed mod, {what} value is invalid: {number}")
        result = int(number.to_integral_value(rounding=decimal.ROUND_DOWN))
    if not INT64_MIN <= result <= INT64_MAX:
        raise InvalidQueryError(f"malformed mod, {what} value cannot be represented: {value}")
    return result


def mod_dividend(value: Any) -> int | None:
    """The truncated 64-bit dividend of a document value, or None when $mod cannot match."""
    if value.__class__ is int:
        number: Any = value
    elif rank(value) == RANK_NUMBER:
        number = to_number(value)
    else:
        return None
    if not isinstance(number, int):
        if is_nan(number) or math.isinf(number):
            return None
        number = (
            int(number)
            if isinstance(number, float)
            else int(number.to_integral_value(rounding=decimal.ROUND_DOWN))
        )
    return number if INT64_MIN <= number <= INT64_MAX else None


def equality_test(rhs: Any) -> tuple[ValueTest, bool]:
    """Equality to ``rhs`` (and whether a whole array can be equal to it)."""
    cls = rhs.__class__
    if rhs is None:
        return (lambda v: v is None or v is MISSING), False
    if cls is bool:
        return (lambda v: v is rhs), False
    if cls is str:

        def eq_str(v: Any) -> bool:
            return v == rhs and (v.__class__ is str or rank(v) == RANK_STRING)

        return eq_str, False
    r = rank(rhs)
    if r == RANK_NUMBER:
        number = to_number(rhs)
        if is_nan(number):
            return (lambda v: rank(v) == RANK_NUMBER and is_nan(v)), False

        def eq_number(v: Any) -> bool:
            c = v.__class__
            if c is int or c is float:
                return v == number
            return rank(v) == RANK_NUMBER and not is_nan(v) and to_number(v) == number

        return eq_number, False
    if r in (RANK_OBJECT, RANK_ARRAY):
        return (lambda v: bson_equal(v, rhs)), r == RANK_ARRAY
    key = sort_key(rhs)
    return (lambda v: rank(v) == r and sort_key(v) == key), False


def comparison_test(name: str, rhs: Any) -> tuple[ValueTest, bool]:
    """``$gt/$gte/$lt/$lte`` with type bracketing (ComparisonMatchExpression rules)."""
    test = _COMPARISONS[name]
    inclusive = name in ("$gte", "$lte")
    r = rank(rhs)
    if r in (RANK_MINKEY, RANK_MAXKEY):
        # Every other type (even a missing field) is above MinKey and below MaxKey.
        above = name in ("$gt", "$gte")
        everything = (r == RANK_MINKEY) == above
        return (lambda v: (rank(v) != r and everything) or (rank(v) == r and inclusive)), True
    if r == RANK_NULL:
        if inclusive:
            return (lambda v: v is None or v is MISSING), False
        return _never, False
    if r == RANK_STRING:
        text = str.__str__(rhs)

        def cmp_str(v: Any) -> bool:
            if v.__class__ is str or rank(v) == RANK_STRING:
                return test((v > text) - (v < text))
            return False

        return cmp_str, False
    if r == RANK_NUMBER:
        number = to_number(rhs)
        if is_nan(number):
            if inclusive:
                return (lambda v: rank(v) == RANK_NUMBER and is_nan(v)), False
            return _never, False

        def cmp_number(v: Any) -> bool:
            c = v.__class__
            if c is not int and c is not float:
                if rank(v) != RANK_NUMBER or is_nan(v):
                    return False
                v = to_number(v)
            elif v != v:
                return False
            return test((v > number) - (v < number))

        return cmp_number, False
    key = sort_key(rhs)

    def cmp_other(v: Any) -> bool:
        if rank(v) != r:
            return False
        k = sort_key(v)
        return test((k > key) - (k < key))

    return cmp_other, r == RANK_ARRAY


def membership_test(values: list[Any], regexes: list[ValueTest]) -> tuple[ValueTest, bool]:
    """``$in``: equal to one of ``values`` (null also matching a missing value) or accepted
    by one of the ``regexes`` tests. Scalars are looked up in hash sets."""
    strings: set[str] = set()
    numbers: set[Any] = set()
    keys: set[tuple[Any, ...]] = set()
    has_null = has_nan = has_true = has_false = arrays = False
    for value in values:
        r = rank(value)
        if value is None:
            has_null = True
        elif value is True or value is False:
            has_true, has_false = has_true or value, has_false or not value
        elif r == RANK_STRING:
            strings.add(str.__str__(value))
        elif r == RANK_NUMBER:
            number = to_number(value)
            if is_nan(number):
                has_nan = True
            else:
                numbers.add(number)
        else:
            arrays = arrays or r == RANK_ARRAY
            keys.add(sort_key(value))

    def in_test(v: Any) -> bool:
        c = v.__class__
        if c is str:
            return v in strings or any(regex(v) for regex in regexes)
        if c is int or c is float:
            return v in numbers or (has_nan and v != v)
        if v is None or v is MISSING:
            return has_null
        if c is bool:
            return has_true if v else has_false
        r = rank(v)
        if r == RANK_NUMBER:
            return has_nan if is_nan(v) else to_number(v) in numbers
        if r == RANK_STRING and str.__str__(v) in strings:
            return True
        if sort_key(v) in keys:
            return True
        return any(regex(v) for regex in regexes)

    return in_test, arrays


def type_test(spec: Any) -> tuple[ValueTest, bool]:
    """``$type`` with aliases ("string", "number"...), numeric codes, or a list of them."""
    items = list(spec) if is_array(spec) else [spec]
    if not items:
        raise InvalidQueryError("$type must match at least one type")
    codes: set[int] = set()
    numbers = False
    for item in items:
        if isinstance(item, str):
            if item == "number":
                numbers = True
            elif item in _TYPE_ALIASES:
                codes.add(_TYPE_ALIASES[item])
            else:
                raise InvalidQueryError(f"Unknown type name alias: {item}")
        elif rank(item) == RANK_NUMBER:
            number = to_number(item)
            if is_nan(number) or number != int(number) or int(number) not in _VALID_TYPE_CODES:
                raise InvalidQueryError(f"Invalid numerical type code: {item}")
            codes.add(int(number))
        else:
            raise InvalidQueryError("type must be represented as a number or a string")
    return (lambda v: type_code(v) in codes or (numbers and rank(v) == RANK_NUMBER)), 4 in codes


def array_index(part: str) -> int:
    """The array offset a path component names ("0", "12"; not "01"), or -1."""
    if part.isascii() and part.isdigit() and (part == "0" or part[0] != "0"):
        return int(part)
    return -1


# --------------------------------------------------------------------------- sort keys

_UNDEFINED: Final = object()  # an empty array ending a sort path: sorts below null


class Descending:
    """A sort key in reverse order, for a ``-1`` sort field."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Descending) and self.key == other.key

    def __lt__(self, other: Descending) -> bool:
        return bool(other.key < self.key)

    def __le__(self, other: Descending) -> bool:
        return bool(other.key <= self.key)

    def __gt__(self, other: Descending) -> bool:
        return bool(other.key > self.key)

    def __ge__(self, other: Descending) -> bool:
        return bool(other.key >= self.key)

    __hash__ = None  # type: ignore[assignment]


def sort_value_key(value: Any) -> tuple[Any, ...]:
    """``sort_key``, with a missing value sorting as null and an empty array below null."""
    if value is MISSING:
        return (RANK_NULL,)
    if value is _UNDEFINED:
        return (RANK_MISSING,)
    return sort_key(value)


def _walk_sort_path(cur: Mapping[str, Any], parts: tuple[str, ...]) -> tuple[Any, ...]:
    """``("value", v)``, or ``("array", prefix, array, rest)`` at the first array met."""
    last = len(parts) - 1
    i = 0
    while True:
        v = cur.get(parts[i], MISSING)
        if is_array(v):
            if i == last:
                return ("array", parts[: i + 1], v, ())
            index = array_index(parts[i + 1])
            if index < 0:
                return ("array", parts[: i + 1], v, parts[i + 1 :])
            v = v[index] if index < len(v) else MISSING
            i += 1
        if i == last:
            return ("value", v)
        if not is_document(v):
            return ("value", MISSING)
        cur = as_mapping(v)
        i += 1


def _generate_keys(states: list[tuple[Any, ...]], out: list[tuple[Any, ...]]) -> None:
    """The key tuples of a document for a compound sort, as a multikey index would hold them:
    fields that go through the same array take their values from the same element; an array
    ending a path contributes its elements; fields through two different arrays are an error."""
    values: list[Any] = []
    hits: list[tuple[Any, ...] | None] = []
    arrays: dict[tuple[str, ...], Any] = {}
    for state in states:
        if state[0] == "done":
            values.append(state[1])
            hits.append(None)
            continue
        found = _walk_sort_path(state[1], state[2])
        if found[0] == "value":
            values.append(found[1])
            hits.append(None)
        else:
            values.append(None)
            hits.append(found)
            arrays.setdefault(found[1], found[2])
    if not arrays:
        out.append(tuple(values))
        return
    if len(arrays) > 1:
        raise InvalidQueryError("cannot sort with keys that are parallel arrays")
    array = next(iter(arrays.values()))
    elements = array if len(array) else [_UNDEFINED]
    for element in elements:
        next_states: list[tuple[Any, ...]] = []
        for value, hit in zip(values, hits, strict=True):
            if hit is None:
                next_states.append(("done", value))
            elif not hit[3]:
                next_states.append(("done", element))
            elif is_document(element):
                next_states.append(("walk", as_mapping(element), hit[3]))
            else:
                next_states.append(("done", MISSING))
        _generate_keys(next_states, out)


def document_sort_key(
    doc: Mapping[str, Any], paths: tuple[tuple[str, ...], ...], directions: tuple[int, ...]
) -> tuple[Any, ...]:
    """The sort key of a document for a compound sort: the smallest of its key tuples in the
    sort's own order (so an array sorts by its smallest element ascending, largest
    descending). Raises InvalidQueryError for parallel arrays, as MongoDB does."""
    out: list[tuple[Any, ...]] = []
    _generate_keys([("walk", doc, parts) for parts in paths], out)
    best: tuple[Any, ...] | None = None
    for values in out:
        key = tuple(
            sort_value_key(v) if d == 1 else Descending(sort_value_key(v))
            for v, d in zip(values, directions, strict=True)
        )
        if best is None or key < best:
            best = key
    assert best is not None
    return best
