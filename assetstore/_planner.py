"""Which documents a filter needs to look at, from secondary indexes.

A store that keeps indexes (field value -> documents) hands :func:`plan` a view of them; the
plan is a set of candidates that holds every document the filter can match (often many fewer
than the store holds), or None when no index narrows it down. The compiled filter then checks
each candidate, so a plan never changes an answer: it only skips documents that cannot match.

Index keys are ``(kind, value)``: ``"s"`` for strings, ``"n"`` for numbers (``1``, ``1.0``
and ``Decimal128("1")`` are one key, as they are equal in MongoDB), ``"b"`` for booleans
(``true`` is not ``1``). Null, missing, NaN, objects and other types are not indexed, so a
filter on them is answered by a scan. An array field is indexed by its elements.

Used: top-level equality, ``$eq``, ``$in``, ``$all``, ranges (``$gt``... of one kind, by
the sorted distinct values), anchored prefix regexes without flags (``^abc``), and ``$and``
/ ``$or`` of those.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from assetstore._bson import (
    RANK_NUMBER,
    RANK_STRING,
    Regex,
    as_mapping,
    is_array,
    is_document,
    is_nan,
    rank,
    to_number,
)
from assetstore.errors import InvalidInputError

IndexKey = tuple[str, Any]

#: Characters that end a regex's literal prefix.
_REGEX_META = frozenset("\\^$.|?*+()[]{}")


class Indexes(Protocol):
    """What a store offers the planner."""

    def indexed(self, path: str) -> bool:
        """Whether ``path`` has an index."""

    def lookup(self, path: str, key: IndexKey) -> Iterable[int]:
        """The documents whose ``path`` holds ``key``."""

    def values(self, path: str, kind: str) -> list[Any] | None:
        """The distinct values of one kind in the index of ``path``, sorted (None if the
        index cannot list them)."""


def index_key(value: Any) -> IndexKey | None:
    """The index key of one scalar value, or None if such values are not indexed."""
    cls = value.__class__
    if cls is str:
        return ("s", value)
    if cls is bool:
        return ("b", value)
    if cls is int:
        return ("n", value)
    if cls is float:
        return None if value != value else ("n", value)
    r = rank(value)
    if r == RANK_STRING:
        return ("s", str.__str__(value))
    if r == RANK_NUMBER and value.__class__ is not bool:
        number = to_number(value)
        return None if is_nan(number) else ("n", number)
    return None


def index_keys(doc: Any, parts: tuple[str, ...]) -> set[IndexKey]:
    """Every index key a dot path reaches in ``doc``: through arrays at every level, array
    elements included (more than MongoDB would match, never less)."""
    keys: set[IndexKey] = set()
    _collect(doc, parts, 0, keys)
    return keys


def _collect(value: Any, parts: tuple[str, ...], depth: int, keys: set[IndexKey]) -> None:
    if depth == len(parts):
        if is_array(value):
            for item in value:
                if is_array(item):
                    _collect(item, parts, depth, keys)
                else:
                    key = index_key(item)
                    if key is not None:
                        keys.add(key)
        else:
            key = index_key(value)
            if key is not None:
                keys.add(key)
        return
    part = parts[depth]
    if is_document(value):
        inner = as_mapping(value).get(part)
        if inner is not None:
            _collect(inner, parts, depth + 1, keys)
    elif is_array(value):
        if part.isdigit() and int(part) < len(value):
            _collect(value[int(part)], parts, depth + 1, keys)
        for item in value:
            if is_document(item) or is_array(item):
                _collect(item, parts, depth, keys)


MAX_PATH_LENGTH = 200


def check_index_path(field: object) -> str:
    """``field`` if it can be indexed: a dot path of non-empty names that do not start with
    ``$``; ``InvalidInputError`` otherwise."""
    if not isinstance(field, str) or not field or len(field) > MAX_PATH_LENGTH:
        raise InvalidInputError(
            f"an index field must be a dot path of 1-{MAX_PATH_LENGTH} characters"
        )
    for part in field.split("."):
        if not part or part.startswith("$") or "\x00" in part:
            raise InvalidInputError(
                f"index field {field!r}: every name of the path must be non-empty and not "
                "start with '$'"
            )
    return field


def plan(filter: Mapping[str, Any], indexes: Indexes) -> set[int] | None:
    """A superset of the documents ``filter`` matches, or None for "all of them"."""
    best: set[int] | None = None
    for key, value in as_mapping(filter).items():
        if key == "$and" and is_array(value):
            found = _intersection(plan(sub, indexes) for sub in value if is_document(sub))
        elif key == "$or" and is_array(value) and value:
            parts = [plan(sub, indexes) if is_document(sub) else None for sub in value]
            found = None if any(p is None for p in parts) else set().union(*parts)  # type: ignore[arg-type]
        elif key.startswith("$"):
            found = None
        else:
            found = _field(key, value, indexes)
        if found is not None:
            best = found if best is None else best & found
            if not best:
                return best
    return best


def _intersection(sets: Iterable[set[int] | None]) -> set[int] | None:
    best: set[int] | None = None
    for found in sets:
        if found is not None:
            best = found if best is None else best & found
    return best


def _field(path: str, condition: Any, indexes: Indexes) -> set[int] | None:
    if not indexes.indexed(path):
        return None
    if _is_regex(condition):
        return _prefix(path, condition, indexes)
    if is_document(condition):
        spec = as_mapping(condition)
        if any(name.startswith("$") for name in spec):
            return _operators(path, spec, indexes)
        return None  # equality with a sub-document
    return _equal(path, condition, indexes)


def _equal(path: str, value: Any, indexes: Indexes) -> set[int] | None:
    key = index_key(value)
    if key is None:
        return None
    return set(indexes.lookup(path, key))


def _operators(path: str, spec: Mapping[str, Any], indexes: Indexes) -> set[int] | None:
    sets: list[set[int] | None] = []
    bounds: dict[str, Any] = {}
    for name, arg in spec.items():
        if name == "$eq":
            sets.append(None if _is_regex(arg) else _equal(path, arg, indexes))
        elif name == "$in" and is_array(arg):
            sets.append(_any_of(path, arg, indexes))
        elif name == "$all" and is_array(arg) and arg:
            if all(index_key(item) is not None for item in arg):
                sets.append(_intersection(_equal(path, item, indexes) for item in arg))
        elif name in ("$gt", "$gte", "$lt", "$lte"):
            bounds[name] = arg
        elif name == "$regex" and "$options" not in spec:
            sets.append(_prefix(path, arg, indexes))
    if bounds:
        sets.append(_range(path, bounds, indexes))
    return _intersection(sets)


def _any_of(path: str, values: list[Any], indexes: Indexes) -> set[int] | None:
    found: set[int] = set()
    for value in values:
        part = _prefix(path, value, indexes) if _is_regex(value) else _equal(path, value, indexes)
        if part is None:
            return None
        found |= part
    return found


def _range(path: str, bounds: dict[str, Any], indexes: Indexes) -> set[int] | None:
    kinds = {_kind(value) for value in bounds.values()}
    if len(kinds) != 1 or None in kinds:
        return None  # bounds of two types, or of an unindexed type: let the filter decide
    kind = kinds.pop()
    assert kind is not None
    values = indexes.values(path, kind)
    if values is None:
        return None
    low, high = 0, len(values)
    for name, bound in bounds.items():
        number = to_number(bound) if kind == "n" else bound
        if name == "$gt":
            low = max(low, bisect.bisect_right(values, number))
        elif name == "$gte":
            low = max(low, bisect.bisect_left(values, number))
        elif name == "$lt":
            high = min(high, bisect.bisect_left(values, number))
        else:
            high = min(high, bisect.bisect_right(values, number))
    found: set[int] = set()
    for value in values[low:high]:
        found.update(indexes.lookup(path, (kind, value)))
    return found


def _kind(value: Any) -> str | None:
    key = index_key(value)
    return None if key is None or key[0] == "b" else key[0]


def _is_regex(value: Any) -> bool:
    return isinstance(value, (re.Pattern, Regex))


def _prefix(path: str, value: Any, indexes: Indexes) -> set[int] | None:
    """The candidates of ``^literal`` (no flags): strings starting with the literal."""
    flags: int
    if isinstance(value, re.Pattern):
        pattern, flags = value.pattern, int(value.flags & ~re.UNICODE)
    elif isinstance(value, Regex):
        pattern, flags = value.pattern, 1 if value.flags else 0
    elif isinstance(value, str):
        pattern, flags = value, 0
    else:
        return None
    if flags or not isinstance(pattern, str) or not pattern.startswith("^") or "|" in pattern:
        return None
    literal: list[str] = []
    for char in pattern[1:]:
        if char in _REGEX_META:
            if char in "*?{" and literal:
                literal.pop()  # the quantifier makes the character before it optional
            break
        literal.append(char)
    prefix = "".join(literal)
    if not prefix:
        return None
    values = indexes.values(path, "s")
    if values is None:
        return None
    found: set[int] = set()
    start = bisect.bisect_left(values, prefix)
    for text in values[start:]:
        if not text.startswith(prefix):
            break
        found.update(indexes.lookup(path, ("s", text)))
    return found


__all__ = ["IndexKey", "Indexes", "check_index_path", "index_key", "index_keys", "plan"]
