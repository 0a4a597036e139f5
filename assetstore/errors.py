"""The exceptions assetstore raises, and what each one means at every boundary.

Every error is an :class:`AssetStoreError` and also the built-in exception a caller would
naturally catch, so ``except LookupError`` or ``except ValueError`` work without importing
anything from here. Each class carries its HTTP status (``http_status``) and the exit status
of the ``assetstore`` command (``exit_code``): the service, the HTTP client's decoder, the
CLI and the README's tables all derive from these two attributes (a test keeps the tree below
in step with them)::

    class                                           HTTP  exit  when
    AssetStoreError                                  500     1  anything else
    ├── NotFoundError (LookupError)                  404     3
    │   ├── AssetNotFoundError                       404     3  no asset with this URI or id
    │   └── RegistryNotFoundError                    404     3  no registry entry with this id
    ├── InvalidInputError (ValueError)               400     2  malformed input; nothing changed
    │   ├── InvalidQueryError                        400     2  a malformed or forbidden filter
    │   │   ├── QueryTimeoutError                    400     2  a query ran past its time limit
    │   │   └── TooManyResultsError                  400     2  more results than max_results: page
    │   ├── InvalidNameError                         400     2  a bad asset name, version or tag
    │   ├── PayloadTooLargeError                     413     2  over an upload or body limit
    │   ├── ChecksumMismatchError                    400     2  bytes differ from their record
    │   └── DamagedBundleError                       400     2  a bundle member missing or altered
    ├── AlreadyExistsError (ValueError)              409     4  the asset URI is taken
    ├── RevisionMismatchError (ValueError)           412     4  someone else changed it first
    ├── ReadOnlyFieldError (ValueError)              400     2  an update touched an identity field
    ├── IntegrityError (OSError)                     500     1  bytes differ from their sha256
    │   └── DamageError                              500     1  damaged records; refused, no change
    ├── BackendUnavailableError (ConnectionError)    503     1  storage unreachable
    ├── ServiceBusyError (ConnectionError)           503     1  at its limit: retry later
    ├── RequestTimeoutError (TimeoutError)           408     1  a client stopped sending its request
    ├── InsufficientStorageError (OSError)           507     1  the disk (or quota) is full
    ├── AuthenticationError (PermissionError)        401     1  missing or wrong token
    ├── CrossSiteRequestError (PermissionError)      403     1  a foreign Host or Origin; a form
    ├── HealthCheckRefusedError (PermissionError)    400     1  a target the address policy refuses
    ├── NotSupportedError (NotImplementedError)      501     1  this store cannot do that
    └── MissingDependencyError (ImportError)         500     1  an optional extra is not installed

Backends translate their own exceptions into these at their boundary with
``raise ... from exc``, so callers never see a pymongo, botocore or httpx exception, while
the original traceback stays attached for whoever investigates.
"""

from __future__ import annotations

import errno
from typing import ClassVar


class AssetStoreError(Exception):
    """Base class of every error raised by assetstore."""

    #: The HTTP status the service answers with (500: an error it did not expect).
    http_status: ClassVar[int] = 500
    #: The exit status of the ``assetstore`` command.
    exit_code: ClassVar[int] = 1


class NotFoundError(AssetStoreError, LookupError):
    """The asset or registry entry does not exist."""

    http_status = 404
    exit_code = 3


class AssetNotFoundError(NotFoundError):
    """No asset has this URI (or asset id)."""


class RegistryNotFoundError(NotFoundError):
    """No registry entry has this id."""


class InvalidInputError(AssetStoreError, ValueError):
    """The caller's input is malformed; nothing was changed."""

    http_status = 400
    exit_code = 2


class InvalidQueryError(InvalidInputError):
    """A query filter is malformed, uses an unknown operator, or is forbidden."""


class QueryTimeoutError(InvalidQueryError):
    """A query ran past its time limit (``query_time_limit`` of the service, MongoDB's
    ``maxTimeMS``): the filter is too costly for this store as it is."""


class TooManyResultsError(InvalidQueryError):
    """A query asks for more results than the service's ``max_results`` allows in one answer;
    the message says how to page."""

    http_status = 400
    exit_code = 2


class InvalidNameError(InvalidInputError):
    """An asset name, version or tag is missing or contains characters that are not allowed."""


class PayloadTooLargeError(InvalidInputError):
    """An upload or a request body is larger than the configured limit."""

    http_status = 413
    exit_code = 2


class ChecksumMismatchError(InvalidInputError):
    """Bytes sent to be stored (an import, a sync) differ in size or sha256 from the record
    that came with them; nothing was published."""


class DamagedBundleError(InvalidInputError):
    """An offline bundle is damaged: a member is missing, truncated, altered or unexpected.

    ``member`` names it; ``expected`` and ``actual`` say what the manifest promised and what
    the bundle holds (both None when that does not apply)."""

    def __init__(
        self,
        message: str,
        *,
        member: str = "",
        expected: str | None = None,
        actual: str | None = None,
    ) -> None:
        super().__init__(message)
        self.member = member
        self.expected = expected
        self.actual = actual


class AlreadyExistsError(AssetStoreError, ValueError):
    """An asset with this URI (or a registry entry with this id) already exists."""

    http_status = 409
    exit_code = 4


class RevisionMismatchError(AssetStoreError, ValueError):
    """An update named an ``expected_revision`` that is no longer current."""

    http_status = 412
    exit_code = 4


class ReadOnlyFieldError(AssetStoreError, ValueError):
    """An update tried to change a field that identifies the asset."""

    http_status = 400
    exit_code = 2


class IntegrityError(AssetStoreError, OSError):
    """Stored bytes do not match the size or sha256 recorded when they were published."""

    http_status = 500
    exit_code = 1


class DamageError(IntegrityError):
    """The store's own records are damaged: a journal record or the metadata file fails its
    checksum, a record is malformed, ``store.json`` is unreadable or missing while the store
    holds data, or (for ``gc``) referenced files are missing. The operation was refused and
    nothing was changed; the message names the file and the record, and ``fsck`` lists
    every problem it can see."""


class BackendUnavailableError(AssetStoreError, ConnectionError):
    """The metadata database or the blob store cannot be reached."""

    http_status = 503
    exit_code = 1


class ServiceBusyError(AssetStoreError, ConnectionError):
    """The service is at its limit for this kind of work (uploads, queries, health checks,
    federated searches); nothing was done. Retry after ``retry_after`` seconds (the HTTP
    answer's ``Retry-After``)."""

    http_status = 503
    exit_code = 1

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RequestTimeoutError(AssetStoreError, TimeoutError):
    """A client stopped sending its request (an upload that went idle); nothing was kept."""

    http_status = 408
    exit_code = 1


class InsufficientStorageError(AssetStoreError, OSError):
    """The storage has no room left (``ENOSPC``, ``EDQUOT``, ``EFBIG``); nothing was changed.
    ``errno`` is ``ENOSPC`` unless the cause said otherwise."""

    http_status = 507
    exit_code = 1

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        if self.errno is None:
            self.errno = errno.ENOSPC


class AuthenticationError(AssetStoreError, PermissionError):
    """A write was attempted without the right bearer token."""

    http_status = 401
    exit_code = 1


class CrossSiteRequestError(AssetStoreError, PermissionError):
    """A request a web page may have made the operator's browser send: a ``Host`` the
    service does not answer to (DNS rebinding), a write from a foreign ``Origin``, or a
    write without a token that any page could send as a plain form."""

    http_status = 403
    exit_code = 1


class HealthCheckRefusedError(AssetStoreError, PermissionError):
    """A health-check URL points somewhere the operator has not allowed (loopback, private...)."""

    http_status = 400
    exit_code = 1


class NotSupportedError(AssetStoreError, NotImplementedError):
    """This store does not implement the operation (e.g. a third-party store that cannot
    import records with their identity)."""

    http_status = 501
    exit_code = 1


class MissingDependencyError(AssetStoreError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    http_status = 500
    exit_code = 1


def error_classes() -> dict[str, type[AssetStoreError]]:
    """Every error class of this module by name (what the service sends as ``error_type``)."""
    return {
        name: value
        for name, value in globals().items()
        if isinstance(value, type) and issubclass(value, AssetStoreError)
    }


__all__ = [
    "AlreadyExistsError",
    "AssetNotFoundError",
    "AssetStoreError",
    "AuthenticationError",
    "BackendUnavailableError",
    "ChecksumMismatchError",
    "DamagedBundleError",
    "CrossSiteRequestError",
    "DamageError",
    "HealthCheckRefusedError",
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
    "RegistryNotFoundError",
    "RequestTimeoutError",
    "RevisionMismatchError",
    "ServiceBusyError",
    "TooManyResultsError",
    "error_classes",
]
