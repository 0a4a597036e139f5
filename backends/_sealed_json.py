"""A JSON object in a file, sealed with the sha256 of its own bytes, in a form that stock
JSON readers (TinyDB among them) still open as they always did.

The seal is the object's last member, ``"_integrity": {"1": {"sha256": "<64 hex>"}}``
(a table, to TinyDB), and hashes every byte of the file before it. A flipped bit anywhere
is found: in the hashed bytes the sha256 differs; in the seal itself either the digest
differs, the seal (found by its shape at the end of the file) no longer has its exact
form, or the JSON no longer parses.

A file without a seal (written by a version that did not seal, or by another program) is
read as it is; the next write seals it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import orjson

from assetstore.errors import DamageError

#: The member that holds the seal.
SEAL_KEY = "_integrity"
#: A seal, found by its shape whatever its key says (a flip in the key is found too).
_SEAL = re.compile(rb'"([^"]{1,32})":\{"1":\{"sha256":"([0-9a-f]{64})"\}\}\}\Z')
_SEAL_SIZE = len(b'"":{"1":{"sha256":""}}}') + 32 + 64


def seal(data: Mapping[str, Any]) -> bytes:
    """``data`` as JSON, with its seal as the last member."""
    body = orjson.dumps({key: value for key, value in data.items() if key != SEAL_KEY})
    head = memoryview(body)[:-1]  # {... without its closing brace
    comma = b"," if len(body) > 2 else b""
    digest = hashlib.sha256(head)
    digest.update(comma)
    seal_member = b'"_integrity":{"1":{"sha256":"%b"}}}' % digest.hexdigest().encode()
    return b"".join((head, comma, seal_member))


def unseal(raw: bytes, name: str) -> dict[str, Any]:
    """The JSON object in ``raw`` (the file ``name``), without its seal, once the seal is
    verified. :class:`DamageError` when it is not a JSON object or fails its seal; an
    empty file is an empty object."""
    if not raw or raw.isspace():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DamageError(f"{name} is not valid JSON ({exc}); restore it from a backup") from None
    if not isinstance(data, dict):
        raise DamageError(f"{name} holds a JSON {type(data).__name__}, not an object of tables")
    found = _SEAL.search(raw, max(0, len(raw) - _SEAL_SIZE))
    if found is None and SEAL_KEY not in data:
        return data
    if found is None or found.group(1) != SEAL_KEY.encode():
        raise DamageError(f"{name}: its {SEAL_KEY} checksum is damaged; restore it from a backup")
    if hashlib.sha256(memoryview(raw)[: found.start()]).hexdigest().encode() != found.group(2):
        raise DamageError(
            f"{name} does not match its sha256: it was damaged, or changed by another program; "
            "restore it from a backup"
        )
    del data[SEAL_KEY]
    return data


__all__ = ["SEAL_KEY", "seal", "unseal"]
