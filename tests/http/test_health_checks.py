"""Health checks through the service: registration checks and GET /check_health refuse
loopback, private and link-local targets (however they are spelled) and follow no redirect;
a canary server on loopback proves that no request reached it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from live_server import http_server

from assetstore._registry import StoreRegistry


@pytest.fixture
def canary() -> Iterator[tuple[int, list[str]]]:
    with http_server("127.0.0.1") as running:
        yield running.port, running.hits


def register(live, url: str, **params: str) -> httpx.Response:
    return httpx.post(
        f"{live.url}/asset_registry",
        params=params,
        json={"asset_registry_name": "target", "asset_registry_public_url": url},
    )


@pytest.mark.parametrize(
    "template",
    [
        "http://127.0.0.1:{port}",
        "http://127.1:{port}",
        "http://localhost:{port}",
        "http://[::ffff:127.0.0.1]:{port}",
        "http://[::1]:{port}",
        "http://2130706433:{port}",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1:{port}",
    ],
)
def test_check_health_refuses_non_public_targets(live, canary, template):
    port, hits = canary
    response = register(live, template.format(port=port), check_health="false")
    assert response.status_code == 201, response.text
    registry_id = response.json()["asset_registry_id"]
    report = httpx.get(f"{live.url}/check_health/{registry_id}").json()
    assert report["success"] is True
    assert report["data"]["status"] == "refused"
    assert report["data"]["asset_registry_id"] == registry_id
    assert hits == []


def test_registration_checks_health_first(live, canary):
    port, hits = canary
    refused = register(live, f"http://127.1:{port}")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert "not healthy (refused" in error
    assert live.registry.query() == []
    assert hits == []
    # the caller may opt out
    assert register(live, f"http://127.1:{port}", check_health="false").status_code == 201
    # the operator may turn it off
    live.set_settings(register_health_check=False)
    accepted = register(live, f"http://127.1:{port}")
    assert accepted.status_code == 201 and accepted.json()["health_checked"] is False
    assert hits == []


def test_redirect_to_loopback_is_not_followed(live, canary):
    port, hits = canary
    # The redirector lives on 127.0.0.2, which this registry's operator allowed; it sends
    # the check on to the canary on 127.0.0.1, which is not allowed.
    policy = live.set_settings(health_allowed_networks=["127.0.0.2/32"]).address_policy()
    registry = StoreRegistry(live.registry._documents, address_policy=policy)
    live.app.state.registry = registry
    with http_server("127.0.0.2", location=f"http://127.0.0.1:{port}/health") as redirector:
        rport, rhits = redirector.port, redirector.hits
        entry = registry.register(
            {
                "asset_registry_name": "redirector",
                "asset_registry_public_url": f"http://127.0.0.2:{rport}",
            }
        )
        report = httpx.get(f"{live.url}/check_health/{entry.asset_registry_id}").json()["data"]
        assert rhits == ["/health"]
    assert report["status"] == "unhealthy"
    assert report["http_status"] == 302
    assert "redirect" in report["error"]
    assert hits == []
    refused = register(live, f"http://127.0.0.2:{rport}")
    assert refused.status_code == 400  # registration's check sees the same redirect


def test_operator_may_allow_private_targets(live, canary):
    port, hits = canary
    policy = live.set_settings(allow_private_health_checks=True).address_policy()
    live.app.state.registry = StoreRegistry(live.registry._documents, address_policy=policy)
    response = register(live, f"http://127.0.0.1:{port}")
    assert response.status_code == 201, response.text
    assert response.json()["health_checked"] is True
    registry_id = response.json()["asset_registry_id"]
    report = httpx.get(f"{live.url}/check_health/{registry_id}").json()["data"]
    assert report["status"] == "healthy"
    assert report["response"] == {"success": True}
    assert hits == ["/health", "/health"]
