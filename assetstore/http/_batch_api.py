"""Batch endpoints, beyond the specification: many assets in one request, all or nothing, and
a streamed export of query results. The HTTP client uses them for ``upload_many``,
``register_many``, ``import_assets`` and ``iter_query`` (so ``assetstore.sync`` lists and
copies a store in a few requests, not one per asset).

* ``POST /batch/upload``: multipart, a ``manifest`` (JSON array of ``{asset_name,
  asset_version, asset_metadata, asset_tags, filename, content_type}``) then one ``file``
  part per item, in order: ``upload_many``.
* ``POST /batch/import``: the same form with whole records (identity kept, see
  ``AssetStore.import_assets``); a ``file`` part per record with ``asset_source`` "upload".
* ``POST /batch/register``: a JSON array of external assets: ``register_many``.
* ``POST /batch/download``: the body is a JSON array of ``asset_id``; the answer is the
  files one after the other, each after a line ``{"asset_id": ..., "size": N}`` (N bytes
  follow), then a last line ``{"end": true, "count": N}``. Each file is verified against its
  sha256 as it is read; if one fails, the connection is cut.
* ``POST /assets/export``: the body is a filter, as for ``POST /assets``; the answer is
  NDJSON, one record per line (in ``sort`` order if given, else the store's), then a last line
  ``{"end": true, "count": N}``, so that a client can tell a whole answer from a cut one.

Limits: at most ``max_batch_items`` assets and ``max_batch_manifest_bytes`` of records per
request, the files together within ``max_upload_bytes``; each is checked before the work it
bounds (the declared length first, then as the body streams).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from assetstore._base_store import require_stored_file
from assetstore.contract import AssetStore
from assetstore.errors import InvalidQueryError, PayloadTooLargeError
from assetstore.http._assets_api import base_url, present, store_of
from assetstore.http._auth import require_read, require_write
from assetstore.http._batch_form import PartReader, receive_batch
from assetstore.http._bodies import json_body_doc, parse_json_object, read_body
from assetstore.http._errors import UnprocessableBodyError
from assetstore.http._paging import StreamedJSON, parse_sort, too_many
from assetstore.http._responses import ok
from assetstore.http._views import SPEC_ASSET_FIELDS, spec_view
from assetstore.models import AssetObject, ImportItem, Upload
from assetstore.settings import ServiceSettings

router = APIRouter(tags=["batch"])

#: Bytes of NDJSON gathered before they are sent.
EXPORT_CHUNK = 256 * 1024
#: The fields of a record (what a document shows of itself).
ASSET_FIELDS = tuple(AssetObject.model_fields)
ASSET_FIELD_SET = frozenset(ASSET_FIELDS)
#: The media type of ``/batch/download``'s answer.
FILES_MEDIA_TYPE = "application/x-assetstore-files"

_FORM_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["manifest"],
                "properties": {
                    "manifest": {"type": "string", "description": "JSON array, one per asset"},
                    "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                },
            }
        }
    },
}


def _settings(request: Request) -> ServiceSettings:
    return request.app.state.settings


def _manifest_items(raw: bytes, settings: ServiceSettings) -> list[Any]:
    try:
        items = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UnprocessableBodyError(f"the manifest is not valid JSON: {exc}") from None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise UnprocessableBodyError("the manifest must be a JSON array of objects")
    if len(items) > settings.max_batch_items:
        raise PayloadTooLargeError(
            f"the batch has {len(items)} assets, more than this server's "
            f"{settings.max_batch_items} (max_batch_items): send several batches"
        )
    return items


def _upload_fields(item: dict[str, Any]) -> dict[str, Any]:
    version = item.get("asset_version") or {}
    if not isinstance(version, dict):
        raise UnprocessableBodyError('asset_version must be an object like {"version": "1.0"}')
    for text in ("filename", "content_type"):
        if item.get(text) is not None and not isinstance(item[text], str):
            raise UnprocessableBodyError(f"{text} must be a string")
    return {
        "name": item.get("asset_name"),
        "version": version.get("version"),
        "tag": version.get("tag"),
        "metadata": item.get("asset_metadata"),
        "tags": item.get("asset_tags"),
        "filename": item.get("filename") or None,
        "content_type": item.get("content_type") or None,
    }


def _presented(request: Request, assets: list[AssetObject]) -> Response:
    data = [present(request, asset) for asset in assets]
    return ok(data, 201, count=len(data))


@router.post(
    "/batch/upload",
    status_code=201,
    dependencies=[Depends(require_write)],
    openapi_extra={"requestBody": _FORM_BODY},
    summary="Upload many files in one request, all or nothing",
)
async def batch_upload(request: Request) -> Response:
    """``upload_many`` over HTTP: the manifest's items, each with its ``file`` part, are
    published in one commit, or none of them is."""
    settings = _settings(request)
    store = store_of(request)

    def parse(raw: bytes) -> tuple[list[Any], int]:
        items = [_upload_fields(item) for item in _manifest_items(raw, settings)]
        return items, len(items)

    def run(items: list[Any], reader_of: Callable[[int], PartReader]) -> list[AssetObject]:
        uploads = [Upload(source=reader_of(index), **fields) for index, fields in enumerate(items)]
        return store.upload_many(uploads)

    assets = await receive_batch(request, parse, run)
    return _presented(request, assets)


@router.post(
    "/batch/import",
    status_code=201,
    dependencies=[Depends(require_write)],
    openapi_extra={"requestBody": _FORM_BODY},
    summary="Import records with their identity and files, all or nothing",
)
async def batch_import(request: Request) -> Response:
    """``import_assets`` over HTTP: each record keeps its ``asset_id``, timestamps and
    origin; each file is checked against its record's size and sha256 as it arrives."""
    settings = _settings(request)
    store = store_of(request)

    def parse(raw: bytes) -> tuple[list[Any], int]:
        records = _manifest_items(raw, settings)
        files = sum(1 for record in records if record.get("asset_source") == "upload")
        return records, files

    def run(records: list[Any], reader_of: Callable[[int], PartReader]) -> list[AssetObject]:
        items = []
        files = 0
        for record in records:
            source = None
            if record.get("asset_source") == "upload":
                source = reader_of(files)
                files += 1
            items.append(ImportItem(record=record, source=source))
        return store.import_assets(items)

    assets = await receive_batch(request, parse, run)
    return _presented(request, assets)


@router.post(
    "/batch/register",
    status_code=201,
    dependencies=[Depends(require_write)],
    openapi_extra=json_body_doc("a JSON array of external assets, as for POST /asset"),
    summary="Register many external assets, all or nothing",
)
async def batch_register(request: Request) -> Response:
    """``register_many`` over HTTP: one commit for every asset of the array."""
    settings = _settings(request)
    raw = await read_body(request, settings.max_batch_manifest_bytes)
    records = await run_in_threadpool(_manifest_items, raw, settings)
    assets = await run_in_threadpool(store_of(request).register_many, records)
    return _presented(request, assets)


@router.post(
    "/batch/download",
    dependencies=[Depends(require_read)],
    response_class=Response,
    openapi_extra=json_body_doc("a JSON array of asset_id"),
    responses={200: {"content": {FILES_MEDIA_TYPE: {}}}},
    summary="Many stored files in one answer",
)
async def batch_download(request: Request) -> Response:
    """Each file after its line ``{"asset_id": ..., "size": N}``, in the order asked, then
    ``{"end": true, "count": N}``. 404 before anything is sent if an asset is missing, 400
    if one is external."""
    settings = _settings(request)
    raw = await read_body(request, settings.max_batch_manifest_bytes)
    store = store_of(request)

    def start() -> Iterator[bytes]:
        ids = orjson.loads(raw) if raw.strip() else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise UnprocessableBodyError("the body must be a JSON array of asset_id strings")
        if len(ids) > settings.max_batch_items:
            raise PayloadTooLargeError(
                f"{len(ids)} files asked, more than this server's {settings.max_batch_items} "
                "(max_batch_items)"
            )
        assets = [store.get_by_id(asset_id) for asset_id in ids]
        for asset in assets:
            require_stored_file(asset)
        return _framed_files(store, assets)

    try:
        chunks = await run_in_threadpool(start)
    except orjson.JSONDecodeError as exc:
        raise UnprocessableBodyError(f"the body is not valid JSON: {exc}") from None
    return StreamedFiles(chunks, close=chunks.close)  # type: ignore[attr-defined]


def _framed_files(store: AssetStore, assets: list[AssetObject]) -> Iterator[bytes]:
    buffer = bytearray()
    for asset in assets:
        buffer += orjson.dumps({"asset_id": asset.asset_id, "size": asset.file_size}) + b"\n"
        with store.open_asset(asset) as reader:
            while data := reader.read(EXPORT_CHUNK):
                if len(buffer) + len(data) < EXPORT_CHUNK:
                    buffer += data
                    continue
                if buffer:
                    yield bytes(buffer)
                    buffer.clear()
                yield data
    buffer += orjson.dumps({"end": True, "count": len(assets)}) + b"\n"
    yield bytes(buffer)


@router.post(
    "/assets/export",
    dependencies=[Depends(require_read)],
    response_class=Response,
    openapi_extra=json_body_doc("a MongoDB find filter, as for POST /assets"),
    responses={200: {"content": {"application/x-ndjson": {}}}},
    summary="Every asset matching a filter, streamed as NDJSON",
)
async def export_assets(
    request: Request,
    sort: Annotated[
        str | None,
        Query(max_length=2000, description="as for POST /assets; default: the store's order"),
    ] = None,
    all_stores: Annotated[bool, Query(description="as for POST /assets")] = False,
) -> Response:
    """One record per line, then ``{"end": true, "count": N}``. An error after the first
    line cuts the connection, so a client never takes a partial listing for a whole one.
    With ``max_results`` set, a filter matching more is refused (400): page ``/assets``."""
    raw = await read_body(request, _settings(request).max_query_bytes)
    filter = parse_json_object(raw, "the filter", empty={}, too_deep=InvalidQueryError)
    order = parse_sort(sort)
    store = store_of(request)
    cap = _settings(request).max_results

    def start() -> Iterator[bytes]:
        if cap is not None and store.count(filter, all_stores=all_stores) > cap:
            raise too_many(cap, "this export matches more results")
        if all_stores:
            assets = store.iter_query(filter, sort=order, all_stores=True)
            return _ndjson(assets, lambda asset: present(request, asset))
        docs = store.iter_documents(filter, sort=order)
        return _ndjson(docs, lambda doc: present_document(request, doc))

    chunks = await run_in_threadpool(start)
    first = await run_in_threadpool(next, chunks, None)
    head = [first] if first is not None else []
    return StreamedNDJSON(_chain(head, chunks), close=chunks.close)  # type: ignore[attr-defined]


def _chain(head: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from head
    yield from rest


def present_document(request: Request, doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """:func:`present` for a document as the store holds it (never changed: it may be the
    store's own): its record fields only, with the URL clients download from. A document
    that needs neither is sent as it is (an export of 10,000 records spent a third of its
    time copying them)."""
    if not doc.keys() <= ASSET_FIELD_SET:
        doc = {field: doc[field] for field in ASSET_FIELDS if field in doc}
    url = doc.get("asset_public_url") or ""
    if doc.get("asset_source") == "upload" and not url.startswith(("http://", "https://")):
        doc = {**doc, "asset_public_url": f"{base_url(request)}/asset-object/{doc.get('asset_id')}"}
    if spec_view(request):
        return {field: doc[field] for field in SPEC_ASSET_FIELDS if field in doc}
    return doc


def _ndjson(items: Iterator[Any], show: Callable[[Any], Any]) -> Iterator[bytes]:
    buffer = bytearray()
    count = 0
    for item in items:
        buffer += orjson.dumps(show(item), option=orjson.OPT_APPEND_NEWLINE)
        count += 1
        if len(buffer) >= EXPORT_CHUNK:
            yield bytes(buffer)
            buffer.clear()
    buffer += orjson.dumps({"end": True, "count": count}) + b"\n"
    yield bytes(buffer)


class StreamedNDJSON(StreamedJSON):
    """:class:`StreamedJSON`'s delivery (worker threads, cut on error) for NDJSON."""

    media_type = "application/x-ndjson"


class StreamedFiles(StreamedJSON):
    """:class:`StreamedJSON`'s delivery for the framed files of ``/batch/download``."""

    media_type = FILES_MEDIA_TYPE


__all__ = ["router"]
