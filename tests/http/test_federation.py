"""Federated search: one asset query to every registered store, in parallel, partial results
when some are down, and the health-check address policy on every outbound call."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
import pytest
from live_server import free_port, serve

from assetstore import open_registry, open_store
from assetstore._outbound import AddressPolicy
from assetstore._registry import StoreRegistry
from assetstore.errors import InvalidQueryError
from assetstore.models import SearchResult
from assetstore.open import open_federated_store

LOOPBACK = AddressPolicy(allowed_networks=("127.0.0.1/32",))


@pytest.fixture
def stores(tmp_path) -> Iterator[dict[str, str]]:
    """Two live stores with assets, and the URL of a store that is down."""
    with contextlib.ExitStack() as stack:
        urls = {}
        for name, versions in (("a", ["1.0", "2.0"]), ("b", ["1.5"])):
            store = stack.enter_context(open_store(tmp_path / name))
            for version in versions:
                store.upload(
                    f"{name}{version}".encode(),
                    name=f"model-{name}",
                    version=version,
                    tag="stable",
                    tags=["shared", name],
                )
            store.upload(b"private", name=f"other-{name}", version="1", tag="x", tags=[name])
            urls[name] = stack.enter_context(serve(store))
        urls["down"] = f"http://127.0.0.1:{free_port()}"
        yield urls


@pytest.fixture
def registry(tmp_path, stores) -> StoreRegistry:
    registry = open_registry(tmp_path / "registry", address_policy=LOOPBACK)
    for name, url in stores.items():
        registry.register(
            {
                "asset_registry_id": name,
                "asset_registry_name": f"store {name}",
                "asset_registry_public_url": url,
                "asset_registry_tags": [name],
            }
        )
    registry.register(
        {
            "asset_registry_id": "metadata",
            "asset_registry_name": "cloud metadata",
            "asset_registry_public_url": "http://169.254.169.254/latest",
        }
    )
    return registry


def by_id(result: SearchResult) -> dict[str, str]:
    return {source.asset_registry_id: source.status for source in result.sources}


def test_search_merges_and_reports_every_source(registry):
    result = registry.search_assets({"asset_tags": "shared"}, sort=[("asset_version.version", -1)])
    assert [(a.asset_registry_id, a.asset_uri) for a in result.results] == [
        ("a", "model-a:2.0-stable"),
        ("b", "model-b:1.5-stable"),
        ("a", "model-a:1.0-stable"),
    ]
    assert by_id(result) == {"a": "ok", "b": "ok", "down": "error", "metadata": "refused"}
    sources = {s.asset_registry_id: s for s in result.sources}
    assert sources["a"].count == 2 and sources["a"].latency_ms is not None
    assert "169.254.169.254" in (sources["metadata"].error or "")
    assert not result.complete


def test_search_selects_registries_and_limits(registry):
    only_b = registry.search_assets({}, ["b"])
    assert {a.asset_registry_id for a in only_b.results} == {"b"}
    assert by_id(only_b) == {"b": "ok"}
    tagged = registry.search_assets({"asset_tags": "shared"}, {"asset_registry_tags": "a"})
    assert by_id(tagged) == {"a": "ok"}
    limited = registry.search_assets({}, ["a", "b"], sort={"asset_name": 1}, limit=2)
    assert [a.asset_name for a in limited.results] == ["model-a", "model-a"]
    missing = registry.search_assets({}, ["a", "nope"])
    assert by_id(missing) == {"a": "ok", "nope": "error"}
    with pytest.raises(InvalidQueryError):
        registry.search_assets({"$where": "1"})


def test_default_policy_refuses_loopback_stores(registry):
    # the default policy: public addresses only
    strict = StoreRegistry(registry._documents, store_opener=open_federated_store)
    result = strict.search_assets({})
    assert set(by_id(result).values()) == {"refused"}
    assert result.results == []


def test_search_over_http(registry, stores):
    from assetstore.settings import ServiceSettings

    settings = ServiceSettings(health_allowed_networks=("127.0.0.1/32",), federation_timeout=3)
    with serve(None, registry, settings) as url:
        response = httpx.post(
            f"{url}/asset_registries/search",
            json={"filter": {"asset_tags": "shared"}, "sort": [["asset_version.version", -1]]},
        )
        assert response.status_code == 200
        data = response.json()["data"]
        assert [a["asset_uri"] for a in data["results"]] == [
            "model-a:2.0-stable",
            "model-b:1.5-stable",
            "model-a:1.0-stable",
        ]
        assert {s["asset_registry_id"]: s["status"] for s in data["sources"]} == {
            "a": "ok",
            "b": "ok",
            "down": "error",
            "metadata": "refused",
        }
        with open_registry(url) as client:
            result = client.search_assets({"asset_tags": "shared"}, ["a"])
            assert by_id(result) == {"a": "ok"}
            assert len(result.results) == 2
        bad = httpx.post(f"{url}/asset_registries/search", json={"filter": {"$where": "1"}})
        assert bad.status_code == 400
        unknown = httpx.post(f"{url}/asset_registries/search", json={"query": {}})
        assert unknown.status_code == 400
    with serve(None, registry, ServiceSettings()) as url:  # the service's own default policy
        data = httpx.post(f"{url}/asset_registries/search", json={"filter": {}}).json()["data"]
        assert {s["status"] for s in data["sources"]} == {"refused"}
