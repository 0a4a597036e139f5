"""The envelopes of the original service: ``{"success": true, "data": ...}`` and
``{"success": false, "error": "...", "message": "..."}`` (the original named the message
``message``; ``error`` is ours: both carry it), rendered with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse as _StarletteJSON

#: The longest error message sent to a client.
MAX_MESSAGE = 1000


class JSONResponse(_StarletteJSON):
    """JSON rendered by orjson (fast, and exact for the stored documents)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def ok(
    data: Any, status: int = 200, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """The success envelope ``{"success": true, "data": ...}`` (+ top-level ``extra``)."""
    return JSONResponse(
        {"success": True, **extra, "data": data}, status_code=status, headers=headers
    )


def one_line(message: object) -> str:
    """A message fit for a client: one line, bounded length."""
    text = " ".join(str(message).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def failure(
    status: int, message: object, error_type: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The error envelope; ``error_type`` names the exception class for the client."""
    text = one_line(message)
    body = {"success": False, "error": text, "message": text, "error_type": error_type}
    return JSONResponse(body, status_code=status, headers=headers)
