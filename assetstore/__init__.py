"""assetstore: versioned assets with metadata, tags and MongoDB-style queries, plus a registry
of asset stores; in-process, on S3 + MongoDB, or over HTTP, with one API.

>>> import assetstore
>>> store = assetstore.open_store("./assets")
>>> asset = store.upload("model.pt", name="org/resnet", version="1.0", tag="stable")
>>> store.resolve("org/resnet").asset_uri
'org/resnet:1.0-stable'
"""

from assetstore.contract import AssetStore, Registry
from assetstore.errors import (
    AlreadyExistsError,
    AssetNotFoundError,
    AssetStoreError,
    AuthenticationError,
    BackendUnavailableError,
    HealthCheckRefusedError,
    IntegrityError,
    InvalidInputError,
    InvalidNameError,
    InvalidQueryError,
    MissingDependencyError,
    NotFoundError,
    PayloadTooLargeError,
    ReadOnlyFieldError,
    RegistryNotFoundError,
    RevisionMismatchError,
)
from assetstore.models import AssetObject, AssetsDBRegistry, FsckReport, GcReport, HealthReport
from assetstore.open import open_registry, open_store
from assetstore.query import compile_filter

__version__ = "0.1.0"

__all__ = [
    "AlreadyExistsError",
    "AssetNotFoundError",
    "AssetObject",
    "AssetStore",
    "AssetStoreError",
    "AssetsDBRegistry",
    "AuthenticationError",
    "BackendUnavailableError",
    "FsckReport",
    "GcReport",
    "HealthCheckRefusedError",
    "HealthReport",
    "IntegrityError",
    "InvalidInputError",
    "InvalidNameError",
    "InvalidQueryError",
    "MissingDependencyError",
    "NotFoundError",
    "PayloadTooLargeError",
    "ReadOnlyFieldError",
    "Registry",
    "RegistryNotFoundError",
    "RevisionMismatchError",
    "compile_filter",
    "open_registry",
    "open_store",
]
