"""Checks on user-supplied values that every store applies the same way, so that a document
accepted by the local store is also valid for MongoDB and for the HTTP service."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sized
from typing import Any
from urllib.parse import urlsplit

import orjson
from pydantic import ValidationError

from assetstore.errors import InvalidInputError

#: Largest serialized size of one metadata object (MongoDB documents stop at 16 MiB).
MAX_OBJECT_BYTES = 1 << 20
#: Deepest nesting of a metadata object (MongoDB's limit is 100 for the whole document).
MAX_OBJECT_DEPTH = 32
MAX_TAGS = 1000
MAX_TAG_LENGTH = 256
MAX_URL_LENGTH = 4096
#: The schemes an external asset's ``asset_public_url`` may use: web addresses and the object
#: stores clients download from. Not ``file:`` (a path on someone's machine), not
#: ``javascript:``, ``data:`` and the like (a page that shows the URL as a link would run it).
ASSET_URL_SCHEMES = ("http", "https", "s3", "gs", "az", "abfs", "hf")


def check_json_object(value: Any, field: str) -> dict[str, Any]:
    """A copy of ``value`` if it is a JSON object storable by every backend.

    Keys must be non-empty strings that neither start with ``$`` nor contain ``.`` or NUL
    (MongoDB reserves them and queries could not reach them)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{field} must be a JSON object, not {type(value).__name__}")
    try:
        encoded = orjson.dumps(value)
    except TypeError as exc:
        if "recursion limit" in str(exc).lower():  # orjson stops at 255 levels
            raise InvalidInputError(
                f"{field} is nested deeper than {MAX_OBJECT_DEPTH} levels"
            ) from None
        raise InvalidInputError(f"{field} is not JSON-serializable: {exc}") from None
    if len(encoded) > MAX_OBJECT_BYTES:
        raise InvalidInputError(f"{field} is larger than {MAX_OBJECT_BYTES} bytes as JSON")
    copy = orjson.loads(encoded)
    _check_keys(copy, field, 1)
    return copy


def _check_keys(value: Any, path: str, depth: int) -> None:
    if depth > MAX_OBJECT_DEPTH:
        raise InvalidInputError(f"{path} is nested deeper than {MAX_OBJECT_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            if not key or key.startswith("$") or "." in key or "\x00" in key:
                raise InvalidInputError(
                    f"{path} has key {key!r}: keys may not be empty, start with '$', "
                    "or contain '.' or NUL"
                )
            _check_keys(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_keys(item, path, depth + 1)


def check_tags(value: Any, field: str) -> list[str]:
    """``value`` as a list of distinct non-empty strings, in their first order.

    At most :data:`MAX_TAGS` entries are looked at: a longer list is refused before any
    of it is checked, so the cost of a refusal does not grow with the input."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidInputError(f"{field} must be a list of strings")
    too_many = InvalidInputError(f"{field} has more than {MAX_TAGS} tags")
    if isinstance(value, Sized) and len(value) > MAX_TAGS:
        raise too_many
    tags: dict[str, None] = {}  # ordered, and a set for the duplicate test
    for count, tag in enumerate(value, 1):
        if count > MAX_TAGS:
            raise too_many
        if not isinstance(tag, str) or not tag or len(tag) > MAX_TAG_LENGTH:
            raise InvalidInputError(
                f"{field} must hold non-empty strings of at most {MAX_TAG_LENGTH} characters; "
                f"got {str(tag)[:MAX_TAG_LENGTH]!r}"
            )
        if not tag.isprintable():
            raise InvalidInputError(f"{field} entry {tag!r} contains control characters")
        tags[tag] = None
    return list(tags)


def check_url_field(
    value: Any, field: str, *, required: bool = False, schemes: Iterable[str] | None = None
) -> str:
    """``value`` if it is an absolute URL (``scheme://host/...``) whose scheme is one of
    ``schemes`` (any scheme if None), or "" when allowed. A URL that does not parse (``http://[::1``,
    a bad port) is an :class:`InvalidInputError`, like any other bad value."""
    if value in (None, ""):
        if required:
            raise InvalidInputError(f"{field} is required")
        return ""
    if not isinstance(value, str) or len(value) > MAX_URL_LENGTH:
        raise InvalidInputError(f"{field} must be a URL of at most {MAX_URL_LENGTH} characters")
    if any(not char.isprintable() or char.isspace() for char in value):
        raise InvalidInputError(f"{field} {value!r} contains whitespace or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise InvalidInputError(f"{field} {value!r} is not a valid URL: {exc}") from None
    if not parts.scheme or not parts.netloc:
        raise InvalidInputError(f"{field} {value!r} is not an absolute URL like https://host/path")
    if schemes is not None and parts.scheme.lower() not in set(schemes):
        raise InvalidInputError(
            f"{field} {value!r} must use one of the schemes {', '.join(sorted(set(schemes)))}"
        )
    return value


def describe(error: ValidationError) -> str:
    """A one-line, user-facing summary of a pydantic validation error."""
    parts = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "body"
        parts.append(f"{location}: {item['msg']}")
    return "; ".join(parts)
