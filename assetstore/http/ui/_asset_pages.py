"""The asset pages: the searchable list, one asset, and the upload form.

Every page reads the served store directly (``request.app.state.store``) through the same
query path as ``POST /assets``: ``query`` with sort, skip and limit, paged by the store, so a
page costs one query (and a count when the page is full). Writes are not here: the pages'
scripts send them to the API, which checks the token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from assetstore.contract import AssetStore
from assetstore.errors import AssetNotFoundError, InvalidInputError
from assetstore.http.ui._errors import PageRoute
from assetstore.http.ui._paging import PAGE_SIZES, fetch_page, page_size
from assetstore.http.ui._render import Timings, render
from assetstore.http.ui._search import SYNTAX_HELP, parse_search
from assetstore.http.ui._snippets import snippets_for
from assetstore.http.ui._versions import versions_of
from assetstore.models import AssetObject, Sort

router = APIRouter(prefix="/ui", route_class=PageRoute, include_in_schema=False)

#: The sort orders of the list: key -> (label, sort). Versions sort as text here (the store
#: pages the sort, so it is MongoDB's order); the asset page orders versions as versions.
SORTS: dict[str, tuple[str, Sort]] = {
    "newest": ("Newest first", [("created_at", -1), ("asset_uri", 1)]),
    "name": ("Name, A to Z", [("asset_name", 1), ("asset_version.version", -1)]),
    "version": ("Version, highest first (as text)", [("asset_version.version", -1)]),
}


def store_of(request: Request) -> AssetStore:
    """The served store."""
    return request.app.state.store


def service_url(request: Request) -> str:
    """Where clients reach this service: the configured public URL, else this request's."""
    configured: str | None = request.app.state.settings.public_url
    return configured or str(request.base_url).rstrip("/")


def download_url(request: Request, asset: AssetObject) -> str | None:
    """Where the page's download button points: this service's download endpoint for a
    stored file, the asset's own http(s) URL for an external one, else nowhere."""
    if asset.asset_source == "upload":
        return f"{request.scope.get('root_path', '')}/asset-object/{asset.asset_id}"
    if asset.asset_public_url.startswith(("http://", "https://")):
        return asset.asset_public_url
    return None


def exists(store: AssetStore, uri: str) -> bool:
    """Whether the store has an asset with this URI (a lookup by URI, not a query)."""
    try:
        store.get(uri)
    except (AssetNotFoundError, InvalidInputError):  # no such asset, or not even a URI
        return False
    return True


def shown_public_url(request: Request, asset: AssetObject) -> str:
    """``asset_public_url`` as the API shows it: a stored file's is this service's download
    URL (never the blob's internal location)."""
    if asset.asset_source == "upload":
        return f"{service_url(request)}/asset-object/{asset.asset_id}"
    return asset.asset_public_url


@router.get("")
def assets_page(
    request: Request,
    q: Annotated[str, Query(max_length=10_000)] = "",
    tag: Annotated[str, Query(max_length=200)] = "",
    sort: Annotated[str, Query(max_length=20)] = "newest",
    skip: Annotated[int, Query(ge=0)] = 0,
    limit: int | None = None,
    deleted: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    """The assets, newest first, with the search box, the tag filter, the sort and paging."""
    store = store_of(request)
    size = page_size(limit, request.app.state.settings.max_results)
    sort_key = sort if sort in SORTS else "newest"
    timings = Timings()
    page = error = None
    try:
        filter = parse_search(q, tag=tag)
        with timings.span("query"):
            page = fetch_page(
                skip,
                size,
                lambda s, n: store.query(filter, sort=SORTS[sort_key][1], skip=s, limit=n),
                lambda: store.count(filter),
            )
    except InvalidInputError as exc:  # a search the box or the query engine refuses
        error = str(exc)
    if deleted and exists(store, deleted):
        deleted = None  # a notice only for what is really gone, whoever wrote the link
    context = {
        "page": page,
        "error": error,
        "q": q,
        "tag": tag,
        "sort": sort_key,
        "sorts": {key: label for key, (label, _) in SORTS.items()},
        "limit": size,
        "page_sizes": sorted(PAGE_SIZES),
        "syntax_help": SYNTAX_HELP,
        "deleted": deleted,
        "searching": bool(q.strip() or tag.strip()),
    }
    return render(request, "assets.html", context, status=400 if error else 200, timings=timings)


@router.get("/asset/{asset_uri:path}")
def asset_page(asset_uri: str, request: Request, saved: int | None = None) -> Response:
    """One asset: every field, metadata as a table, file info, the other versions of its
    name, download and copy buttons, and the edit and delete forms. ``saved`` is the
    revision the page's script just saved (a notice)."""
    store = store_of(request)
    timings = Timings()
    with timings.span("get"):
        asset = store.get(asset_uri)
    with timings.span("versions"):
        versions = versions_of(store, asset.asset_name)
    context = {
        "asset": asset,
        "versions": versions,
        "snippets": snippets_for(asset, service_url(request)),
        "download_url": download_url(request, asset),
        "public_url": shown_public_url(request, asset),
        "saved": saved if saved is not None and 1 < saved <= asset.revision else None,
    }
    return render(request, "asset.html", context, timings=timings)


@router.get("/upload")
def upload_page(request: Request) -> Response:
    """The upload form (the script streams the file to ``POST /upload_asset``)."""
    return render(
        request, "upload.html", {"max_upload_bytes": request.app.state.settings.max_upload_bytes}
    )


__all__ = ["SORTS", "router"]
