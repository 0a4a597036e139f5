"""The spec's view of a record: exactly the fields of the specification's dataclasses.

Our answers add ``asset_source``, ``created_at``, ``updated_at`` and ``revision`` (the value
``If-Match`` needs). A client that builds the spec's dataclass with ``AssetObject(**data)``
fails on them with a ``TypeError``; it asks for the spec's view with ``?fields=spec`` on any
request, or the operator makes it the default (``ASSETSTORE_RESPONSE_FIELDS=spec``);
``?fields=full`` asks for everything whatever the default.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import Request

from assetstore.errors import InvalidInputError

#: The fields of the specification's ``AssetObject``.
SPEC_ASSET_FIELDS: Final = (
    "asset_uri",
    "asset_name",
    "asset_id",
    "assets_db_id",
    "asset_version",
    "asset_metadata",
    "asset_public_url",
    "asset_file_info",
    "asset_tags",
)
#: The fields of the specification's ``AssetsDBRegistry``.
SPEC_REGISTRY_FIELDS: Final = (
    "asset_registry_id",
    "asset_registry_name",
    "asset_registry_metadata",
    "asset_registry_tags",
    "asset_registry_public_url",
)


def spec_view(request: Request) -> bool:
    """Whether this request's answers show the spec's fields only."""
    asked = request.query_params.get("fields")
    if asked is None or asked == "":
        return bool(request.app.state.settings.response_fields == "spec")
    if asked not in ("spec", "full"):
        raise InvalidInputError(f"fields must be 'spec' or 'full', not {asked[:40]!r}")
    return asked == "spec"


def shown(request: Request, doc: dict[str, Any], spec_fields: tuple[str, ...]) -> dict[str, Any]:
    """``doc`` as this request sees it."""
    return (
        {field: doc[field] for field in spec_fields if field in doc} if spec_view(request) else doc
    )


__all__ = ["SPEC_ASSET_FIELDS", "SPEC_REGISTRY_FIELDS", "shown", "spec_view"]
