"""Findings 3 and 4: registered stores that drip, flood or hang.

* A store dripping its response headers one byte at a time held ``GET /check_health`` for
  45 s although ``health_total_timeout`` was 5 s, and 45 such calls stopped ``/health``
  and ``GET /asset/...`` from answering.
* A federated search read a 200 MB answer whole (the server grew by 670 MiB), and left its
  connections to a dripping store open long after it had answered.

Now one deadline covers each whole call, answers are capped, connections are closed when a
call ends, and calls to registered stores run a bounded number at a time."""

from __future__ import annotations

import concurrent.futures

import httpx
import pytest
from seckit import Dripper, Flood, MiB, wait_until

from assetstore._outbound import AddressPolicy, CallLimits
from assetstore.http._admission import OUTBOUND, QUERIES, kind_of


@pytest.fixture
def dripper():
    with Dripper(interval=0.2) as peer:
        yield peer


def allow_loopback(live, **limits: float) -> None:
    """Let the live server's registry and search reach 127.0.0.1, within short limits."""
    total = limits.get("total", 1.0)
    live.set_settings(
        allow_private_health_checks=True,
        health_total_timeout=total,
        federation_timeout=total,
        **{k: v for k, v in limits.items() if k != "total"},
    )
    live.registry.address_policy = AddressPolicy(allow_private=True)  # type: ignore[attr-defined]
    live.registry.health_limits = CallLimits(total_timeout=total)  # type: ignore[attr-defined]


def register(live, url: str, count: int = 1) -> list[str]:
    ids = []
    for index in range(count):
        entry = live.registry.register(
            {"asset_registry_name": f"peer{index}", "asset_registry_public_url": url}
        )
        ids.append(entry.asset_registry_id)
    return ids


def test_a_dripping_health_check_ends_at_its_deadline_and_closes(live, dripper):
    allow_loopback(live, total=1.0)
    (entry,) = register(live, dripper.url)
    # The client waits far longer than the deadline: the answer comes from the server.
    report = httpx.get(f"{live.url}/check_health/{entry}", timeout=20).json()["data"]
    assert report["status"] == "unreachable", report
    assert "in time" in report["error"]
    assert dripper.accepted == 1
    assert wait_until(lambda: dripper.open == 0, 5), "the connection was left open"


def test_a_dripping_store_ends_a_search_at_its_deadline_and_closes(live, dripper):
    allow_loopback(live, total=1.0)
    register(live, dripper.url, count=8)
    answer = httpx.post(f"{live.url}/asset_registries/search", json={"filter": {}}, timeout=20)
    assert answer.status_code == 200, answer.text
    sources = answer.json()["data"]["sources"]
    assert [s["status"] for s in sources] == ["error"] * 8
    assert all("in time" in s["error"] for s in sources), sources
    assert dripper.accepted >= 8
    assert wait_until(lambda: dripper.open == 0, 5), f"{dripper.open} connections left open"


@pytest.mark.parametrize("declare", [True, False], ids=["declared", "undeclared"])
def test_a_huge_answer_is_cut_at_the_cap(live, declare):
    """A store answering 256 MiB: the search reads at most ``federation_max_bytes`` of it
    (declared too long: nothing at all), reports the store, and closes the connection."""
    allow_loopback(live, total=10.0, federation_max_bytes=1 * MiB)
    with Flood(256 * MiB, declare=declare) as flood:
        register(live, flood.url)
        answer = httpx.post(f"{live.url}/asset_registries/search", json={"filter": {}}, timeout=60)
        assert answer.status_code == 200, answer.text
        (source,) = answer.json()["data"]["sources"]
        assert source["status"] == "error" and "limit" in source["error"], source
        assert wait_until(lambda: len(flood.sent) >= 1, 10)
        # What the peer managed to push: the capped read plus what the socket buffers took.
        assert max(flood.sent) < 32 * MiB, flood.sent


def test_health_and_reads_answer_while_45_checks_drip(live, dripper):
    """45 health checks of dripping stores at once: at most ``outbound_workers`` run, the
    others wait their turn without a thread (or get a 503 with Retry-After); /health and
    GET /asset answer meanwhile, before the checks are over."""
    allow_loopback(live, total=2.0, outbound_workers=4, queue_timeout=3)
    entries = register(live, dripper.url, count=45)
    asset = live.store.upload(b"x", name="plain", version="1", tag="a")
    with concurrent.futures.ThreadPoolExecutor(45) as pool:
        checks = [
            pool.submit(httpx.get, f"{live.url}/check_health/{entry}", timeout=60)
            for entry in entries
        ]
        health = httpx.get(f"{live.url}/health", timeout=2)
        read = httpx.get(f"{live.url}/asset/{asset.asset_uri}", timeout=2)
        in_flight = sum(not check.done() for check in checks)
        answers = [check.result() for check in checks]
    assert health.status_code == 200 and read.status_code == 200
    assert in_flight > 0, "the checks ended before the probes: it proves nothing"
    checked = 0
    for answer in answers:
        assert answer.status_code == 503, answer.text  # busy, or a store that is not healthy
        if answer.json()["error_type"] == "ServiceBusyError":
            assert int(answer.headers["Retry-After"]) >= 1
        else:
            assert answer.json()["report"]["status"] == "unreachable", answer.text
            checked += 1
    assert checked > 0
    assert wait_until(lambda: dripper.open == 0, 5), f"{dripper.open} connections left open"


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("POST", "/assets", QUERIES),
        ("POST", "/assets/export", QUERIES),
        ("POST", "/asset_registries", QUERIES),
        ("GET", "/ui", QUERIES),
        ("GET", "/ui/registry", QUERIES),
        ("GET", "/check_health/x", OUTBOUND),
        ("POST", "/asset_registries/search", OUTBOUND),
        ("POST", "/asset_registry", OUTBOUND),
        ("GET", "/ui/registry/health/x", OUTBOUND),
        ("GET", "/ui/registry/search", OUTBOUND),
        ("GET", "/health", None),
        ("GET", "/asset/a:1-b", None),
        ("POST", "/upload_asset", None),
        ("GET", "/ui/asset/a:1-b", None),
    ],
)
def test_every_route_that_does_long_work_has_a_gate(method, path, kind):
    assert kind_of(method, path) == kind


def test_the_web_interface_shares_the_outbound_gate(live, dripper):
    """With one outbound worker busy on a dripping store, the web interface's health check
    of the same store waits its turn like the API's, and is told to retry."""
    allow_loopback(live, total=3.0, outbound_workers=1, queue_timeout=0.5)
    (entry,) = register(live, dripper.url)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        busy = pool.submit(httpx.get, f"{live.url}/check_health/{entry}", timeout=30)
        assert wait_until(lambda: dripper.accepted == 1, 5)
        page = httpx.get(f"{live.url}/ui/registry/health/{entry}", timeout=30)
        assert busy.result().status_code == 503
    assert page.status_code == 503, page.text
    assert page.json()["error_type"] == "ServiceBusyError"
