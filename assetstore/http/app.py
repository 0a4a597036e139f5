"""``create_app``: the FastAPI application serving a store, a registry, or both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from starlette.responses import Response

from assetstore._version import __version__
from assetstore.contract import AssetStore, Registry
from assetstore.errors import InvalidInputError
from assetstore.http import _assets_api as assets_api
from assetstore.http import _batch_api as batch_api
from assetstore.http import _registry_api as registry_api
from assetstore.http._admission import Admission
from assetstore.http._errors import install_error_handlers
from assetstore.http._guard import RequestGuard
from assetstore.http._responses import ok
from assetstore.settings import ServiceSettings

DESCRIPTION = """\
The Assets DB and Assets DB registry services of the Assets Management specification.

* Envelopes: `{"success": true, "data": ...}` and `{"success": false, "error": "...",
  "error_type": "..."}`.
* Writes (POST/PUT/DELETE that change something, and `/admin/*`) need
  `Authorization: Bearer <token>` when the server has a token. Without one, a write POST
  must be JSON (or carry `X-Requested-With`), the upload form excepted; writes from a
  foreign browser `Origin` and requests with a `Host` the service is not known by are 403.
* `PUT`/`DELETE` take `If-Match: "<revision>"` (GET returns it as `ETag`): 412 if stale.
* Queries (`POST /assets`, `POST /asset_registries`) take the MongoDB filter as the body and
  `skip`, `limit`, `sort` as query parameters; answers carry `total` and `next_skip`.
* Uploads are streamed (`POST /upload_asset`, multipart), downloads support `Range`.
* `POST /asset_registries/search` runs one asset query on every matching registered store
  (federated search) and reports each store's status.
"""


def create_app(
    store: AssetStore | None = None,
    registry: Registry | None = None,
    settings: ServiceSettings | None = None,
) -> FastAPI:
    """The HTTP service for ``store`` and/or ``registry``; the routes of the one not given are
    absent. ``settings`` default to :meth:`ServiceSettings.from_env`."""
    if store is None and registry is None:
        raise InvalidInputError("create_app needs a store, a registry, or both")
    settings = settings or ServiceSettings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        executor, app.state.upload_executor = app.state.upload_executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    # /docs serves Swagger UI from the installed package (fastapi-offline), not a CDN.
    app = FastAPIOffline(
        title="assetstore",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        redoc_url=None,
    )
    # The routes use these (and nothing captured), so a test may swap in a fresh store.
    app.state.store = store
    app.state.registry = registry
    app.state.settings = settings
    app.state.upload_executor = None  # made on first upload: multipart.upload_executor()
    install_error_handlers(app)

    services = [name for name, served in (("assets", store), ("registry", registry)) if served]

    @app.get("/health", tags=["health"], summary="Is the service up?")
    def health(request: Request) -> Response:
        """Always open. Gives the ``assets_db_id`` of the served store (clients use it), the
        services served, the limits and whether writes (and reads) need the token."""
        served: AssetStore | None = request.app.state.store
        settings: ServiceSettings = request.app.state.settings
        return ok(
            {
                "status": "ok",
                "version": __version__,
                "services": services,
                "assets_db_id": served.assets_db_id if served is not None else None,
                "limits": {
                    "max_upload_bytes": settings.max_upload_bytes,
                    "max_query_bytes": settings.max_query_bytes,
                    "max_results": settings.max_results,
                    "max_batch_items": settings.max_batch_items,
                    "max_batch_manifest_bytes": settings.max_batch_manifest_bytes,
                },
                "auth": {
                    "writes": settings.token is not None,
                    "reads": settings.token is not None and settings.auth_reads,
                },
            },
            message="healthy",  # the original service's word; its health checkers read it
        )

    if store is not None:
        app.include_router(batch_api.router)  # before /asset/{uri:path}: /assets/export
        app.include_router(assets_api.router)
        if settings.admin_endpoints:
            app.include_router(assets_api.admin_router)
    if registry is not None:
        app.include_router(registry_api.router)
    if settings.ui:
        from assetstore.http.ui import install_ui  # jinja2 loads only when the UI is served

        install_ui(app, assets=store is not None, registry=registry is not None)
    app.add_middleware(Admission)  # innermost: bounded queries and outbound calls
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "Range",
                "If-Range",
                "X-Requested-With",
            ],
            expose_headers=["ETag", "Content-Range", "Content-Disposition", "Accept-Ranges"],
            allow_credentials=False,
        )
    app.add_middleware(RequestGuard)  # outermost: Host, Origin and framing checks
    return app


__all__ = ["create_app"]
