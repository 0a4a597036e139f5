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
    answer = httpx.get(f"{live.url}/check_health/{registry_id}")
    assert answer.status_code == 503  # not healthy: no client may read it as healthy
    report = answer.json()
    assert report["success"] is False
    assert report["data"]["status"] == "refused" == report["report"]["status"]
    assert report["data"]["asset_registry_id"] == registry_id
    assert hits == []


def test_registration_checks_health_first(live, canary):
    port, hits = canary
    refused = register(live, f"http://127.1:{port}")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert "not healthy (refused" in error
    # the message names every way out: the operator's setting and the caller's opt-out
    assert "ASSETSTORE_HEALTH_ALLOWED_NETWORKS" in error and "--allow-network" in error
    assert "?check_health=false" in error
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
        answer = httpx.get(f"{live.url}/check_health/{entry.asset_registry_id}")
        assert answer.status_code == 503 and answer.json()["success"] is False
        report = answer.json()["data"]
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
    answer = httpx.get(f"{live.url}/check_health/{registry_id}")
    assert answer.status_code == 200 and answer.json()["success"] is True
    assert answer.json()["data"] == {"success": True}  # the store's own /health, as the original
    report = answer.json()["report"]
    assert report["status"] == "healthy"
    assert report["response"] == {"success": True}
    assert hits == ["/health", "/health"]


def test_a_dead_store_is_a_503_not_a_healthy_200(live):
    """The original answered 500 for a store that is down; we answered 200 with success
    true and status unreachable, which a client checking the status or success read as
    healthy."""
    from live_server import free_port

    policy = live.set_settings(health_allowed_networks=["127.0.0.0/8"]).address_policy()
    live.app.state.registry = StoreRegistry(live.registry._documents, address_policy=policy)
    entry = live.app.state.registry.register(
        {
            "asset_registry_name": "dead",
            "asset_registry_public_url": f"http://127.0.0.1:{free_port()}",
        }
    )
    answer = httpx.get(f"{live.url}/check_health/{entry.asset_registry_id}")
    assert answer.status_code == 503
    body = answer.json()
    assert body["success"] is False and body["data"]["status"] == "unreachable"
    assert "unreachable" in body["message"] and body["message"] == body["error"]
    from assetstore import open_registry

    with open_registry(live.url) as client:  # the Python client still gets the report
        assert client.check_health(entry.asset_registry_id).status == "unreachable"


def test_private_is_one_setting_for_cluster_networks():
    """AIOS clusters register stores at LAN addresses (192.168.0.106): one word allows the
    private ranges, and loopback, link-local and metadata addresses stay refused."""
    import ipaddress

    from assetstore.settings import ServiceSettings

    settings = ServiceSettings.from_env({"ASSETSTORE_HEALTH_ALLOWED_NETWORKS": "private"})
    policy = settings.address_policy()
    for allowed in ("192.168.0.106", "10.1.2.3", "172.16.0.9", "fd00::1"):
        assert policy.permits(ipaddress.ip_address(allowed)), allowed
    for refused in ("127.0.0.1", "169.254.169.254", "::1", "fe80::1", "100.64.0.1", "0.0.0.0"):
        assert not policy.permits(ipaddress.ip_address(refused)), refused
