"""Finding 1: the server's own token must never reach a registered store.

A server run with ``ASSETSTORE_TOKEN`` (as the README recommends) once sent
``Authorization: Bearer <its token>`` to every store an anonymous federated search asked,
and the library's ``search_assets`` did the same in any process with the variable set. A
canary store on 127.0.0.1 records the headers of every request it gets; the positive
control shows the canary would see a token that is meant for it."""

from __future__ import annotations

import httpx
import pytest
from live_server import run_cli_server
from seckit import TOKEN, HeaderCanary

from assetstore import open_registry, open_store
from assetstore._outbound import AddressPolicy
from assetstore.settings import Settings


@pytest.fixture
def canary():
    with HeaderCanary() as server:
        yield server


def authorizations(canary: HeaderCanary) -> list[str]:
    return [
        seen.headers["authorization"] for seen in canary.seen if "authorization" in seen.headers
    ]


def test_served_search_health_and_registration_send_no_token(tmp_path, canary):
    """``assetstore serve`` with ASSETSTORE_TOKEN: an anonymous federated search, a health
    check and a registration's health check call the canary, and not one request carries an
    Authorization header."""
    with run_cli_server(
        tmp_path, "--allow-private-health-checks", env={"ASSETSTORE_TOKEN": TOKEN}
    ) as server:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        registered = httpx.post(
            f"{server.url}/asset_registry",
            json={"asset_registry_name": "canary", "asset_registry_public_url": canary.url},
            headers=auth,
        )
        assert registered.status_code == 201, registered.text
        entry = registered.json()["asset_registry_id"]
        search = httpx.post(
            f"{server.url}/asset_registries/search", json={"filter": {}}, timeout=30
        )
        assert search.status_code == 200, search.text
        assert [s["status"] for s in search.json()["data"]["sources"]] == ["ok"]
        health = httpx.get(f"{server.url}/check_health/{entry}", timeout=30)
        assert health.json()["report"]["status"] == "healthy", health.text
    paths = [(seen.method, seen.path.split("?")[0]) for seen in canary.seen]
    assert ("POST", "/assets") in paths and ("GET", "/health") in paths
    assert authorizations(canary) == []
    assert all(TOKEN not in str(seen.headers) for seen in canary.seen)


def test_library_search_sends_no_token_from_the_environment(tmp_path, canary, monkeypatch):
    """In a process with ASSETSTORE_TOKEN (and ASSETSTORE_URL naming some other store), a
    registry's federated search and health check send no credential to the canary."""
    monkeypatch.setenv("ASSETSTORE_TOKEN", TOKEN)
    monkeypatch.setenv("ASSETSTORE_URL", "http://127.0.0.1:9")
    with open_registry(
        tmp_path / "registry", address_policy=AddressPolicy(allow_private=True)
    ) as registry:
        entry = registry.register(
            {"asset_registry_name": "canary", "asset_registry_public_url": canary.url}
        )
        result = registry.search_assets({"asset_tags": "x"})
        assert [s.status for s in result.sources] == ["ok"]
        assert registry.check_health(entry.asset_registry_id).status == "healthy"
    assert canary.seen, "the canary was never called"
    assert authorizations(canary) == []


def test_environment_token_goes_only_to_the_store_it_names(canary, monkeypatch):
    """The positive control: ASSETSTORE_URL naming the canary makes ``open_store`` send the
    token there, and only there: a store opened by another URL gets none."""
    monkeypatch.setenv("ASSETSTORE_TOKEN", TOKEN)
    monkeypatch.setenv("ASSETSTORE_URL", canary.url)
    assert Settings.from_env().token_for(canary.url.replace("127.0.0.1", "localhost")) is None
    with open_store(f"http://localhost:{canary.port}") as other:
        other.query({})
    assert authorizations(canary) == []
    with open_store() as named:
        named.query({})
    assert authorizations(canary) and set(authorizations(canary)) == {f"Bearer {TOKEN}"}
