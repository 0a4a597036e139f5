"""Asset URIs: ``name:version-tag``, built by the store from the three parts.

Rules, chosen so that a URI is unambiguous, safe in a URL path and in a file system:

* ``name``: 1 to 200 printable characters; ``/`` separates namespaces (``org/model``) but no
  segment may be empty, ``.`` or ``..``; no ``:``, ``\\``, ``#``, ``?``, ``%``, control
  characters, nor leading or trailing spaces (inner spaces are allowed: ``Sample Asset``).
* ``version``: 1 to 64 characters from ``A-Z a-z 0-9 . _ + -``, starting with a letter or digit
  (``1.0``, ``2.1.3``, ``1.0.0-rc.1``, ``v3``).
* ``tag``: 1 to 64 characters from ``A-Z a-z 0-9 . _``, starting with a letter or digit. A tag
  has no ``-``, so the last ``-`` of a URI always separates version and tag.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from assetstore.errors import InvalidNameError

MAX_NAME_LENGTH = 200
MAX_VERSION_LENGTH = 64
MAX_TAG_LENGTH = 64

_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+\-]*")
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._]*")
_NAME_FORBIDDEN = frozenset(":\\#?%")


class AssetURI(NamedTuple):
    """The three parts of an asset URI."""

    name: str
    version: str
    tag: str

    def __str__(self) -> str:
        return f"{self.name}:{self.version}-{self.tag}"


#: Why an asset without name, version or tag is refused (the specification gives it an
#: empty URI instead).
_WHY_REQUIRED = (
    "an asset's URI is name:version-tag and identifies it uniquely in the store, so an asset "
    "without one could not be read, updated or deleted"
)


def validate_name(name: object) -> str:
    """Return ``name`` if it is a valid asset name, else raise :class:`InvalidNameError`."""
    if not isinstance(name, str) or not name:
        raise InvalidNameError(f"asset_name is required (a non-empty string); {_WHY_REQUIRED}")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidNameError(f"asset_name is longer than {MAX_NAME_LENGTH} characters")
    if name != name.strip():
        raise InvalidNameError(f"asset_name {name!r} has leading or trailing whitespace")
    for char in name:
        if char in _NAME_FORBIDDEN or not char.isprintable():
            raise InvalidNameError(
                f"asset_name {name!r} contains {char!r}; names may not contain "
                "':', '\\', '#', '?', '%' or control characters"
            )
    for segment in name.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidNameError(f"asset_name {name!r} has an empty, '.' or '..' path segment")
        if segment != segment.strip():
            raise InvalidNameError(f"asset_name {name!r} has a segment with outer whitespace")
    return name


def validate_version(version: object) -> str:
    """Return ``version`` if valid, else raise :class:`InvalidNameError`."""
    return _validate_part(
        "version", version, _VERSION, MAX_VERSION_LENGTH, "letters, digits, '.', '_', '+' and '-'"
    )


def validate_tag(tag: object) -> str:
    """Return ``tag`` if valid, else raise :class:`InvalidNameError`."""
    return _validate_part("tag", tag, _TAG, MAX_TAG_LENGTH, "letters, digits, '.' and '_'")


def _validate_part(
    what: str, value: object, pattern: re.Pattern[str], limit: int, allowed: str
) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidNameError(
            f"asset_version.{what} is required (a non-empty string); {_WHY_REQUIRED}"
        )
    if len(value) > limit:
        raise InvalidNameError(f"asset_version.{what} is longer than {limit} characters")
    if not pattern.fullmatch(value):
        raise InvalidNameError(
            f"asset_version.{what} {value!r} may only contain {allowed}, "
            "starting with a letter or digit"
        )
    return value


def build_uri(name: str, version: str, tag: str) -> str:
    """Validate the three parts and return ``name:version-tag``."""
    return str(AssetURI(validate_name(name), validate_version(version), validate_tag(tag)))


def parse_uri(uri: str) -> AssetURI:
    """Split a URI into its parts, validating each; :class:`InvalidNameError` if malformed."""
    if not isinstance(uri, str) or ":" not in uri:
        raise InvalidNameError(f"asset URI {uri!r} is not of the form name:version-tag")
    name, _, version_tag = uri.partition(":")
    version, dash, tag = version_tag.rpartition("-")
    if not dash:
        raise InvalidNameError(f"asset URI {uri!r} is not of the form name:version-tag")
    return AssetURI(validate_name(name), validate_version(version), validate_tag(tag))


__all__ = [
    "AssetURI",
    "build_uri",
    "parse_uri",
    "validate_name",
    "validate_tag",
    "validate_version",
]
