"""Server-side request forgery through the registry: health checks (``GET /check_health``),
registration with its health check (``POST /asset_registry``) and federated search
(``POST /asset_registries/search``) all obey one address policy. Loopback and private
targets in every spelling, other schemes, redirects and names that resolve to loopback are
refused, and canary servers on loopback (IPv4 and IPv6) record no request."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from seckit import Canary, http_server

from assetstore._registry import StoreRegistry
from assetstore.errors import HealthCheckRefusedError

#: Spellings of this machine's loopback (and 0.0.0.0, which Linux connects to loopback):
#: the IPv4 canary listens on the port they name.
LOOPBACK_V4 = [
    "127.0.0.1",
    "127.1",
    "0x7f.1",
    "2130706433",
    "017700000001",
    "0177.0.0.1",
    "0x7f000001",
    "127.000.000.001",
    "127.255.255.254",
    "0.0.0.0",
    "0",
    "localhost",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:7f00:1]",
    "[::127.0.0.1]",
    "[::ffff:0:7f00:1]",
    "[64:ff9b::7f00:1]",
    "[64:ff9b:1::7f00:1]",
    "[2002:7f00:1::]",
    "user@127.0.0.1",
    "public.example@127.0.0.1",
    "\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3",  # circled letters: IDNA 'localhost'
]
#: IPv6 loopback and unspecified: the IPv6 canary listens on the port they name.
LOOPBACK_V6 = ["[::1]", "[0:0:0:0:0:0:0:1]", "[::]"]
#: Private, link-local (cloud metadata), shared, benchmarking, reserved, multicast...
PRIVATE = [
    "169.254.169.254",
    "[fd00:ec2::254]",
    "[::ffff:169.254.169.254]",
    "[::a9fe:a9fe]",
    "[64:ff9b::a9fe:a9fe]",
    "10.0.0.1",
    "10.255.255.254",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.0.1",
    "192.168.255.254",
    "100.64.0.1",
    "100.127.255.254",
    "198.18.0.1",
    "192.0.0.1",
    "192.0.2.1",
    "240.0.0.1",
    "255.255.255.255",
    "224.0.0.1",
    "[fe80::1]",
    "[fc00::1]",
    "[ff02::1]",
    "[::ffff:10.0.0.1]",
    "[2002:a00:1::]",
]
#: Spellings that httpx (the federated search's client) refuses to parse at all.
HTTPX_INVALID = {"0177.0.0.1", "127.000.000.001", LOOPBACK_V4[-1]}
OTHER_SCHEMES = [
    "file:///etc/passwd",
    "file://localhost/etc/passwd",
    "gopher://127.0.0.1:{port}/_GET%20/",
    "ftp://127.0.0.1:{port}/",
    "dict://127.0.0.1:{port}/info",
    "ldap://127.0.0.1:{port}/",
    "jar:http://127.0.0.1:{port}!/",
    "javascript://%0aalert(1)",
    "data:text/plain,x",
    "http:/127.0.0.1:{port}",
    "http:127.0.0.1:{port}",
    "//127.0.0.1:{port}",
    "netdoc:///etc/passwd",
    "ws://127.0.0.1:{port}/",
]


@pytest.fixture
def canary6() -> Iterator[Canary | None]:
    """A canary on ::1, where this machine has IPv6 loopback (None otherwise: the IPv6
    targets are then only checked for their 'refused' status)."""
    try:
        server = http_server("::1")
        running = server.__enter__()
    except OSError:
        yield None
        return
    try:
        yield running
    finally:
        server.__exit__(None, None, None)


def targets(canary: Canary, canary6: Canary | None) -> list[str]:
    port6 = canary6.port if canary6 else canary.port
    return (
        [f"http://{host}:{canary.port}" for host in LOOPBACK_V4]
        + [f"http://{host}:{port6}" for host in LOOPBACK_V6]
        + [f"http://{host}:{canary.port}/latest/meta-data" for host in PRIVATE]
        + [f"https://{host}:{canary.port}" for host in ("127.1", "[::1]", "10.0.0.1")]
    )


def silent(canary: Canary, canary6: Canary | None) -> None:
    assert canary.hits == []
    assert canary6 is None or canary6.hits == []


def register_raw(registry: StoreRegistry, registry_id: str, url: str) -> None:
    """An entry written straight into the registry's documents, bypassing validation (as a
    corrupted or hand-edited registry would hold it)."""
    registry._documents.insert(
        {
            "asset_registry_id": registry_id,
            "asset_registry_name": registry_id,
            "asset_registry_public_url": url,
            "asset_registry_metadata": {},
            "asset_registry_tags": [],
            "revision": 1,
            "created_at": "",
            "updated_at": "",
        }
    )


# --------------------------------------------------------------------------- the three paths
def test_check_health_refuses_every_spelling(live, http, canary, canary6):
    for index, url in enumerate(targets(canary, canary6)):
        created = http.post(
            f"{live.url}/asset_registry?check_health=false",
            json={
                "asset_registry_id": f"t{index}",
                "asset_registry_name": "target",
                "asset_registry_public_url": url,
            },
        )
        assert created.status_code == 201, (url, created.text)
        report = http.get(f"{live.url}/check_health/t{index}").json()["data"]
        assert report["status"] == "refused", (url, report)
        assert report["http_status"] is None
        if any(f"//{host}:" in url for host in HTTPX_INVALID):
            # the HTTP client (httpx) does not even parse these: never resolved
            assert report["error"].startswith("invalid URL"), (url, report)
        else:
            assert "non-public" in report["error"], (url, report)
    silent(canary, canary6)


def test_registration_health_check_refuses_every_spelling(live, http, canary, canary6):
    for url in targets(canary, canary6):
        response = http.post(
            f"{live.url}/asset_registry",
            json={"asset_registry_name": "target", "asset_registry_public_url": url},
        )
        assert response.status_code == 400, (url, response.text)
        assert "not healthy (refused" in response.json()["error"], url
    assert live.registry.query() == []
    silent(canary, canary6)


def test_federated_search_refuses_every_spelling(live, http, canary, canary6):
    urls = targets(canary, canary6)
    for index, url in enumerate(urls):
        live.registry.register(
            {
                "asset_registry_id": f"t{index}",
                "asset_registry_name": "t",
                "asset_registry_public_url": url,
            }
        )
    response = http.post(
        f"{live.url}/asset_registries/search", json={"filter": {"asset_tags": "x"}}
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["results"] == []
    statuses = {source["url"]: (source["status"], source["error"]) for source in data["sources"]}
    assert set(statuses) == set(urls)
    for url, (status, error) in statuses.items():
        if any(f"//{host}:" in url for host in HTTPX_INVALID):
            # the search's HTTP client (httpx) does not even parse these: never resolved
            assert status == "error" and error.startswith("InvalidURL"), (url, error)
        else:
            assert status == "refused", (url, status, error)
    silent(canary, canary6)


# --------------------------------------------------------------------------- other schemes
def test_other_schemes_are_refused_at_registration(live, http, canary):
    for template in OTHER_SCHEMES:
        url = template.format(port=canary.port)
        for params in ("", "?check_health=false"):
            response = http.post(
                f"{live.url}/asset_registry{params}",
                json={"asset_registry_name": "s", "asset_registry_public_url": url},
            )
            assert response.status_code == 400, (url, params, response.text)
    entry = live.registry.register(
        {
            "asset_registry_id": "ok",
            "asset_registry_name": "ok",
            "asset_registry_public_url": "https://example.com",
        }
    )
    for template in OTHER_SCHEMES:
        response = http.put(
            f"{live.url}/asset_registry/ok",
            json={"asset_registry_public_url": template.format(port=canary.port)},
        )
        assert response.status_code == 400, template
    assert live.registry.get("ok") == entry
    assert [e.asset_registry_id for e in live.registry.query()] == ["ok"]
    assert canary.hits == []


def test_other_schemes_already_in_the_registry_are_never_called(live, http, canary):
    """Defence in depth: entries with such URLs (written past the validation) are refused by
    the health check and by the federated search themselves."""
    urls = [template.format(port=canary.port) for template in OTHER_SCHEMES]
    urls += [f"HTTP://127.0.0.1:{canary.port}", f"Http://[::1]:{canary.port}"]
    for index, url in enumerate(urls):
        register_raw(live.registry, f"s{index}", url)
        report = http.get(f"{live.url}/check_health/s{index}").json()["data"]
        assert report["status"] == "refused", (url, report)
    data = http.post(f"{live.url}/asset_registries/search", json={"filter": {}}).json()["data"]
    assert {s["status"] for s in data["sources"]} == {"refused"}, data["sources"]
    assert canary.hits == []


# --------------------------------------------------------------------------- redirects
@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{port}/health",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
    ],
)
def test_redirects_are_never_followed(live, http, canary, location):
    """A store on an address the operator allowed (127.0.0.2) answers with a redirect to a
    forbidden one: neither the health check nor the federated search follows it."""
    settings = live.set_settings(health_allowed_networks=["127.0.0.2/32"])
    live.app.state.registry = StoreRegistry(
        live.registry._documents, address_policy=settings.address_policy()
    )
    with http_server("127.0.0.2", location=location.format(port=canary.port)) as redirector:
        url = f"http://127.0.0.2:{redirector.port}"
        live.app.state.registry.register(
            {
                "asset_registry_id": "redirector",
                "asset_registry_name": "r",
                "asset_registry_public_url": url,
            }
        )
        report = http.get(f"{live.url}/check_health/redirector").json()["data"]
        assert report["status"] == "unhealthy" and report["http_status"] == 302
        refused = http.post(
            f"{live.url}/asset_registry",
            json={"asset_registry_name": "again", "asset_registry_public_url": url},
        )
        assert refused.status_code == 400
        search = http.post(f"{live.url}/asset_registries/search", json={"filter": {}}).json()[
            "data"
        ]
        (source,) = search["sources"]
        assert source["status"] == "error" and "redirect" in source["error"]
        assert search["results"] == []
        assert len(redirector.hits) == 3  # each of the three calls went there, and no further
    assert canary.hits == []


# --------------------------------------------------------------------------- DNS
@pytest.fixture
def resolver(monkeypatch):
    """Names of our own, resolved in this process (the live server runs in it): each maps to
    a list of answers, one per lookup (the last repeats)."""
    answers: dict[str, list[list[str]]] = {}
    lookups: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in answers:
            return real(host, port, *args, **kwargs)
        lookups.append(name)
        queue = answers[name]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        result = []
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (
                (address, int(port or 0), 0, 0) if ":" in address else (address, int(port or 0))
            )
            result.append((family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
        return result

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, lookups


def test_names_that_resolve_to_loopback_are_refused(live, http, canary, resolver):
    answers, _ = resolver
    answers["internal.test"] = [["127.0.0.1"]]
    answers["mixed.test"] = [["10.0.0.7", "127.0.0.1", "169.254.169.254"]]
    answers["six.test"] = [["::1", "::ffff:127.0.0.1"]]
    for index, name in enumerate(("internal.test", "mixed.test", "six.test", "localhost")):
        url = f"http://{name}:{canary.port}"
        refused = http.post(
            f"{live.url}/asset_registry",
            json={"asset_registry_name": name, "asset_registry_public_url": url},
        )
        assert refused.status_code == 400 and "refused" in refused.json()["error"], name
        live.registry.register(
            {
                "asset_registry_id": f"n{index}",
                "asset_registry_name": name,
                "asset_registry_public_url": url,
            }
        )
        report = http.get(f"{live.url}/check_health/n{index}").json()["data"]
        assert report["status"] == "refused", (name, report)
    data = http.post(f"{live.url}/asset_registries/search", json={"filter": {}}).json()["data"]
    assert [s["status"] for s in data["sources"]] == ["refused"] * 4, data["sources"]
    assert canary.hits == []


def test_rebinding_the_name_after_the_check_does_not_help(live, http, canary, resolver):
    """The name resolves to an allowed address first and to loopback afterwards: the check
    resolves once and connects to the very address it checked."""
    answers, lookups = resolver
    settings = live.set_settings(health_allowed_networks=["127.0.0.2/32"])
    registry = StoreRegistry(live.registry._documents, address_policy=settings.address_policy())
    live.app.state.registry = registry
    with (
        http_server("127.0.0.2") as allowed,
        http_server("127.0.0.1", port=allowed.port) as local,  # where loopback would go
    ):
        answers["rebind.test"] = [["127.0.0.2"], ["127.0.0.1"]]
        registry.register(
            {
                "asset_registry_id": "rebind",
                "asset_registry_name": "r",
                "asset_registry_public_url": f"http://rebind.test:{allowed.port}",
            }
        )
        report = http.get(f"{live.url}/check_health/rebind").json()["report"]
        assert report["status"] == "healthy", report
        assert allowed.hits == ["/health"]
        assert lookups == ["rebind.test"]  # one lookup: the connection used its answer
        # every later lookup says loopback: refused, never connected
        report = http.get(f"{live.url}/check_health/rebind").json()["report"]
        assert report["status"] == "refused"
        assert allowed.hits == ["/health"]
        assert local.hits == []
    assert canary.hits == []


def test_policy_refuses_before_connecting(monkeypatch):
    """The library entry point: the refusal comes from the resolved address, before any
    socket is opened (so no canary can be hit, whatever listens there)."""
    from assetstore._outbound import AddressPolicy, connect_checked

    opened = []
    real_socket = socket.socket

    def spy(*args, **kwargs):
        opened.append(args)
        return real_socket(*args, **kwargs)

    monkeypatch.setattr(socket, "socket", spy)
    for host in ("127.1", "::ffff:7f00:1", "::7f00:1", "169.254.169.254", "64:ff9b:1::a9fe:a9fe"):
        with pytest.raises(HealthCheckRefusedError):
            connect_checked(host, 80, AddressPolicy(), 1.0)
    assert opened == []
