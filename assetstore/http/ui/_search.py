"""The search box of the assets page: what a user types, turned into a MongoDB filter.

The grammar is small on purpose (each term narrows the search; terms are ANDed)::

    resnet                  names containing "resnet" (any case)
    name:org/               names starting with "org/"
    tag:image               tagged "image" (in asset_tags, or as the version's tag)
    version:1.2.0           exactly this version
    meta.framework=pytorch  asset_metadata.framework is "pytorch" (or the number/boolean)
    "two words"             quotes keep spaces: name:"Sample Asset"
    {"asset_tags": "x"}     a raw MongoDB filter, for power users (the whole box)

Anything else with a ``field:`` prefix is refused with a message that says what works, so a
typo is never silently read as a name.
"""

from __future__ import annotations

import shlex
from typing import Any

import orjson

from assetstore.errors import InvalidQueryError

#: Shown under the search box and in every error about it.
SYNTAX_HELP = (
    "words search names; name:org/ (prefix), tag:image, version:1.2.0, "
    'meta.framework=pytorch; or a JSON filter such as {"asset_tags": "image"}'
)

_REGEX_SPECIAL = frozenset("\\.^$|?*+()[]{}")


def literal_pattern(text: str) -> str:
    """A regular expression matching ``text`` literally (RE2 and PCRE alike)."""
    return "".join("\\" + char if char in _REGEX_SPECIAL else char for char in text)


def _loose_value(text: str) -> Any:
    """``text`` as given, or also the JSON number/boolean/null it spells: metadata written by
    code may hold ``10`` where the search box can only say ``"10"``."""
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    if parsed is None or isinstance(parsed, bool | int | float):
        return {"$in": [text, parsed]}
    return text


def _term(token: str) -> dict[str, Any]:
    """The filter of one search term."""
    field, colon, value = token.partition(":")
    if colon and "=" not in field:
        if not value:
            raise InvalidQueryError(f"{token!r} needs a value after ':' ({SYNTAX_HELP})")
        if field == "name":
            return {"asset_name": {"$regex": "^" + literal_pattern(value)}}
        if field == "tag":
            return {"$or": [{"asset_tags": value}, {"asset_version.tag": value}]}
        if field == "version":
            return {"asset_version.version": value}
        raise InvalidQueryError(f"unknown search field {field!r}: use {SYNTAX_HELP}")
    key, equals, value = token.partition("=")
    if equals and key.startswith("meta."):
        path = key[len("meta.") :]
        if not path or path.startswith("$") or ".." in path or path.endswith("."):
            raise InvalidQueryError(f"{token!r}: write meta.KEY=VALUE, e.g. meta.framework=torch")
        return {f"asset_metadata.{path}": _loose_value(value)}
    return {"asset_name": {"$regex": literal_pattern(token), "$options": "i"}}


def parse_search(text: str | None, *, tag: str | None = None) -> dict[str, Any]:
    """The MongoDB filter for the search box ``text`` and the tag filter ``tag`` (both
    optional: nothing matches everything). :class:`InvalidQueryError` says what is wrong
    and what the box accepts."""
    clauses: list[dict[str, Any]] = []
    text = (text or "").strip()
    if text.startswith("{"):
        try:
            raw = orjson.loads(text)  # valid JSON starting with "{" is an object
        except orjson.JSONDecodeError as exc:
            raise InvalidQueryError(f"the JSON filter is not valid JSON: {exc}") from None
        if raw:
            clauses.append(raw)
    elif text:
        try:
            tokens = shlex.split(text, posix=True)
        except ValueError as exc:
            raise InvalidQueryError(f"the search has an unclosed quote ({exc})") from None
        clauses.extend(_term(token) for token in tokens if token)
    if tag and tag.strip():
        clauses.append({"asset_tags": tag.strip()})
    if not clauses:
        return {}
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


__all__ = ["SYNTAX_HELP", "literal_pattern", "parse_search"]
