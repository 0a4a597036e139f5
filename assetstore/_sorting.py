"""MongoDB's sort order: validating a sort specification and turning it into a ``sorted()``
key. Kept apart from the query engine so that the HTTP client and federated search can check
and apply sorts without loading the engine (and RE2)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from assetstore._bson import (
    MISSING,
    Descending,
    MissingType,
    as_mapping,
    document_sort_key,
    is_array,
    is_document,
    sort_value_key,
)
from assetstore.errors import InvalidQueryError

_PLAIN: Final = frozenset({str, int, float, bool, type(None), MissingType, dict})


def parse_sort(sort: Any) -> list[tuple[tuple[str, ...], int]]:
    """``sort`` as ``[(path parts, 1 | -1), ...]``, validated as MongoDB validates a sort;
    :class:`InvalidQueryError` otherwise."""
    if sort is None:
        return []
    if isinstance(sort, (str, bytes)) or not (is_document(sort) or is_array(sort)):
        raise InvalidQueryError("sort must be a list of (field, direction) pairs or a mapping")
    items = as_mapping(sort).items() if is_document(sort) else sort
    spec: list[tuple[tuple[str, ...], int]] = []
    for item in items:
        if not is_array(item) or len(item) != 2:
            raise InvalidQueryError(f"sort entries must be (field, direction) pairs, not {item!r}")
        path, direction = item
        if not isinstance(path, str) or not path:
            raise InvalidQueryError("a sort field must be a non-empty string")
        parts = tuple(path.split("."))
        if any(not part for part in parts):
            raise InvalidQueryError(f"sort field {path!r} has an empty path component")
        if any(part.startswith("$") for part in parts):
            raise InvalidQueryError(f"sort field {path!r}: field names may not start with '$'")
        if direction.__class__ is bool or direction not in (1, -1) or is_document(direction):
            raise InvalidQueryError(
                f"sort direction for {path!r} must be 1 (ascending) or -1 (descending)"
            )
        if any(parts == seen for seen, _ in spec):
            raise InvalidQueryError(f"sort field {path!r} appears twice")
        spec.append((parts, int(direction)))
    return spec


def compile_sort(sort: Any) -> Callable[[Mapping[str, Any]], Any] | None:
    """A ``sorted()`` key implementing MongoDB's sort, or None when ``sort`` is None or empty.

    ``sort`` is ``[("field.path", 1 | -1), ...]`` or ``{"a": 1, "b": -1}``. Values order in BSON
    order (:func:`bson_compare`); a missing field sorts as null and an empty array below null;
    an array sorts by its smallest element ascending and its largest descending; compound
    sorts over fields of the same array pair values element by element, and fields in two
    different arrays raise :class:`InvalidQueryError` ("parallel arrays"), as in MongoDB.
    """
    spec = parse_sort(sort)
    if not spec:
        return None
    directions = tuple(direction for _, direction in spec)
    paths = tuple(parts for parts, _ in spec)

    def general(doc: Mapping[str, Any]) -> Any:
        return document_sort_key(doc, paths, directions)

    if len(paths) == 1 and len(paths[0]) == 1:
        field, descending = paths[0][0], directions[0] == -1

        def single(doc: Mapping[str, Any]) -> Any:
            v = doc.get(field, MISSING)
            c = v.__class__
            if c is list or c is tuple or (c not in _PLAIN and is_array(v)):
                return general(doc)
            key = sort_value_key(v)
            return (Descending(key),) if descending else (key,)

        return single
    return general


__all__ = ["compile_sort", "parse_sort"]
