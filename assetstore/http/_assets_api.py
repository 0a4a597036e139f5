"""The Assets DB endpoints of the specification, plus ``/resolve`` and the admin calls."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from assetstore._base_store import require_stored_file
from assetstore.contract import AssetStore
from assetstore.errors import InvalidQueryError
from assetstore.http._auth import require_read, require_upload_write, require_write
from assetstore.http._bodies import (
    etag_of,
    if_match_revision,
    json_body_doc,
    read_json_object,
)
from assetstore.http._bridge import upload_executor
from assetstore.http._downloads import FileResponse, file_headers, parse_range
from assetstore.http._multipart import receive_upload
from assetstore.http._paging import Collection, Paging, paging, query_answer
from assetstore.http._responses import ok
from assetstore.http._views import SPEC_ASSET_FIELDS, shown
from assetstore.models import AssetObject

router = APIRouter(tags=["assets"])
admin_router = APIRouter(tags=["admin"], prefix="/admin")

_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["asset", "asset_metadata"],
                "properties": {
                    "asset": {"type": "string", "format": "binary"},
                    "asset_metadata": {
                        "type": "string",
                        "description": 'JSON: {"asset_name": "SampleAsset", "asset_version": '
                        '{"version": "1.0", "tag": "initial"}, "asset_metadata": {...}, '
                        '"asset_tags": ["image"]}',
                    },
                },
            }
        }
    },
}


def store_of(request: Request) -> AssetStore:
    """The served store."""
    return request.app.state.store


def base_url(request: Request) -> str:
    """Where clients reach this service: the configured public URL, else this request's."""
    configured = request.app.state.settings.public_url
    return configured or str(request.base_url).rstrip("/")


def shown_url(request: Request, asset: AssetObject) -> str:
    """The ``asset_public_url`` clients see: an uploaded file whose store has no http(s)
    public URL gets this service's download URL, never the blob's internal location
    (``file://...``)."""
    if asset.asset_source == "upload" and not asset.asset_public_url.startswith(
        ("http://", "https://")
    ):
        return f"{base_url(request)}/asset-object/{asset.asset_id}"
    return asset.asset_public_url


def present(request: Request, asset: AssetObject) -> dict[str, Any]:
    """An asset as JSON, with its :func:`shown_url`."""
    doc = asset.model_dump(mode="json")
    doc["asset_public_url"] = shown_url(request, asset)
    return shown(request, doc, SPEC_ASSET_FIELDS)


@router.post(
    "/upload_asset",
    status_code=201,
    dependencies=[Depends(require_upload_write)],
    openapi_extra={"requestBody": _UPLOAD_BODY},
    summary="Upload a file with its metadata (multipart, streamed)",
)
async def upload_asset(request: Request) -> Response:
    """Stream the file part ``asset`` into the store and publish it with the JSON form field
    ``asset_metadata`` (which may come before or after the file). Answers the asset under
    ``data`` and, as the original service did, ``asset_uri``, ``asset_id`` and
    ``public_url`` at the top level."""
    asset = await receive_upload(
        request, store_of(request), request.app.state.settings, upload_executor(request.app)
    )
    doc = present(request, asset)
    return ok(
        doc,
        201,
        headers={"ETag": etag_of(asset.revision)},
        asset_uri=asset.asset_uri,
        asset_id=asset.asset_id,
        public_url=shown_url(request, asset),
    )


@router.get(
    "/asset/{asset_uri:path}",
    dependencies=[Depends(require_read)],
    summary="An asset by URI (ETag: its revision)",
)
def get_asset(asset_uri: str, request: Request) -> Response:
    """The asset ``name:version-tag`` (percent-encode spaces; ``/`` and ``:`` may stay)."""
    asset = store_of(request).get(asset_uri)
    return ok(present(request, asset), headers={"ETag": etag_of(asset.revision)})


@router.put(
    "/asset/{asset_uri:path}",
    dependencies=[Depends(require_write)],
    openapi_extra=json_body_doc(
        "fields to set: asset_metadata, asset_tags (and for external "
        "assets asset_public_url, asset_file_info)"
    ),
    summary="Update an asset's metadata or tags (If-Match: revision)",
)
async def update_asset(asset_uri: str, request: Request) -> Response:
    """Change ``asset_metadata`` / ``asset_tags``; never creates. ``If-Match: "<revision>"``
    makes it a compare-and-swap (412 if the asset changed). A no-op answers the asset."""
    changes = await read_json_object(request)
    expected = if_match_revision(request)
    store = store_of(request)

    def run() -> AssetObject:
        given = changes
        if "asset_public_url" in changes:  # the URL this service showed counts as unchanged
            current = store.get(asset_uri)
            if changes["asset_public_url"] == shown_url(request, current):
                given = {**changes, "asset_public_url": current.asset_public_url}
        return store.update(asset_uri, given, expected_revision=expected)

    asset = await run_in_threadpool(run)
    return ok(present(request, asset), headers={"ETag": etag_of(asset.revision)})


@router.delete(
    "/asset/{asset_uri:path}",
    dependencies=[Depends(require_write)],
    summary="Delete an asset and its file (If-Match: revision)",
)
def delete_asset(asset_uri: str, request: Request) -> Response:
    """Delete the asset (metadata first, then its file)."""
    expected = if_match_revision(request)
    store_of(request).delete(asset_uri, expected_revision=expected)
    return ok({"asset_uri": asset_uri, "deleted": True})


@router.post(
    "/assets",
    dependencies=[Depends(require_read)],
    openapi_extra=json_body_doc(
        'a MongoDB find filter, e.g. {"asset_tags": {"$in": '
        '["sample"]}, "asset_version.version": {"$gte": "1.0"}}'
    ),
    summary="Query assets with a MongoDB-style filter (every match, or pages)",
)
async def query_assets(
    request: Request,
    page: Annotated[Paging, Depends(paging)],
    all_stores: Annotated[
        bool,
        Query(
            description="in a database shared by several stores "
            "(global mode), search every store's assets"
        ),
    ] = False,
) -> Response:
    """The body is the filter itself (empty: everything). Without ``limit`` the answer holds
    every match (streamed); with ``limit`` it is a page, continued with ``cursor`` =
    ``next_cursor``. The answer gives ``count``, ``total``, ``next_cursor`` and ``next_skip``."""
    filter = await read_json_object(request, "the filter", empty={}, too_deep=InvalidQueryError)
    store = store_of(request)
    assets = Collection(
        unique_key=("asset_uri", "assets_db_id", "asset_id"),
        items=lambda where, sort: store.iter_query(where, sort=sort, all_stores=all_stores),
        count=lambda where: store.count(where, all_stores=all_stores),
        document=AssetObject.to_document,
        present=lambda asset: present(request, asset),
        scope={"collection": "assets", "all_stores": all_stores},
    )
    return await query_answer(request, assets, filter, page)


@router.head(
    "/asset-object/{asset_id}",
    dependencies=[Depends(require_read)],
    response_class=Response,
    include_in_schema=False,
)
@router.get(
    "/asset-object/{asset_id}",
    dependencies=[Depends(require_read)],
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}},
        206: {"description": "Partial content"},
        416: {"description": "Bad range"},
    },
    summary="Download an asset's file (Range, ETag)",
)
async def download_asset(asset_id: str, request: Request) -> Response:
    """The stored file, streamed; one ``Range`` gives 206, ``ETag`` is its sha256."""
    store = store_of(request)
    asset = await run_in_threadpool(store.get_by_id, asset_id)
    require_stored_file(asset)
    size = int(asset.file_size or 0)
    headers = file_headers(asset)
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range.strip() != headers["ETag"]:
        wanted = None
    byte_range = parse_range(wanted, size)
    start, end = byte_range or (0, size)  # the whole file: verified as it is read
    if byte_range is not None:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    reader = (
        None
        if request.method == "HEAD"
        else await run_in_threadpool(lambda: store.open_asset(asset, start=start, end=end))
    )
    return FileResponse(
        reader,
        status_code=200 if byte_range is None else 206,
        length=end - start,
        headers=headers,
        label=asset.asset_uri,
    )


@router.post(
    "/asset",
    status_code=201,
    dependencies=[Depends(require_write)],
    openapi_extra=json_body_doc(
        "asset_name, asset_version {version, tag}, asset_metadata, "
        "asset_tags, and optionally asset_public_url"
    ),
    summary="Register an external asset (its file lives at its own URL)",
)
async def register_asset(request: Request) -> Response:
    """Record an asset whose file is elsewhere; ``asset_public_url`` is optional."""
    fields = await read_json_object(request)
    asset = await run_in_threadpool(store_of(request).register, fields)
    return ok(
        present(request, asset),
        201,
        headers={"ETag": etag_of(asset.revision)},
        asset_id=asset.asset_id,
        asset_uri=asset.asset_uri,
    )


@router.get(
    "/resolve/{asset_name:path}",
    dependencies=[Depends(require_read)],
    summary="The highest version of an asset matching a spec",
)
def resolve_asset(
    asset_name: str,
    request: Request,
    spec: str = Query(
        "latest",
        max_length=200,
        description="latest, an exact version, or a range: >=1.2,<2 ^1.2 ~1.2",
    ),
    tag: str | None = Query(None, max_length=64, description="only this tag"),
) -> Response:
    """``AssetStore.resolve`` over HTTP (beyond the specification)."""
    asset = store_of(request).resolve(asset_name, spec, tag=tag)
    return ok(present(request, asset), headers={"ETag": etag_of(asset.revision)})


@admin_router.post(
    "/fsck",
    dependencies=[Depends(require_write)],
    summary="Verify every stored file (slow: reads them all)",
)
def fsck(
    request: Request,
    verify_checksums: bool = Query(True, description="false: check sizes only"),
) -> Response:
    """``AssetStore.fsck`` on the server; protected like a write."""
    report = store_of(request).fsck(verify_checksums=verify_checksums)
    return ok({**report.model_dump(mode="json"), "ok": report.ok})


@admin_router.post(
    "/gc", dependencies=[Depends(require_write)], summary="Remove files no asset refers to"
)
def gc(
    request: Request,
    older_than: float = Query(
        3600.0,
        ge=0,
        le=10 * 365 * 86400,
        description="grace period in seconds for uploads in flight",
    ),
    quarantine: bool = Query(False, description="move unreferenced files aside, never delete"),
) -> Response:
    """``AssetStore.gc`` on the server; protected like a write."""
    report = store_of(request).gc(older_than=older_than, quarantine=quarantine)
    return ok(report.model_dump(mode="json"))


@admin_router.post(
    "/index",
    dependencies=[Depends(require_write)],
    summary="Keep an index on a field (MongoDB's createIndex)",
)
def create_index(
    request: Request,
    field: str = Query(
        ..., min_length=1, max_length=200, description="a dot path, e.g. asset_metadata.dataset"
    ),
) -> Response:
    """``AssetStore.create_index`` on the server; protected like a write. Idempotent."""
    store_of(request).create_index(field)
    return ok({"field": field, "indexed": True})
