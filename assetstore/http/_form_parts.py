"""The part-header plumbing that both streaming forms share (``POST /upload_asset`` and the
batch forms): python-multipart's callbacks, the headers of the current part, a bound on the
number of parts. What a part means is the subclass's: :meth:`FormParts._headers_finished`,
:meth:`FormParts._part_data` and :meth:`FormParts._part_end`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assetstore.errors import PayloadTooLargeError
from assetstore.settings import ServiceSettings


@dataclass
class FormParts:
    """The parser's callbacks and the current part's headers."""

    settings: ServiceSettings
    kind: str = ""  # of the current part, as the subclass names it
    headers: dict[str, str] = field(default_factory=dict)
    header_name: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    parts: int = 0
    ended: bool = False
    ignored_bytes: int = 0

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def max_parts(self) -> tuple[int, str]:
        """The most parts the form may have, and the message past it."""
        raise NotImplementedError

    def _part_begin(self) -> None:
        self.parts += 1
        limit, message = self.max_parts()
        if self.parts > limit:
            raise PayloadTooLargeError(message)
        self.kind = ""
        self.headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def _header_end(self) -> None:
        name = self.header_name.decode("latin-1").strip().lower()
        self.headers[name] = self.header_value.decode("latin-1").strip()
        self.header_name.clear()
        self.header_value.clear()

    def _ignore(self, size: int) -> None:
        """Count ``size`` bytes of a part the form does not use (bounded like a field)."""
        self.ignored_bytes += size
        if self.ignored_bytes > self.settings.max_form_field_bytes:
            raise PayloadTooLargeError("the form's other fields are too large")

    def _headers_finished(self) -> None:
        raise NotImplementedError

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        raise NotImplementedError

    def _part_end(self) -> None:
        raise NotImplementedError

    def _end(self) -> None:
        self.ended = True


__all__ = ["FormParts"]
