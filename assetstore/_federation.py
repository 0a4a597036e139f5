"""Federated search: one asset query sent to many registered stores at once.

:func:`search_assets` (also ``Registry.search_assets`` and ``POST /asset_registries/search``)
picks registry entries, queries each entry's store through its public URL, in parallel, and
merges what comes back. A store that is down, slow or refused does not fail the search:
every store gets a :class:`~assetstore.models.SourceStatus` and the results of the others
are returned.

Each store is opened by the ``opener`` the caller hands in (the composition root's
:func:`assetstore.open.open_federated_store`: the HTTP client with no credential), under the
:class:`~assetstore._outbound.AddressPolicy` of health checks, so a registry cannot be turned
into a proxy to its own network, and within :class:`~assetstore._outbound.CallLimits`: one
deadline for everything asked of a store (every page), and a cap on each answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from assetstore._outbound import AddressPolicy, CallLimits, deadline, redact_addresses
from assetstore._sorting import compile_sort
from assetstore.contract import AssetStore, Registry
from assetstore.errors import (
    HealthCheckRefusedError,
    InvalidInputError,
    RegistryNotFoundError,
)
from assetstore.models import (
    AssetObject,
    AssetsDBRegistry,
    FederatedAsset,
    Filter,
    SearchResult,
    Sort,
    SourceStatus,
)

#: Stores queried at once.
MAX_WORKERS = 16
#: Opens the store at a registered URL, under an address policy and within limits.
StoreOpener = Callable[[str, AddressPolicy, CallLimits], AssetStore]


def _entries(
    registry: Registry, registries: Filter | Sequence[str] | str | None
) -> tuple[list[AssetsDBRegistry], list[SourceStatus]]:
    if registries is None:
        return registry.query(), []
    if isinstance(registries, Mapping):
        return registry.query(registries), []
    ids = [registries] if isinstance(registries, str) else registries
    if not isinstance(ids, Sequence) or not all(isinstance(i, str) for i in ids):
        raise InvalidInputError(
            "registries must be null, a list of asset_registry_id strings or a registry filter"
        )
    found, missing = [], []
    for registry_id in dict.fromkeys(ids):
        try:
            found.append(registry.get(registry_id))
        except RegistryNotFoundError as exc:
            missing.append(
                SourceStatus(asset_registry_id=registry_id, status="error", error=str(exc))
            )
    return found, missing


def _query_one(
    entry: AssetsDBRegistry,
    filter: Filter,
    sort: Sort | None,
    limit: int | None,
    opener: StoreOpener,
    policy: AddressPolicy,
    limits: CallLimits,
) -> tuple[SourceStatus, list[AssetObject]]:
    url = entry.asset_registry_public_url
    status: dict[str, Any] = {"asset_registry_id": entry.asset_registry_id, "url": url}
    if not url.startswith(("http://", "https://")):
        return SourceStatus(
            **status, status="refused", error="only http:// and https:// stores can be searched"
        ), []
    started = time.perf_counter()
    try:
        with deadline(limits.total_timeout), opener(url, policy, limits) as store:
            assets = store.query(filter, sort=sort, limit=limit)
    except HealthCheckRefusedError as exc:
        return SourceStatus(**status, status="refused", error=str(exc)), []
    except Exception as exc:  # a misbehaving remote must not fail the whole search
        latency = (time.perf_counter() - started) * 1000
        return SourceStatus(
            **status,
            status="error",
            latency_ms=round(latency, 3),
            error=redact_addresses(f"{type(exc).__name__}: {exc}", url),
        ), []
    latency = (time.perf_counter() - started) * 1000
    return SourceStatus(
        **status, status="ok", latency_ms=round(latency, 3), count=len(assets)
    ), assets


def search_assets(
    registry: Registry,
    filter: Filter | None,
    registries: Filter | Sequence[str] | str | None = None,
    *,
    sort: Sort | None = None,
    limit: int | None = None,
    opener: StoreOpener,
    policy: AddressPolicy,
    limits: CallLimits,
    max_workers: int = MAX_WORKERS,
) -> SearchResult:
    """Query every store of ``registry`` matching ``registries`` (None: all; a list of
    ids; or a registry filter) with the asset ``filter``, in parallel, each opened by
    ``opener`` under ``policy`` and within ``limits``, and merge the results (sorted by
    ``sort`` across stores, at most ``limit`` in all).

    Raises ``InvalidQueryError`` for a bad filter or sort before contacting any store."""
    from assetstore.query import compile_filter  # the engine loads only when searching

    filter = {} if filter is None else filter
    compile_filter(filter)
    sort_key = compile_sort(sort)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise InvalidInputError("limit must be a non-negative integer or None")
    limit = limit or None
    entries, sources = _entries(registry, registries)
    found: list[tuple[str, AssetObject]] = []
    if entries:
        pool = ThreadPoolExecutor(
            min(max_workers, len(entries)), thread_name_prefix="assetstore-federation"
        )
        futures: dict[Future[tuple[SourceStatus, list[AssetObject]]], AssetsDBRegistry] = {
            pool.submit(_query_one, entry, filter, sort, limit, opener, policy, limits): entry
            for entry in entries
        }
        # Each store's deadline bounds its call; this is the backstop for the whole search.
        backstop = limits.total_timeout + 1
        done, _ = wait(futures, timeout=backstop)
        pool.shutdown(wait=False, cancel_futures=True)
        for future, entry in futures.items():
            if future not in done:
                sources.append(
                    SourceStatus(
                        asset_registry_id=entry.asset_registry_id,
                        url=entry.asset_registry_public_url,
                        status="error",
                        error=f"no answer within {backstop:g} s",
                    )
                )
                continue
            source, assets = future.result()
            sources.append(source)
            found.extend((entry.asset_registry_id, asset) for asset in assets)
    docs = [{**asset.model_dump(mode="json"), "asset_registry_id": rid} for rid, asset in found]
    if sort_key is not None:
        docs.sort(key=sort_key)
    if limit is not None:
        docs = docs[:limit]
    return SearchResult(
        results=[FederatedAsset.model_validate(doc) for doc in docs], sources=sources
    )


__all__ = ["search_assets"]
