"""The Assets DB registry endpoints of the specification, plus the federated search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from assetstore import _federation as federation
from assetstore.contract import Registry
from assetstore.errors import (
    InvalidInputError,
    InvalidQueryError,
    RevisionMismatchError,
    TooManyResultsError,
)
from assetstore.http._auth import require_read, require_write
from assetstore.http._bodies import (
    etag_of,
    if_match_revision,
    json_body_doc,
    read_json_object,
)
from assetstore.http._paging import Collection, Paging, paging, query_answer
from assetstore.http._responses import JSONResponse, ok, one_line
from assetstore.http._views import SPEC_REGISTRY_FIELDS, shown
from assetstore.models import AssetsDBRegistry
from assetstore.open import open_federated_store
from assetstore.settings import ServiceSettings

router = APIRouter(tags=["registry"])

SEARCH_DESCRIPTION = """\
Federated search (beyond the specification): send one asset filter to every registered store
that matches `registries`, in parallel, and merge the answers.

Body: `{"filter": {...asset filter...}, "registries": null | [ids] | {...registry filter...},
"sort": [["field", 1 | -1]] | null, "limit": int | null}`.

Each store is queried through its `asset_registry_public_url` with the same address policy
as health checks (loopback, private and link-local targets are refused unless the operator
allows them), within the service's `federation_timeout`. Stores that fail do not fail the
search: `data.sources` lists every store with `status` "ok", "error" or "refused",
`latency_ms`, `count` and `error`; `data.results` holds the assets found, each with the
`asset_registry_id` of the store it came from."""


def registry_of(request: Request) -> Registry:
    """The served registry."""
    return request.app.state.registry


def settings_of(request: Request) -> ServiceSettings:
    """The service's settings."""
    return request.app.state.settings


@router.post(
    "/asset_registry",
    status_code=201,
    dependencies=[Depends(require_write)],
    openapi_extra=json_body_doc(
        "asset_registry_name, asset_registry_public_url (http/https), "
        "asset_registry_metadata, asset_registry_tags, optionally "
        "asset_registry_id"
    ),
    summary="Register an asset store (checks its /health first)",
)
async def register_store(
    request: Request,
    check_health: bool | None = Query(
        None, description="false: skip the health check (the operator may disable it too)"
    ),
) -> Response:
    """Add a store. Unless the caller passes ``check_health=false`` or the operator turned
    the check off, ``{asset_registry_public_url}/health`` must answer first, else 400 with
    the health report in the error. Answers the entry and its ``asset_registry_id``."""
    fields = await read_json_object(request)
    check = settings_of(request).register_health_check and check_health is not False
    entry = await run_in_threadpool(
        lambda: registry_of(request).register(fields, check_health=check)
    )
    return ok(
        shown(request, entry.model_dump(mode="json"), SPEC_REGISTRY_FIELDS),
        201,
        headers={"ETag": etag_of(entry.revision)},
        asset_registry_id=entry.asset_registry_id,
        health_checked=check,
    )


@router.get(
    "/asset_registry/{registry_id}",
    dependencies=[Depends(require_read)],
    summary="A registry entry (ETag: its revision)",
)
def get_entry(registry_id: str, request: Request) -> Response:
    """The entry with this id."""
    entry = registry_of(request).get(registry_id)
    return ok(
        shown(request, entry.model_dump(mode="json"), SPEC_REGISTRY_FIELDS),
        headers={"ETag": etag_of(entry.revision)},
    )


@router.put(
    "/asset_registry/{registry_id}",
    dependencies=[Depends(require_write)],
    openapi_extra=json_body_doc(
        "fields to set: asset_registry_name, asset_registry_metadata, "
        "asset_registry_tags, asset_registry_public_url"
    ),
    summary="Update a registry entry (If-Match: revision)",
)
async def update_entry(registry_id: str, request: Request) -> Response:
    """Change an entry; never creates; ``If-Match`` makes it a compare-and-swap."""
    changes = await read_json_object(request)
    expected = if_match_revision(request)
    entry = await run_in_threadpool(
        lambda: registry_of(request).update(registry_id, changes, expected_revision=expected)
    )
    return ok(
        shown(request, entry.model_dump(mode="json"), SPEC_REGISTRY_FIELDS),
        headers={"ETag": etag_of(entry.revision)},
    )


@router.delete(
    "/asset_registry/{registry_id}",
    dependencies=[Depends(require_write)],
    summary="Remove a registry entry",
)
def delete_entry(registry_id: str, request: Request) -> Response:
    """Remove the entry. ``If-Match`` is checked against the current revision first (the
    registry has no atomic conditional delete, so this narrows the race, not closes it)."""
    registry = registry_of(request)
    expected = if_match_revision(request)
    if expected is not None:
        current = registry.get(registry_id).revision
        if current != expected:
            raise RevisionMismatchError(f"{registry_id!r} is at revision {current}, not {expected}")
    registry.delete(registry_id)
    return ok({"asset_registry_id": registry_id, "deleted": True})


@router.post(
    "/asset_registries",
    dependencies=[Depends(require_read)],
    openapi_extra=json_body_doc("a MongoDB find filter over registry entries"),
    summary="Query registry entries with a MongoDB-style filter (every match, or pages)",
)
async def query_entries(request: Request, page: Annotated[Paging, Depends(paging)]) -> Response:
    """The body is the filter itself; every match or pages, as for ``POST /assets``."""
    filter = await read_json_object(request, "the filter", empty={}, too_deep=InvalidQueryError)
    registry = registry_of(request)
    entries = Collection(
        unique_key=("asset_registry_id",),
        items=lambda where, sort: registry.iter_query(where, sort=sort),
        count=registry.count,
        document=AssetsDBRegistry.to_document,
        present=lambda entry: shown(request, entry.model_dump(mode="json"), SPEC_REGISTRY_FIELDS),
        scope={"collection": "registry"},
    )
    return await query_answer(request, entries, filter, page)


@router.post(
    "/asset_registries/search",
    dependencies=[Depends(require_read)],
    openapi_extra=json_body_doc(
        '{"filter": {...}, "registries": null | [ids] | {...}, '
        '"sort": [["field", 1]], "limit": 100}'
    ),
    summary="Federated search: one asset query to every matching registered store",
    description=SEARCH_DESCRIPTION,
)
async def search(request: Request) -> Response:
    """See the description above."""
    body = await read_json_object(request)
    unknown = set(body) - {"filter", "registries", "sort", "limit"}
    if unknown:
        raise InvalidInputError(
            f"unknown fields {sorted(unknown)}; send filter, registries, sort and limit"
        )
    settings = settings_of(request)
    limit = body.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        raise InvalidInputError("limit must be a non-negative integer")
    cap = settings.federation_max_results
    if limit is not None and limit > cap:
        raise TooManyResultsError(
            f"limit {limit} is more than this server's federation_max_results ({cap}); "
            "narrow the filter or search fewer stores"
        )
    limit = limit or cap
    result = await run_in_threadpool(
        lambda: federation.search_assets(
            registry_of(request),
            body.get("filter") or {},
            body.get("registries"),
            sort=body.get("sort"),
            limit=limit,
            opener=open_federated_store,
            policy=settings.address_policy(),
            limits=settings.federation_limits(),
        )
    )
    return ok(result.model_dump(mode="json"))


@router.get(
    "/check_health/{registry_id}",
    dependencies=[Depends(require_read)],
    responses={503: {"description": "the store is not healthy (the report is in data)"}},
    summary="Check a registered store's /health (safely)",
)
def check_health(registry_id: str, request: Request) -> Response:
    """Call the entry's ``{public_url}/health`` with short timeouts, refusing loopback,
    private and link-local targets unless the operator allows them, following no redirect.

    Healthy: 200, ``data`` is the store's own ``/health`` answer (as the original service
    gave it) and ``report`` our report beside it. Anything else (``unhealthy``,
    ``unreachable``, ``refused``): 503 with ``success: false`` and the report in ``data``
    and ``report``, so that no client that checks the status or ``success`` takes a dead
    store for a healthy one."""
    report = registry_of(request).check_health(registry_id)
    report_doc = report.model_dump(mode="json")
    if report.status == "healthy":
        return ok(report.response, report=report_doc)
    message = one_line(f"the store at {report.url} is {report.status}: {report.error}")
    return JSONResponse(
        {
            "success": False,
            "error": message,
            "message": message,
            "error_type": "BackendUnavailableError",
            "data": report_doc,
            "report": report_doc,
        },
        status_code=503,
    )
