"""HTTP/1.1 framing read strictly, so no proxy in front can disagree with us about where a
request ends (request smuggling).

h11, which ``assetstore serve`` runs on (through uvicorn), reads request heads leniently: a
bare LF ends a line as CRLF does, an obsolete folded line continues a header, and
``Transfer-Encoding`` silently wins over a ``Content-Length`` beside it; the connection
then goes on with the next pipelined request. A proxy that reads the same bytes
differently forwards what we take for a second request. RFC 9112 allows a server to refuse
all three (§2.2, §5.2, §6.1), and that is what :class:`StrictH11Protocol` does: the head is
checked before h11 parses it, and a refused request gets a 400 and the connection is
closed, with nothing after it served.
"""

from __future__ import annotations

import re
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

#: Where h11 ends a request head (a blank line, bare LF allowed): the same rule, so we look
#: at exactly the bytes it is about to parse.
_HEAD_END = re.compile(rb"\n\r?\n")
_BARE_LF = re.compile(rb"(?<!\r)\n")
_FOLDED = re.compile(rb"\n[ \t]")


def check_head(head: bytes) -> None:
    """Raise :class:`h11.RemoteProtocolError` for a request head (up to and including its
    blank line) that uses a bare LF or obsolete line folding."""
    if _BARE_LF.search(head):
        raise h11.RemoteProtocolError("bare LF in the request head: lines end with CRLF")
    if _FOLDED.search(head.rstrip(b"\r\n")):
        raise h11.RemoteProtocolError("obsolete line folding in the request head")


class StrictConnection(h11.Connection):
    """An h11 server connection that refuses ambiguous framing (see the module docstring).

    It looks at the request head in h11's receive buffer before h11 reads it: that buffer
    is h11's own (``_receive_buffer``), so this class is tested against the h11 version it
    runs with (``tests/security``)."""

    def _extract_next_receive_event(self) -> Any:
        if self.their_state is h11.IDLE:
            data = self._receive_buffer._data
            end = _HEAD_END.search(data)
            if end is not None:
                check_head(bytes(data[: end.end()]))
        event = super()._extract_next_receive_event()
        if isinstance(event, h11.Request):
            names = {name.lower() for name, _ in event.headers}
            if b"transfer-encoding" in names and b"content-length" in names:
                raise h11.RemoteProtocolError(
                    "both Content-Length and Transfer-Encoding: the body's length is ambiguous"
                )
        return event


class StrictH11Protocol(H11Protocol):
    """uvicorn's h11 protocol over a :class:`StrictConnection` (``uvicorn.Config(http=...)``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = StrictConnection(h11.SERVER, self.conn._max_incomplete_event_size)


__all__ = ["StrictConnection", "StrictH11Protocol", "check_head"]
