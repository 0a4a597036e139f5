"""What FerretDB 1.x (a MongoDB-wire server) does differently, and how the MongoDB backend
copes; the list, with the evidence, is docs/MONGODB-COMPATIBILITY.md.

Nothing here changes the behaviour on MongoDB itself (or mongomock): every adjustment applies
only when the server's ``buildInfo`` names a FerretDB version.

* Filters FerretDB answers differently from MongoDB (or refuses) are evaluated in this
  process by the core's engine (MongoDB semantics) over the scoped documents; sorts on a
  dotted path likewise. ``evaluate_locally`` returns why, or None.
* Values FerretDB cannot store (nested arrays, NaN, infinities) are refused before sending,
  as :class:`~assetstore.errors.InvalidInputError` (``check_storable``).
* FerretDB applies an update or delete as a query then a write by ``_id``, not atomically,
  so a compare-and-swap can lose an update; ``write_lock`` serializes them within a process.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from assetstore._bson import Regex, is_array, is_document
from assetstore.errors import InvalidInputError

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
#: Server errors that mean "the server cannot run this (valid) filter", not a bad filter:
#: ExecutionTimeout (50) stays an error, everything else is retried in-process.
_TIME_LIMIT_CODE = 50


def is_ferretdb(client: Any) -> bool:
    """True if ``client`` is connected to FerretDB (its buildInfo names a FerretDB version)."""
    try:
        info = client.server_info()
    except AttributeError:  # a stand-in without buildInfo
        return False
    return "ferretdbVersion" in info


def retry_in_process(code: int | None) -> bool:
    """True if FerretDB's refusal (an OperationFailure ``code``) of a filter that the core
    validated is to be answered in-process instead (not for the time limit)."""
    return code != _TIME_LIMIT_CODE


def evaluate_locally(filter: Mapping[str, Any] | None) -> str | None:
    """Why FerretDB would answer ``filter`` differently from MongoDB, or None if it is safe."""
    if not filter:
        return None
    return _why(filter, dotted=False)


def sort_locally(sort: Sequence[tuple[str, int]] | None) -> bool:
    """True if FerretDB would order ``sort`` differently: a dotted path that crosses an array
    is not expanded like MongoDB does, so every dotted path is sorted in-process."""
    return any("." in field for field, _ in sort or ())


def _why(value: Any, *, dotted: bool) -> str | None:
    if is_document(value):
        for key, item in value.items():
            reason = _key_reason(key, item, dotted)
            if reason:
                return reason
            reason = _why(item, dotted=dotted or (not key.startswith("$") and "." in key))
            if reason:
                return reason
        return None
    if is_array(value):
        for item in value:
            reason = _why(item, dotted=dotted)
            if reason:
                return reason
        return None
    if isinstance(value, float) and math.isnan(value):
        return "NaN (FerretDB closes the connection)"
    if isinstance(value, (re.Pattern, Regex)):
        return "a regular expression (FerretDB uses Go's syntax and semantics, not PCRE)"
    if value is None and dotted:
        return "null on a dotted path (FerretDB matches arrays and misses missing subfields)"
    return None


def _key_reason(key: str, item: Any, dotted: bool) -> str | None:
    if key == "$elemMatch":
        return "$elemMatch (FerretDB misses sub-document conditions, lacks $ne and $not)"
    if key == "$mod":
        return "$mod (FerretDB does not look into arrays)"
    if key == "$regex":
        return "a regular expression (FerretDB uses Go's syntax and semantics, not PCRE)"
    if key == "$exists" and item.__class__ is not bool:
        return "$exists with a non-boolean operand (FerretDB ignores it)"
    return None


def check_storable(doc: Mapping[str, Any], what: str) -> None:
    """Raise InvalidInputError if ``doc`` holds a value FerretDB refuses to store."""
    problem = _unstorable(doc, in_array=False)
    if problem:
        raise InvalidInputError(f"{what}: this MongoDB server (FerretDB) cannot store {problem}")


def _unstorable(value: Any, *, in_array: bool) -> str | None:
    if is_document(value):
        items: Any = value.values()
    elif is_array(value):
        if in_array:
            return "nested arrays (an array directly inside an array)"
        items = value
    elif isinstance(value, float) and not math.isfinite(value):
        return "NaN or infinite numbers"
    else:
        return None
    for item in items:
        problem = _unstorable(item, in_array=is_array(value))
        if problem:
            return problem
    return None


def write_lock(namespace: str) -> threading.Lock:
    """One lock per collection (``db.collection``) for this process's compare-and-swap writes."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(namespace, threading.Lock())
