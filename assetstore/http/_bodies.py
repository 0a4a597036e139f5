"""Request bodies and the small protocol details around them: size-capped JSON and
``If-Match`` revisions. (The paging parameters are :mod:`assetstore.http._paging`'s.)"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from assetstore.errors import InvalidInputError, PayloadTooLargeError
from assetstore.http._errors import UnprocessableBodyError


def declared_length(request: Request) -> int | None:
    """The request's Content-Length, or None if absent; 400 if malformed."""
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    if not raw.strip().isdigit():
        raise InvalidInputError("Content-Length is not a number")
    return int(raw)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing more than ``limit`` bytes (413) before and while reading."""
    length = declared_length(request)
    if length is not None and length > limit:
        raise PayloadTooLargeError(f"request body of {length} bytes exceeds the {limit}-byte limit")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLargeError(f"request body exceeds the {limit}-byte limit")
    return bytes(body)


def parse_json_object(
    raw: bytes,
    what: str,
    *,
    empty: dict[str, Any] | None = None,
    too_deep: type[InvalidInputError] = InvalidInputError,
) -> Any:
    """``raw`` as a JSON object (422 if it is not JSON or not an object). An empty body is
    ``empty`` if given, else a 422. JSON nested deeper than the parser goes (1024 levels) is
    valid JSON but too deep for any of our limits: ``too_deep`` (400)."""
    if not raw.strip():
        if empty is not None:
            return dict(empty)
        raise UnprocessableBodyError(f"{what} is empty; send a JSON object")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc) or "recursion" in str(exc).lower():
            raise too_deep(f"{what} is nested too deeply ({exc})") from None
        raise UnprocessableBodyError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        kind = "null" if value is None else type(value).__name__
        raise UnprocessableBodyError(f"{what} must be a JSON object, not {kind}")
    return value


async def read_json_object(
    request: Request,
    what: str = "request body",
    *,
    empty: dict[str, Any] | None = None,
    too_deep: type[InvalidInputError] = InvalidInputError,
) -> dict[str, Any]:
    """Read, cap and parse a JSON object body."""
    raw = await read_body(request, request.app.state.settings.max_query_bytes)
    return parse_json_object(raw, what, empty=empty, too_deep=too_deep)


def json_body_doc(description: str) -> dict[str, Any]:
    """OpenAPI for a JSON-object body (read by hand, so FastAPI cannot infer it)."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }


def if_match_revision(request: Request) -> int | None:
    """The revision named by ``If-Match`` (``3``, ``"3"`` or ``W/"3"``), None if absent or
    ``*``; 400 if it is not a revision number."""
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    text = raw.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    # isascii: str.isdigit() also accepts digits int() refuses ("²" arrives as latin-1).
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise InvalidInputError(
            f"If-Match must be the revision to update, e.g. '\"3\"' (GET returns it as ETag), "
            f"not {raw[:40]!r}"
        )
    return int(text)


def etag_of(revision: int) -> str:
    """The ``ETag`` of a record at ``revision``."""
    return f'"{revision}"'
