"""Which class serves which URL scheme: one table per kind of backend, in fsspec's style.

=====================  ==========================================================  =======
table                  what an entry opens                                          extra
=====================  ==========================================================  =======
:data:`BLOB_STORES`    a :class:`~assetstore.ports.BlobStore` (``from_url``)
:data:`DOCUMENT_STORES` a :class:`~assetstore.ports.DocumentStore` (``from_url``)
:data:`STORES`         a whole :class:`~assetstore.contract.AssetStore` (a factory)
:data:`REGISTRIES`     a whole :class:`~assetstore.contract.Registry` (a factory)
=====================  ==========================================================  =======

A blob store and a document store make an asset store through the core's publish protocol
(``assetstore._store``), so a third party who adds a blob or a document backend gets atomic
publishes, verified reads, compare-and-swap updates, ``fsck`` and ``gc`` without writing any
of them. Whole stores (the HTTP client) implement the contract themselves.

Each entry names its class as ``"module:attribute"``, imported on first use, and the extra
that installs it, for the "install X" message. Register at run time with
:func:`register_blob_store` and friends, or from a package with the entry-point groups
``assetstore.blob_stores``, ``assetstore.document_stores``, ``assetstore.stores`` and
``assetstore.registries`` (the value is the same ``module:attribute``).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from assetstore.errors import InvalidInputError, MissingDependencyError

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")


@dataclass(frozen=True)
class Backend:
    """One entry of a scheme table."""

    #: ``"module:attribute"`` of the class (blob and document stores) or factory (whole
    #: stores and registries).
    target: str
    #: The extra that installs its dependencies (``pip install 'assetstore[<extra>]'``).
    extra: str | None = None
    #: Options filled from :class:`assetstore.settings.Settings` when the caller gives
    #: none: option name -> settings field.
    settings: Mapping[str, str] = field(default_factory=dict)

    def load(self, scheme: str) -> Any:
        """The class or factory, imported now; ``MissingDependencyError`` names the extra."""
        module_name, _, attribute = self.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            if self.extra is None:
                raise
            raise MissingDependencyError(
                f"{scheme}:// needs the '{self.extra}' extra: "
                f"pip install 'assetstore[{self.extra}]' ({exc})"
            ) from exc
        value: Any = module
        for part in attribute.split("."):
            value = getattr(value, part)
        return value


_S3_SETTINGS = {
    "endpoint_url": "s3_endpoint_url",
    "key": "aws_access_key_id",
    "secret": "aws_secret_access_key",
    "region": "aws_region",
    "create_bucket": "s3_create_bucket",
    "checksums": "s3_checksums",
}

#: Blob stores by scheme.
BLOB_STORES: dict[str, Backend] = {
    "file": Backend("assetstore.backends.fsspec_blobs:LocalBlobStore"),
    "memory": Backend("assetstore.backends.fsspec_blobs:FsspecBlobStore"),
    "s3": Backend("assetstore.backends.s3:S3BlobStore", "s3", _S3_SETTINGS),
    "s3a": Backend("assetstore.backends.s3:S3BlobStore", "s3", _S3_SETTINGS),
}
#: Document stores by scheme (where metadata and registry entries live).
DOCUMENT_STORES: dict[str, Backend] = {
    "file": Backend(
        "assetstore.backends.tinydb_documents:TinyDBDocumentStore",
        settings={"checkpoint_bytes": "checkpoint_bytes"},
    ),
    "memory": Backend("assetstore.backends.memory:MemoryDocumentStore"),
    "mongodb": Backend(
        "assetstore.backends.mongo:MongoDocumentStore",
        "mongo",
        {"max_time_ms": "mongo_max_time_ms"},
    ),
    "mongodb+srv": Backend(
        "assetstore.backends.mongo:MongoDocumentStore",
        "mongo",
        {"max_time_ms": "mongo_max_time_ms"},
    ),
}
#: Whole asset stores by scheme: ``factory(location, **options) -> AssetStore``.
STORES: dict[str, Backend] = {
    "http": Backend("assetstore.http.client:open_http_store", "http"),
    "https": Backend("assetstore.http.client:open_http_store", "http"),
}
#: Whole registries by scheme: ``factory(location, **options) -> Registry``. Other locations
#: are document stores holding the registry's entries.
REGISTRIES: dict[str, Backend] = {
    "http": Backend("assetstore.http.client:open_http_registry", "http"),
    "https": Backend("assetstore.http.client:open_http_registry", "http"),
}

_GROUPS = {
    id(BLOB_STORES): ("assetstore.blob_stores",),
    id(DOCUMENT_STORES): ("assetstore.document_stores",),
    # "assetstore.backends": the group's name before blob and document stores had their own
    id(STORES): ("assetstore.stores", "assetstore.backends"),
    id(REGISTRIES): ("assetstore.registries",),
}


def scheme_of(location: str) -> str:
    """The URL scheme of ``location`` in lower case; ``"file"`` for a plain path."""
    match = _SCHEME.match(location)
    return match.group(1).lower() if match else "file"


def lookup(table: dict[str, Backend], scheme: str) -> Backend | None:
    """The entry for ``scheme``: the table's, else one a package declares through the
    table's entry-point group(s); None if there is none."""
    if scheme in table:
        return table[scheme]
    for group in _GROUPS[id(table)]:
        for entry in entry_points(group=group):
            if entry.name == scheme:
                return Backend(entry.value)
    return None


def known_schemes(table: dict[str, Backend]) -> list[str]:
    """Every scheme the table (and its entry-point groups) can open."""
    names = set(table)
    for group in _GROUPS[id(table)]:
        names |= {entry.name for entry in entry_points(group=group)}
    return sorted(names)


def require(table: dict[str, Backend], scheme: str, what: str) -> Backend:
    """:func:`lookup`, or ``InvalidInputError`` listing the schemes that exist."""
    entry = lookup(table, scheme)
    if entry is None:
        groups = " or ".join(f"'{g}'" for g in _GROUPS[id(table)][:1])
        raise InvalidInputError(
            f"no {what} for {scheme}:// (known: {', '.join(known_schemes(table))}); a "
            f"third-party backend registers its scheme in the {groups} entry-point group"
        )
    return entry


def _register(table: dict[str, Backend], scheme: str, target: str, extra: str | None) -> None:
    if ":" not in target:
        raise InvalidInputError(f"{target!r} is not 'module:attribute'")
    table[scheme.lower()] = Backend(target, extra)


def register_blob_store(scheme: str, target: str, *, extra: str | None = None) -> None:
    """Serve ``scheme://`` blobs with the :class:`~assetstore.ports.BlobStore` class at
    ``target`` (``"package.module:Class"``); its ``from_url`` opens them."""
    _register(BLOB_STORES, scheme, target, extra)


def register_document_store(scheme: str, target: str, *, extra: str | None = None) -> None:
    """Keep metadata at ``scheme://`` with the :class:`~assetstore.ports.DocumentStore`
    class at ``target``; its ``from_url`` opens them."""
    _register(DOCUMENT_STORES, scheme, target, extra)


def register_store(scheme: str, target: str, *, extra: str | None = None) -> None:
    """Open ``scheme://`` as a whole store with the factory at ``target``."""
    _register(STORES, scheme, target, extra)


def register_registry(scheme: str, target: str, *, extra: str | None = None) -> None:
    """Open ``scheme://`` as a whole registry with the factory at ``target``."""
    _register(REGISTRIES, scheme, target, extra)


__all__ = [
    "BLOB_STORES",
    "DOCUMENT_STORES",
    "REGISTRIES",
    "STORES",
    "Backend",
    "known_schemes",
    "lookup",
    "register_blob_store",
    "register_document_store",
    "register_registry",
    "register_store",
    "require",
    "scheme_of",
]
