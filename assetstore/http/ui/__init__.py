"""The web interface of ``assetstore serve``: server-rendered pages at ``/ui``.

Jinja2 templates (every value escaped) and a few small ES modules, all shipped in the wheel:
no CDN, no build step, works offline. Pages read the served store and registry directly,
through the same paged query path as the API; the pages' scripts send writes to the API's
own endpoints, with a JSON body or a custom header (never a "simple" cross-site request) and
the token the user entered once per browser session (kept in ``sessionStorage``).

:func:`install_ui` adds it to an application made by :func:`assetstore.http.create_app`.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from assetstore.http.ui import _asset_pages as asset_pages
from assetstore.http.ui import _registry_pages as registry_pages
from assetstore.http.ui._render import STATIC


class _StaticFiles(StaticFiles):
    """The UI's scripts and styles, never sniffed as another type, revalidated on use."""

    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-cache"
        return response


def install_ui(app: FastAPI, *, assets: bool, registry: bool) -> None:
    """Serve the pages of the services ``app`` serves (``assets``, ``registry``) under
    ``/ui``, its static files under ``/ui/static``, and redirect ``/`` to ``/ui``."""
    app.mount("/ui/static", _StaticFiles(directory=STATIC), name="ui-static")
    if assets:
        app.include_router(asset_pages.router)
    if registry:
        app.include_router(registry_pages.router)
        if not assets:

            @app.get("/ui", include_in_schema=False)
            def registry_only(request: Request) -> RedirectResponse:
                return RedirectResponse(_root(request) + "/ui/registry", status_code=307)

    @app.get("/", include_in_schema=False)
    def root(request: Request) -> RedirectResponse:
        return RedirectResponse(_root(request) + "/ui", status_code=307)


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


__all__ = ["install_ui"]
