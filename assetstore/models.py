"""The two records of the specification, as pydantic v2 models.

Field names are exactly the specification's, so a client of the original service reads and
writes the same JSON. The store adds, without breaking such a client:

* ``asset_file_info`` keys ``file_size`` (int), ``file_type`` (a MIME type), ``sha256`` and
  ``filename`` for uploaded files;
* ``asset_source``: ``"upload"`` for a file stored by the store, ``"external"`` for an asset
  registered with its own public URL;
* ``created_at`` / ``updated_at`` (ISO 8601, UTC) and ``revision`` (1 on creation, +1 on every
  change: the value to pass as ``expected_revision`` / HTTP ``If-Match``);
* ``asset_origin``: where a copy came from (empty for an asset published in this store; see
  :class:`ImportItem`).

Beside the two records: the reports (health, fsck, gc, federated search), the items of a
batch upload (:class:`Upload`) and of an import (:class:`ImportItem`), a staged file
(:class:`StagedFile`) and the type aliases of the API (:data:`Filter`, :data:`Sort`,
:data:`Source`, :data:`Progress`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assetstore.errors import InvalidInputError

#: A filter in MongoDB's find syntax, e.g. ``{"asset_tags": {"$in": ["image"]}}``.
Filter = Mapping[str, Any]
#: A sort specification: ``[("asset_version.version", -1)]`` or ``{"created_at": 1}``.
Sort = Sequence[tuple[str, int]] | Mapping[str, int]


class Readable(Protocol):
    """Anything with a binary ``read(size)``: a file, a socket's file, a stream."""

    def read(self, size: int = -1, /) -> bytes: ...


#: What ``upload`` accepts: a file path, the bytes themselves, or a binary file object
#: (read in chunks, never whole).
Source = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes] | Readable
#: Called with the number of bytes just transferred.
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Upload:
    """One item of :meth:`AssetStore.upload_many`."""

    source: Source
    name: str
    version: str
    tag: str
    metadata: Mapping[str, Any] | None = None
    tags: Sequence[str] | None = None
    filename: str | None = None
    content_type: str | None = None

    @classmethod
    def fields_of(cls, item: Upload | Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments of ``upload`` that ``item`` stands for."""
        if isinstance(item, Upload):
            return {field: getattr(item, field) for field in cls.__dataclass_fields__}
        if isinstance(item, Mapping):
            unknown = set(item) - set(cls.__dataclass_fields__)
            if unknown:
                raise InvalidInputError(f"unknown upload fields {sorted(unknown)}")
            return dict(item)
        raise InvalidInputError("each upload must be an Upload or a mapping of its fields")


#: What an import reads a file from: a :data:`Source` read from its start, or a function
#: giving a reader of the file from a byte offset (a store that kept part of an interrupted
#: transfer asks for the rest only).
ImportSource = Source | Callable[[int], Readable]


@dataclass(frozen=True)
class ImportItem:
    """One item of :meth:`AssetStore.import_assets`: a record published elsewhere, kept
    with its identity, and the bytes of its file (None for an external asset)."""

    record: AssetObject
    source: ImportSource | None = None


@dataclass(frozen=True)
class StagedFile:
    """A file written by :meth:`AssetStore.stage` and not yet published: invisible to every
    read and query, and removed by ``gc`` if it is never published."""

    staging_id: str
    size: int
    sha256: str
    filename: str


#: Fields that identify an asset; ``update`` refuses to change them.
ASSET_IDENTITY_FIELDS = frozenset(
    {
        "asset_uri",
        "asset_name",
        "asset_id",
        "assets_db_id",
        "asset_version",
        "asset_source",
        "created_at",
        "updated_at",
        "revision",
        "asset_origin",
    }
)
#: Fields an update may change on any asset.
ASSET_MUTABLE_FIELDS = frozenset({"asset_metadata", "asset_tags"})
#: Fields an update may change only on an external asset (an uploaded file's are the store's).
ASSET_EXTERNAL_MUTABLE_FIELDS = frozenset({"asset_public_url", "asset_file_info"})

#: Fields every document store indexes, by the unique key of its documents (the key itself is
#: always indexed): what users query most, and what ``resolve`` and ``get_by_id`` look up.
DEFAULT_INDEXES: dict[str, tuple[str, ...]] = {
    "asset_uri": (
        "asset_name",
        "asset_tags",
        "asset_version.version",
        "asset_version.tag",
        "asset_id",
    ),
    "asset_registry_id": ("asset_registry_name", "asset_registry_tags"),
}

REGISTRY_IDENTITY_FIELDS = frozenset({"asset_registry_id", "created_at", "updated_at", "revision"})
REGISTRY_MUTABLE_FIELDS = frozenset(
    {
        "asset_registry_name",
        "asset_registry_metadata",
        "asset_registry_tags",
        "asset_registry_public_url",
    }
)


def utc_now() -> str:
    """The current time as the ISO 8601 UTC string stored in ``created_at`` / ``updated_at``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _string_list(value: Any) -> Any:
    if isinstance(value, str):
        raise ValueError("must be a list of strings, not a single string")
    return value


class AssetObject(BaseModel):
    """An asset: a stored file (or an external URL) with its name, version, tag and metadata."""

    model_config = ConfigDict(extra="ignore", validate_assignment=False)

    asset_uri: str = ""
    asset_name: str = ""
    asset_id: str = ""
    assets_db_id: str = ""
    asset_version: dict[str, str] = Field(default_factory=lambda: {"version": "", "tag": ""})
    asset_metadata: dict[str, Any] = Field(default_factory=dict)
    asset_public_url: str = ""
    asset_file_info: dict[str, Any] = Field(default_factory=dict)
    asset_tags: list[str] = Field(default_factory=list)
    asset_source: Literal["upload", "external"] = "external"
    created_at: str = ""
    updated_at: str = ""
    revision: int = 0
    #: Provenance of a copy (``assetstore.sync``, ``import``): ``assets_db_id`` of the store
    #: that first published the asset, ``copied_from`` (the store read, its id and
    #: location), ``copied_at``. Empty for an asset published in this store.
    asset_origin: dict[str, Any] = Field(default_factory=dict)

    _normalize_tags = field_validator("asset_tags", mode="before")(_string_list)

    @field_validator("asset_version", mode="before")
    @classmethod
    def _version_has_both_keys(cls, value: Any) -> Any:
        if value is None:
            return {"version": "", "tag": ""}
        if not isinstance(value, dict):
            raise ValueError('must be an object like {"version": "1.0", "tag": "stable"}')
        unknown = set(value) - {"version", "tag"}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}; only 'version' and 'tag'")
        return {"version": value.get("version", "") or "", "tag": value.get("tag", "") or ""}

    @property
    def version(self) -> str:
        """``asset_version["version"]``."""
        return self.asset_version.get("version", "")

    @property
    def tag(self) -> str:
        """``asset_version["tag"]``."""
        return self.asset_version.get("tag", "")

    @property
    def sha256(self) -> str | None:
        """The sha256 of an uploaded file, or None."""
        return self.asset_file_info.get("sha256")

    @property
    def file_size(self) -> int | None:
        """The size in bytes of an uploaded file, or None."""
        return self.asset_file_info.get("file_size")

    def to_document(self) -> dict[str, Any]:
        """The JSON document stored by the metadata backends."""
        return self.model_dump(mode="json")

    @classmethod
    def from_stored(cls, doc: Mapping[str, Any]) -> AssetObject:
        """An asset from a stored document, owning every value (the document may be a
        store's own). A document with exactly the types the model holds is taken as it is
        (checked field by field, without pydantic: queries materialize thousands); anything
        else is validated, with the same errors as :meth:`model_validate`."""
        values = _well_formed_asset(doc)
        if values is None:
            asset = cls.model_validate(doc)
            asset.asset_metadata = _json_copy(asset.asset_metadata)
            asset.asset_file_info = _json_copy(asset.asset_file_info)
            return asset
        asset = object.__new__(cls)
        object.__setattr__(asset, "__dict__", values)
        object.__setattr__(asset, "__pydantic_fields_set__", set(_ASSET_FIELDS))
        object.__setattr__(asset, "__pydantic_extra__", None)
        object.__setattr__(asset, "__pydantic_private__", None)
        return asset


_ASSET_STRINGS = (
    "asset_uri",
    "asset_name",
    "asset_id",
    "assets_db_id",
    "asset_public_url",
    "created_at",
    "updated_at",
)


def _json_copy(value: Any) -> Any:
    """A copy of a JSON value (dicts and lists copied at every level, scalars shared)."""
    cls = value.__class__
    if cls is dict:
        return {k: _json_copy(v) if v.__class__ in _CONTAINERS else v for k, v in value.items()}
    if cls is list:
        return [_json_copy(v) if v.__class__ in _CONTAINERS else v for v in value]
    return value


_CONTAINERS = frozenset({dict, list})


def _well_formed_asset(doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """The model's values (containers copied) if ``doc`` holds every field with exactly the
    type the model keeps; None when anything would need pydantic's validation."""
    try:
        for field in _ASSET_STRINGS:
            if doc[field].__class__ is not str:
                return None
        version = doc["asset_version"]
        metadata = doc["asset_metadata"]
        file_info = doc["asset_file_info"]
        tags = doc["asset_tags"]
        source = doc["asset_source"]
        revision = doc["revision"]
        origin = doc.get("asset_origin", _NO_ORIGIN)
    except (KeyError, TypeError, AttributeError):
        return None
    if version.__class__ is not dict or len(version) != 2:
        return None
    number, tag = version.get("version"), version.get("tag")
    if (
        number.__class__ is not str
        or tag.__class__ is not str
        or metadata.__class__ is not dict
        or file_info.__class__ is not dict
        or tags.__class__ is not list
        or revision.__class__ is not int
        or origin.__class__ is not dict
        or (source != "upload" and source != "external")
    ):
        return None
    for item in tags:
        if item.__class__ is not str:
            return None
    return {
        "asset_uri": doc["asset_uri"],
        "asset_name": doc["asset_name"],
        "asset_id": doc["asset_id"],
        "assets_db_id": doc["assets_db_id"],
        "asset_version": {"version": number, "tag": tag},
        "asset_metadata": _json_copy(metadata),
        "asset_public_url": doc["asset_public_url"],
        "asset_file_info": _json_copy(file_info),
        "asset_tags": list(tags),
        "asset_source": source,
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
        "revision": revision,
        "asset_origin": _json_copy(origin) if origin else {},
    }


_NO_ORIGIN: dict[str, Any] = {}
_ASSET_FIELDS = tuple(AssetObject.model_fields)


class AssetsDBRegistry(BaseModel):
    """An entry of the registry of asset stores: where a store lives and what it holds."""

    model_config = ConfigDict(extra="ignore")

    asset_registry_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    asset_registry_name: str = ""
    asset_registry_metadata: dict[str, Any] = Field(default_factory=dict)
    asset_registry_tags: list[str] = Field(default_factory=list)
    asset_registry_public_url: str = ""
    created_at: str = ""
    updated_at: str = ""
    revision: int = 0

    _normalize_tags = field_validator("asset_registry_tags", mode="before")(_string_list)

    def to_document(self) -> dict[str, Any]:
        """The JSON document stored by the metadata backends."""
        return self.model_dump(mode="json")


class HealthReport(BaseModel):
    """The result of checking one registered store's ``/health`` endpoint."""

    asset_registry_id: str
    url: str
    status: Literal["healthy", "unhealthy", "unreachable", "refused"]
    http_status: int | None = None
    latency_ms: float | None = None
    response: Any = None
    error: str | None = None
    checked_at: str = Field(default_factory=utc_now)


class FsckReport(BaseModel):
    """What ``fsck`` found: every problem is listed by asset URI or blob key; ``damaged``
    lists damage to the store's own records (a file or journal record failing its checksum,
    a malformed record, files no metadata refers to while the metadata is empty), one line
    each, naming the file and the record."""

    checked: int = 0
    missing: list[str] = Field(default_factory=list)
    corrupt: list[str] = Field(default_factory=list)
    orphans: list[str] = Field(default_factory=list)
    damaged: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is missing, corrupt or damaged (orphan blobs are harmless;
        ``gc`` them)."""
        return not self.missing and not self.corrupt and not self.damaged


class GcReport(BaseModel):
    """What ``gc`` removed (or, with ``quarantine``, moved aside), and what it could not
    remove (``failed``: ``"<key>: <reason>"``; gc goes on after each)."""

    removed: list[str] = Field(default_factory=list)
    bytes_freed: int = 0
    kept_recent: int = 0
    quarantined: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)


class FederatedAsset(AssetObject):
    """An asset found by a federated search, with the registry entry of its store."""

    asset_registry_id: str = ""


class SourceStatus(BaseModel):
    """How one store answered a federated search."""

    asset_registry_id: str
    url: str = ""
    status: Literal["ok", "error", "refused"]
    latency_ms: float | None = None
    count: int = 0
    error: str | None = None


class SearchResult(BaseModel):
    """The merged results and the status of every store asked."""

    results: list[FederatedAsset] = Field(default_factory=list)
    sources: list[SourceStatus] = Field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when every store answered."""
        return all(source.status == "ok" for source in self.sources)


__all__ = [
    "ASSET_EXTERNAL_MUTABLE_FIELDS",
    "ASSET_IDENTITY_FIELDS",
    "ASSET_MUTABLE_FIELDS",
    "DEFAULT_INDEXES",
    "REGISTRY_IDENTITY_FIELDS",
    "REGISTRY_MUTABLE_FIELDS",
    "AssetObject",
    "AssetsDBRegistry",
    "FederatedAsset",
    "Filter",
    "FsckReport",
    "GcReport",
    "HealthReport",
    "ImportItem",
    "ImportSource",
    "Progress",
    "SearchResult",
    "Sort",
    "Source",
    "SourceStatus",
    "StagedFile",
    "Upload",
    "utc_now",
]
