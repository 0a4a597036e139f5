"""The registry pages: registered stores with their live health, and the federated search.

The list is paged by the registry like ``POST /asset_registries``; each row's health is
fetched by the page's script from :func:`health`, so a slow store delays only its own row.
The federated search runs as ``POST /asset_registries/search`` does, under the service's
address policy and time limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, Response

from assetstore import _federation as federation
from assetstore.contract import Registry
from assetstore.errors import InvalidInputError
from assetstore.http.ui._errors import PageRoute
from assetstore.http.ui._paging import fetch_page, page_size
from assetstore.http.ui._render import Timings, render
from assetstore.http.ui._search import SYNTAX_HELP, parse_search
from assetstore.models import AssetsDBRegistry, FederatedAsset, SearchResult, SourceStatus
from assetstore.open import open_federated_store
from assetstore.settings import ServiceSettings

router = APIRouter(prefix="/ui/registry", route_class=PageRoute, include_in_schema=False)

#: Results a federated search asks for (from each store, and in all); the page says when a
#: store may hold more.
FEDERATED_LIMIT = 100


def registry_of(request: Request) -> Registry:
    """The served registry."""
    return request.app.state.registry


@router.get("")
def registry_page(
    request: Request,
    skip: Annotated[int, Query(ge=0)] = 0,
    limit: int | None = None,
    registered: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    """The registered stores (paged), the form to register one, and the federated search.
    ``registered`` names a store just registered by this page's script (a notice)."""
    registry = registry_of(request)
    size = page_size(limit, request.app.state.settings.max_results)
    timings = Timings()
    with timings.span("query"):
        page = fetch_page(
            skip,
            size,
            lambda s, n: registry.query(
                sort=[("asset_registry_name", 1), ("asset_registry_id", 1)], skip=s, limit=n
            ),
            registry.count,
        )
    if registered and not registry.count({"asset_registry_name": registered}):
        registered = None  # a notice only for a store that is really there
    return render(
        request,
        "registry.html",
        {"page": page, "limit": size, "syntax_help": SYNTAX_HELP, "registered": registered},
        timings=timings,
    )


@router.get("/health/{registry_id}")
def health(registry_id: str, request: Request) -> Response:
    """The health report of one entry (healthy, unhealthy, unreachable or refused), as JSON
    for the registry page's script."""
    report = registry_of(request).check_health(registry_id)
    return JSONResponse(report.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


class StoreGroup:
    """The results of one store in a federated search, with how it answered."""

    def __init__(self, source: SourceStatus, entry: AssetsDBRegistry | None, limit: int) -> None:
        self.source = source
        self.limit = limit
        self.name = entry.asset_registry_name if entry else source.asset_registry_id
        self.assets: list[FederatedAsset] = []

    @property
    def may_have_more(self) -> bool:
        """The store returned as many results as were asked for."""
        return self.source.count >= self.limit


def group_by_store(
    result: SearchResult, entries: list[AssetsDBRegistry], limit: int
) -> list[StoreGroup]:
    """The answering stores first (by name), each with its results, then those that failed.
    ``limit`` is what each store was asked for."""
    by_id = {entry.asset_registry_id: entry for entry in entries}
    groups = {
        s.asset_registry_id: StoreGroup(s, by_id.get(s.asset_registry_id), limit)
        for s in result.sources
    }
    for asset in result.results:
        groups[asset.asset_registry_id].assets.append(asset)
    return sorted(groups.values(), key=lambda g: (g.source.status != "ok", g.name.casefold()))


@router.get("/search")
def federated_search_page(
    request: Request, q: Annotated[str, Query(max_length=10_000)] = ""
) -> Response:
    """One search box, every registered store asked in parallel, results grouped by store;
    stores that did not answer are listed with the reason."""
    registry = registry_of(request)
    settings: ServiceSettings = request.app.state.settings
    timings = Timings()
    groups: list[StoreGroup] = []
    error = None
    shown = found = 0
    cap = settings.max_results
    limit = FEDERATED_LIMIT if cap is None else min(FEDERATED_LIMIT, cap)
    try:
        filter = parse_search(q)
        with timings.span("search"):
            result = federation.search_assets(
                registry,
                filter,
                None,
                sort=[("asset_name", 1), ("asset_version.version", -1)],
                limit=limit,
                opener=open_federated_store,
                policy=settings.address_policy(),
                limits=settings.federation_limits(),
            )
        ids = [s.asset_registry_id for s in result.sources]
        entries = registry.query({"asset_registry_id": {"$in": ids}}) if ids else []
        groups = group_by_store(result, entries, limit)
        shown, found = len(result.results), sum(s.count for s in result.sources)
    except InvalidInputError as exc:
        error = str(exc)
    context = {
        "q": q,
        "error": error,
        "groups": groups,
        "shown": shown,
        "found": found,
        "limit": limit,
        "answered": sum(group.source.status == "ok" for group in groups),
        "syntax_help": SYNTAX_HELP,
    }
    return render(request, "federated.html", context, status=400 if error else 200, timings=timings)


__all__ = ["FEDERATED_LIMIT", "StoreGroup", "group_by_store", "router"]
