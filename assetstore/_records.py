"""Stored records turned into models. A record that does not validate is damage: a
:class:`~assetstore.errors.DamageError` naming the store and the record, never a pydantic
traceback."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from assetstore._validation import describe
from assetstore.errors import DamageError

Model = TypeVar("Model", bound=BaseModel)


def record_key(doc: Mapping[str, Any]) -> str:
    """How a message names a stored record: its URI or registry id."""
    for field in ("asset_uri", "asset_registry_id"):
        value = doc.get(field)
        if isinstance(value, str) and value:
            return repr(value)
    return "(without a key)"


def load_record(model: type[Model], doc: Mapping[str, Any], where: object) -> Model:
    """``doc`` as a ``model``; :class:`DamageError` if it does not validate (``where``
    names the store it was read from)."""
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        raise DamageError(
            f"{where}: record {record_key(doc)} is damaged ({describe(exc)}); "
            "run `assetstore fsck` and correct or restore it"
        ) from None


__all__ = ["load_record", "record_key"]
