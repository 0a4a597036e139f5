"""Exceptions to HTTP responses, mapped once at the boundary.

The status of an :class:`~assetstore.errors.AssetStoreError` is its class's ``http_status``
(the table in :mod:`assetstore.errors`); anything else is a bug: 500, logged, never shown.
Two errors exist only here: :class:`UnprocessableBodyError` (422: not JSON, not an object,
not the upload form) and :class:`RangeNotSatisfiableError` (416, with ``Content-Range:
bytes */size``). Messages of ``IntegrityError`` and ``BackendUnavailableError`` are logged,
not sent: they may name internal hosts or paths.

An ``OSError`` from the storage is mapped by its errno (:func:`storage_error`): a full disk
or quota is :class:`InsufficientStorageError` (507), a read-only or refusing file system
or an I/O error is :class:`BackendUnavailableError` (503); its details are logged, not
sent. :class:`DamageError` is answered 500 with a message pointing to ``fsck``.

Every error body is ``{"success": false, "error": "<one line>", "error_type": "<class>"}``;
``error_type`` lets the client raise the very class the server raised.
"""

from __future__ import annotations

import errno
import logging
import os

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from assetstore.errors import (
    AssetStoreError,
    AuthenticationError,
    BackendUnavailableError,
    DamageError,
    InsufficientStorageError,
    IntegrityError,
    InvalidInputError,
    RequestTimeoutError,
    ServiceBusyError,
)
from assetstore.http._responses import failure

logger = logging.getLogger("assetstore.http")


class UnprocessableBodyError(InvalidInputError):
    """The request body is not JSON, not a JSON object, or not the expected form (422)."""

    http_status = 422


class RangeNotSatisfiableError(InvalidInputError):
    """A ``Range`` header names no byte of the file (416)."""

    http_status = 416

    def __init__(self, size: int) -> None:
        super().__init__(f"requested range is outside the file's {size} bytes")
        self.size = size


#: errno of a storage failure -> the error the service answers with.
_STORAGE_ERRNOS: dict[int, type[AssetStoreError]] = {
    errno.ENOSPC: InsufficientStorageError,
    errno.EDQUOT: InsufficientStorageError,
    errno.EFBIG: InsufficientStorageError,
    errno.EROFS: BackendUnavailableError,
    errno.EACCES: BackendUnavailableError,
    errno.EPERM: BackendUnavailableError,
    errno.EIO: BackendUnavailableError,
}


def storage_error(error: BaseException) -> BaseException:
    """``error``, or for a storage ``OSError`` with a known errno the error it stands for
    (the same for every endpoint: the upload, an update, gc...)."""
    if isinstance(error, AssetStoreError) or not isinstance(error, OSError):
        return error
    mapped = _STORAGE_ERRNOS.get(error.errno or 0)
    if mapped is None:
        return error
    logger.error("storage error: %s", error)
    reason = os.strerror(error.errno or 0).lower()
    if mapped is InsufficientStorageError:
        return InsufficientStorageError(
            error.errno, f"the server's storage is full ({reason}); nothing was changed"
        )
    return BackendUnavailableError(f"the server's storage failed ({reason}); nothing was changed")


def status_of(error: BaseException) -> int:
    """The HTTP status for an exception (500 for anything unexpected)."""
    if isinstance(error, AssetStoreError):
        return error.http_status
    return 500


def response_for(error: BaseException) -> Response:
    """The response for an exception raised while serving a request."""
    error = storage_error(error)
    status = status_of(error)
    error_type = type(error).__name__
    headers: dict[str, str] = {}
    if isinstance(error, DamageError):
        logger.error("damage: %s", error)
        message = "the store's records are damaged; the operator should run `assetstore fsck`"
    elif isinstance(error, IntegrityError):
        logger.error("integrity error: %s", error)
        message = "stored file is corrupt; the operator should run `assetstore fsck`"
        error_type = "IntegrityError"
    elif isinstance(error, BackendUnavailableError):
        # The message may name internal hosts (or credentials in a URL): log it, don't send it.
        logger.error("backend unavailable: %s", error)
        message = "the storage backend is unavailable; try again later"
        headers["Retry-After"] = "5"
    elif isinstance(error, InsufficientStorageError):
        message = str(error.strerror or error)
    elif status == 500:
        logger.error("unexpected error", exc_info=error)
        message = "internal server error"
        error_type = "InternalServerError"
    else:
        message = str(error)
        if isinstance(error, AuthenticationError):
            headers["WWW-Authenticate"] = 'Bearer realm="assetstore"'
        elif isinstance(error, ServiceBusyError):
            headers["Retry-After"] = str(error.retry_after)
            headers["Connection"] = "close"  # the rest of the request is not read
        elif isinstance(error, RequestTimeoutError):
            headers["Connection"] = "close"  # the rest of the request is not read
        elif isinstance(error, RangeNotSatisfiableError):
            headers["Content-Range"] = f"bytes */{error.size}"
            error_type = "InvalidInputError"
        elif isinstance(error, UnprocessableBodyError):
            error_type = "InvalidInputError"
    return failure(status, message, error_type, headers)


async def _mapped(request: Request, error: Exception) -> Response:
    return response_for(error)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    names = {404: "NotFoundError", 405: "MethodNotAllowed", 401: "AuthenticationError"}
    return failure(
        error.status_code,
        str(error.detail),
        names.get(error.status_code, "HTTPError"),
        headers=dict(error.headers or {}),
    )


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    parts = []
    for item in error.errors():
        location = ".".join(str(part) for part in item.get("loc", ()))
        parts.append(f"{location}: {item.get('msg', 'invalid')}")
    return failure(422, "; ".join(parts) or "invalid request", "InvalidInputError")


async def _client_disconnect(request: Request, error: Exception) -> Response:
    logger.info("client disconnected during %s %s", request.method, request.url.path)
    return Response(status_code=400)


def install_error_handlers(app: FastAPI) -> None:
    """Register the one mapping above on ``app``."""
    # Starlette answers Exception (500) from its outermost middleware and re-raises it;
    # our own errors get the same mapping without being re-raised.
    app.add_exception_handler(AssetStoreError, _mapped)
    app.add_exception_handler(OSError, _mapped)  # storage errors: mapped, not re-raised
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ClientDisconnect, _client_disconnect)
    app.add_exception_handler(Exception, _mapped)
