"""The exceptions assetstore raises.

Every error is an :class:`AssetStoreError` and also the built-in exception a
caller would naturally catch, so ``except LookupError`` or ``except ValueError``
work without importing anything from here::

    AssetStoreError
    ├── NotFoundError (LookupError)                 HTTP 404
    │   ├── AssetNotFoundError
    │   └── RegistryNotFoundError
    ├── InvalidInputError (ValueError)              HTTP 400 / 422
    │   ├── InvalidQueryError                       a malformed or forbidden filter
    │   ├── InvalidNameError                        a bad asset name, version or tag
    │   └── PayloadTooLargeError                    HTTP 413
    ├── AlreadyExistsError (ValueError)             HTTP 409: the asset URI is taken
    ├── RevisionMismatchError (ValueError)          HTTP 412: someone else changed it first
    ├── ReadOnlyFieldError (ValueError)             an update touched an identity field
    ├── IntegrityError (OSError)                    stored bytes do not match their sha256
    ├── BackendUnavailableError (ConnectionError)   the database or object store is unreachable
    ├── AuthenticationError (PermissionError)       HTTP 401: missing or wrong token
    ├── HealthCheckRefusedError (PermissionError)   a health-check target that is not allowed
    └── MissingDependencyError (ImportError)        an optional extra is not installed

Backends translate their own exceptions into these at their boundary (``raise ... from``),
so callers never see a pymongo, botocore or httpx exception.
"""

from __future__ import annotations


class AssetStoreError(Exception):
    """Base class of every error raised by assetstore."""


class NotFoundError(AssetStoreError, LookupError):
    """The asset or registry entry does not exist."""


class AssetNotFoundError(NotFoundError):
    """No asset has this URI (or asset id)."""


class RegistryNotFoundError(NotFoundError):
    """No registry entry has this id."""


class InvalidInputError(AssetStoreError, ValueError):
    """The caller's input is malformed; nothing was changed."""


class InvalidQueryError(InvalidInputError):
    """A query filter is malformed, uses an unknown operator, or is forbidden."""


class InvalidNameError(InvalidInputError):
    """An asset name, version or tag is missing or contains characters that are not allowed."""


class PayloadTooLargeError(InvalidInputError):
    """An upload or a request body is larger than the configured limit."""


class AlreadyExistsError(AssetStoreError, ValueError):
    """An asset with this URI (or a registry entry with this id) already exists."""


class RevisionMismatchError(AssetStoreError, ValueError):
    """An update named an ``expected_revision`` that is no longer current."""


class ReadOnlyFieldError(AssetStoreError, ValueError):
    """An update tried to change a field that identifies the asset."""


class IntegrityError(AssetStoreError, OSError):
    """Stored bytes do not match the size or sha256 recorded when they were published."""


class BackendUnavailableError(AssetStoreError, ConnectionError):
    """The metadata database or the blob store cannot be reached."""


class AuthenticationError(AssetStoreError, PermissionError):
    """A write was attempted without the right bearer token."""


class HealthCheckRefusedError(AssetStoreError, PermissionError):
    """A health-check URL points somewhere the operator has not allowed (loopback, private...)."""


class MissingDependencyError(AssetStoreError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


__all__ = [
    "AlreadyExistsError",
    "AssetNotFoundError",
    "AssetStoreError",
    "AuthenticationError",
    "BackendUnavailableError",
    "HealthCheckRefusedError",
    "IntegrityError",
    "InvalidInputError",
    "InvalidNameError",
    "InvalidQueryError",
    "MissingDependencyError",
    "NotFoundError",
    "PayloadTooLargeError",
    "ReadOnlyFieldError",
    "RegistryNotFoundError",
    "RevisionMismatchError",
]
