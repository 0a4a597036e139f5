"""Records to JSON and back: ``dataclasses.asdict`` one way, :func:`load` the other.

The loader is strict: a missing field, an unknown key or a value of the wrong type is an
error naming where it is, so a results file and the records can never drift apart unseen.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class FormatError(ValueError):
    """A JSON value that does not fit the record it is loaded into."""


def to_json(record: Any) -> Any:
    """A record (a dataclass, possibly nested in lists and dicts) as JSON-ready data."""
    return dataclasses.asdict(record) if dataclasses.is_dataclass(record) else record


def load(kind: type[T], data: Any) -> T:
    """``data`` (parsed JSON) as a ``kind``: a dataclass, or a type built from dataclasses,
    ``list``, ``dict``, ``X | None`` and plain values."""
    return _load(kind, data, "$")


@functools.cache
def _hints(kind: type) -> dict[str, Any]:
    return typing.get_type_hints(kind)


def _load(kind: Any, data: Any, where: str) -> Any:
    origin = typing.get_origin(kind)
    if kind is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if data is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _load(option, data, where)
            except FormatError as exc:
                errors.append(str(exc))
        raise FormatError("; ".join(errors))
    if origin is list:
        (item,) = typing.get_args(kind)
        _expect(isinstance(data, list), where, "a list", data)
        return [_load(item, value, f"{where}[{i}]") for i, value in enumerate(data)]
    if origin is dict:
        key, item = typing.get_args(kind)
        _expect(isinstance(data, dict), where, "an object", data)
        return {_load(key, k, where): _load(item, v, f"{where}.{k}") for k, v in data.items()}
    if dataclasses.is_dataclass(kind):
        return _load_record(kind, data, where)
    if kind is float:
        _expect(
            isinstance(data, int | float) and not isinstance(data, bool), where, "a number", data
        )
        return float(data)
    if kind is Path:
        _expect(isinstance(data, str), where, "a path", data)
        return Path(data)
    _expect(type(data) is kind, where, kind.__name__, data)
    return data


def _load_record(kind: type, data: Any, where: str) -> Any:
    _expect(isinstance(data, dict), where, f"a {kind.__name__} object", data)
    hints = _hints(kind)
    fields = {f.name: f for f in dataclasses.fields(kind) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise FormatError(f"{where}: unknown fields {unknown} for {kind.__name__}")
    values = {}
    for name, field in fields.items():
        if name in data:
            values[name] = _load(hints[name], data[name], f"{where}.{name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise FormatError(f"{where}: {kind.__name__} needs {name!r}")
    return kind(**values)


def _expect(ok: bool, where: str, wanted: str, data: Any) -> None:
    if not ok:
        raise FormatError(f"{where}: expected {wanted}, got {data!r:.80}")
