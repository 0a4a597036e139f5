"""assetstore: versioned assets with metadata, tags and MongoDB-style queries, plus a registry
of asset stores; in-process, on S3 + MongoDB, or over HTTP, with one API.

>>> import assetstore
>>> store = assetstore.open_store("./assets")
>>> asset = store.upload("model.pt", name="org/resnet", version="1.0", tag="stable")
>>> store.resolve("org/resnet").asset_uri
'org/resnet:1.0-stable'

``compile_filter`` (the query engine, with RE2) is imported on first use, so a program that
only talks to a served store does not load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assetstore._sync import SyncReport, sync
from assetstore._version import __version__ as __version__
from assetstore.contract import AssetStore, Registry
from assetstore.errors import (
    AlreadyExistsError,
    AssetNotFoundError,
    AssetStoreError,
    AuthenticationError,
    BackendUnavailableError,
    ChecksumMismatchError,
    CrossSiteRequestError,
    DamagedBundleError,
    DamageError,
    HealthCheckRefusedError,
    InsufficientStorageError,
    IntegrityError,
    InvalidInputError,
    InvalidNameError,
    InvalidQueryError,
    MissingDependencyError,
    NotFoundError,
    NotSupportedError,
    PayloadTooLargeError,
    QueryTimeoutError,
    ReadOnlyFieldError,
    RegistryNotFoundError,
    RequestTimeoutError,
    RevisionMismatchError,
    ServiceBusyError,
    TooManyResultsError,
)
from assetstore.models import (
    AssetObject,
    AssetsDBRegistry,
    FsckReport,
    GcReport,
    HealthReport,
    ImportItem,
    SearchResult,
    StagedFile,
    Upload,
)
from assetstore.open import open_registry, open_store

if TYPE_CHECKING:
    from assetstore.query import compile_filter


__all__ = [
    "AlreadyExistsError",
    "AssetNotFoundError",
    "AssetObject",
    "AssetStore",
    "AssetStoreError",
    "AssetsDBRegistry",
    "AuthenticationError",
    "BackendUnavailableError",
    "ChecksumMismatchError",
    "DamagedBundleError",
    "CrossSiteRequestError",
    "DamageError",
    "FsckReport",
    "GcReport",
    "HealthCheckRefusedError",
    "HealthReport",
    "ImportItem",
    "InsufficientStorageError",
    "IntegrityError",
    "InvalidInputError",
    "InvalidNameError",
    "InvalidQueryError",
    "MissingDependencyError",
    "NotFoundError",
    "NotSupportedError",
    "PayloadTooLargeError",
    "QueryTimeoutError",
    "ReadOnlyFieldError",
    "Registry",
    "RegistryNotFoundError",
    "RequestTimeoutError",
    "RevisionMismatchError",
    "SearchResult",
    "ServiceBusyError",
    "StagedFile",
    "SyncReport",
    "TooManyResultsError",
    "Upload",
    "compile_filter",
    "open_registry",
    "open_store",
    "sync",
]


def __getattr__(name: str) -> Any:
    if name == "compile_filter":
        from assetstore.query import compile_filter

        return compile_filter
    raise AttributeError(f"module 'assetstore' has no attribute {name!r}")
