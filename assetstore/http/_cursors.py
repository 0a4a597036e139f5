"""Keyset (cursor) paging of the query endpoints: positions, and the tokens that carry them.

Offset paging (``skip``) shifts under churn: a delete before the current offset makes the
next page skip a result, an insert makes it repeat one. Keyset paging continues instead
strictly *after the sort position of the last result sent*, so whatever changes between two
pages, every result that did not change is sent exactly once.

* The order of a paged query is the caller's sort followed by the collection's unique key
  (:func:`paging_sort`), so no two documents share a position.
* A position is the last result's values of the sort fields (:func:`position_of`), kept in
  an opaque, URL-safe token (:func:`encode_cursor`) bound to the query that made it: a
  token sent with another filter or sort is refused.
* Continuing after a position is a filter when every sort field is one the stored records
  always hold as a string (:func:`pushdown_filter`, run by the backend, with its indexes);
  otherwise the sorted results are read from the start and those up to the position are
  dropped, comparing them with MongoDB's own sort key (:class:`After`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

from assetstore._sorting import compile_sort, parse_sort
from assetstore.errors import InvalidQueryError
from assetstore.models import Filter, Sort

#: Fields every stored record holds as a string, in our records and in the original
#: service's: a range filter on them orders exactly as the sort does.
STRING_FIELDS: Final = frozenset(
    {
        "asset_uri",
        "asset_name",
        "asset_id",
        "assets_db_id",
        "asset_version.version",
        "asset_version.tag",
        "asset_public_url",
        "asset_registry_id",
        "asset_registry_name",
        "asset_registry_public_url",
    }
)
#: The largest cursor accepted (a position holds the sort values of one record).
MAX_CURSOR_CHARS: Final = 12_000
_VERSION: Final = 1

SortSpec = list[tuple[str, int]]


def paging_sort(sort: Sort | None, unique_key: Sequence[str]) -> SortSpec:
    """``sort`` (validated as MongoDB does) followed by the fields of ``unique_key`` it does
    not already name, ascending."""
    spec = [(".".join(parts), direction) for parts, direction in parse_sort(sort)]
    named = {field for field, _ in spec}
    return spec + [(field, 1) for field in unique_key if field not in named]


def _project(value: Any, parts: Sequence[str]) -> Any:
    """What a sort path reads of ``value``: nested objects down the path; an array (or a
    scalar) met on the way is kept whole, since the sort reads into arrays element by
    element."""
    if not parts or not isinstance(value, dict):
        return value
    head = parts[0]
    if head not in value:
        return {}
    return {head: _project(value[head], parts[1:])}


def _merge(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        merged = dict(a)
        for key, value in b.items():
            merged[key] = _merge(merged[key], value) if key in merged else value
        return merged
    return a  # both read the same value of the same record


def position_of(doc: Mapping[str, Any], sort: SortSpec) -> dict[str, Any]:
    """The part of ``doc`` that decides its place in ``sort``."""
    position: dict[str, Any] = {}
    for field, _ in sort:
        position = _merge(position, _project(dict(doc), field.split(".")))
    return position


class After:
    """Whether a record sorts strictly after a position, by MongoDB's sort order."""

    def __init__(self, sort: SortSpec, position: Mapping[str, Any]) -> None:
        key = compile_sort(sort)
        assert key is not None  # a paging sort always names the unique key
        self._key = key
        self._bound = key(position)

    def __call__(self, doc: Mapping[str, Any]) -> bool:
        return bool(self._bound < self._key(doc))


def _value_at(position: Mapping[str, Any], field: str) -> Any:
    value: Any = position
    for part in field.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def pushdown_filter(sort: SortSpec, position: Mapping[str, Any]) -> dict[str, Any] | None:
    """A filter matching exactly the records after ``position``, or None when the sort names
    a field that records may hold as something other than a string (then :class:`After`)."""
    values = [_value_at(position, field) for field, _ in sort]
    if any(field not in STRING_FIELDS for field, _ in sort) or not all(
        isinstance(value, str) for value in values
    ):
        return None
    branches = []
    for i, (field, direction) in enumerate(sort):
        branch: dict[str, Any] = {sort[j][0]: values[j] for j in range(i)}
        branch[field] = {"$gt" if direction == 1 else "$lt": values[i]}
        branches.append(branch)
    return branches[0] if len(branches) == 1 else {"$or": branches}


def fingerprint(filter: Filter, sort: SortSpec, scope: Mapping[str, Any]) -> str:
    """What binds a cursor to its query: the filter, the sort and the ``scope`` (the
    collection, ``all_stores``)."""
    try:
        text = orjson.dumps(
            {"filter": filter, "sort": sort, "scope": scope},
            option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
        )
    except TypeError as exc:  # nested deeper than any valid filter may be
        raise InvalidQueryError(f"the filter cannot continue a cursor: {exc}") from None
    return hashlib.sha256(text).hexdigest()[:16]


def encode_cursor(position: Mapping[str, Any], query: str) -> str:
    """The opaque token of ``position`` for the query with fingerprint ``query``."""
    raw = orjson.dumps({"v": _VERSION, "q": query, "p": position})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, query: str) -> dict[str, Any]:
    """The position in ``token``; :class:`InvalidQueryError` if it is malformed or was
    made by another query."""
    if len(token) > MAX_CURSOR_CHARS:
        raise InvalidQueryError(f"cursor is longer than {MAX_CURSOR_CHARS} characters")
    try:
        body = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        body = None
    if (
        not isinstance(body, dict)
        or body.get("v") != _VERSION
        or not isinstance(body.get("p"), dict)
    ):
        raise InvalidQueryError(
            "cursor is not one this service made; send the next_cursor of the previous page"
        )
    if body.get("q") != query:
        raise InvalidQueryError(
            "cursor belongs to another query: send the same filter, sort and all_stores as "
            "the request that returned it"
        )
    return dict(body["p"])


__all__ = [
    "After",
    "SortSpec",
    "decode_cursor",
    "encode_cursor",
    "fingerprint",
    "paging_sort",
    "position_of",
    "pushdown_filter",
]
