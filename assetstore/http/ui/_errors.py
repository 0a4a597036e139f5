"""Errors on a page are pages: what went wrong and what to do, never a JSON envelope or a
stack trace. Internal details (hosts, paths) stay in the server's log, as in the API."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from assetstore.errors import (
    AssetNotFoundError,
    AssetStoreError,
    BackendUnavailableError,
    IntegrityError,
    NotFoundError,
    RegistryNotFoundError,
)
from assetstore.http.ui._render import render

logger = logging.getLogger("assetstore.http.ui")


def advice_for(error: BaseException) -> tuple[int, str, str]:
    """``(status, what happened, what to do)`` for an error raised while building a page."""
    if isinstance(error, RequestValidationError):
        fields = ", ".join(str(e.get("loc", ("?",))[-1]) for e in error.errors())
        return 422, f"The address has invalid parameters: {fields}.", "Go back and try again."
    if isinstance(error, HTTPException):
        return error.status_code, str(error.detail), "Go back to the assets list."
    if isinstance(error, AssetNotFoundError):
        return 404, str(error), "It may have been deleted. Search the assets list for its name."
    if isinstance(error, RegistryNotFoundError):
        return 404, str(error), "It may have been removed. See the registry page."
    if isinstance(error, NotFoundError):
        return 404, str(error), "Go back to the assets list."
    if isinstance(error, BackendUnavailableError):
        logger.error("backend unavailable while rendering a page: %s", error)
        return (
            503,
            "The storage backend is unavailable.",
            "Try again in a moment; if it persists, the operator should check the server log.",
        )
    if isinstance(error, IntegrityError):
        logger.error("integrity error while rendering a page: %s", error)
        return 500, "A stored file is corrupt.", "The operator should run `assetstore fsck`."
    if isinstance(error, AssetStoreError) and error.http_status < 500:
        return error.http_status, str(error), "Check the address or the form and try again."
    logger.error("unexpected error while rendering a page", exc_info=error)
    return 500, "Something went wrong on the server.", "It has been logged; try again later."


def error_page(request: Request, error: BaseException) -> Response:
    """The error page for ``error``."""
    status, message, advice = advice_for(error)
    return render(
        request,
        "error.html",
        {"status": status, "message": message, "advice": advice},
        status=status,
    )


class PageRoute(APIRoute):
    """A route whose errors render as pages, and that is closed when reads need the token:
    pages are rendered on the server, which never sees the browser's token (it is kept in
    ``sessionStorage``, not in a cookie), so with ``auth_reads`` they would show what the
    API hides."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            if request.app.state.settings.auth_reads:
                return render(request, "reads_need_token.html", {}, status=401)
            try:
                return await handler(request)
            except Exception as error:  # every failure becomes a page that says what to do
                return error_page(request, error)

        return page_handler


__all__ = ["PageRoute", "advice_for", "error_page"]
