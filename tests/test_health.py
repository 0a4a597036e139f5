"""Health checks call only public addresses (unless allowed), never follow redirects, and
give up quickly."""

import http.server
import ipaddress
import socket
import threading

import pytest

from assetstore._health import check_store_health
from assetstore._outbound import AddressPolicy, CallLimits, is_public


def check_url(registry_id, url, policy, **limits):
    """One health check of ``url`` under ``policy``, with ``limits`` (CallLimits fields)."""
    return check_store_health(registry_id, url, policy, CallLimits(**limits))


LOOPBACK_AND_PRIVATE = [
    "127.0.0.1",
    "127.1.2.3",
    "0.0.0.0",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fd00::1",
    "fd00:ec2::254",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "64:ff9b::7f00:1",
    "2002:7f00:1::",
    "ff02::1",
]


@pytest.mark.parametrize("address", LOOPBACK_AND_PRIVATE)
def test_non_public_addresses(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses(address):
    assert is_public(ipaddress.ip_address(address))


class Canary(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012 - shared on purpose, one server per test
    behaviour = "ok"

    def do_GET(self):
        Canary.hits.append(self.path)
        if Canary.behaviour == "redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/health")
            self.end_headers()
            return
        body = b'{"success": true, "message": "healthy"}'
        if Canary.behaviour == "huge":
            body = b'{"padding": "' + b"x" * 200_000 + b'"}'
        self.send_response(200 if Canary.behaviour != "error" else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def canary():
    Canary.hits = []
    Canary.behaviour = "ok"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Canary)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.1", "localhost", "[::ffff:127.0.0.1]", "0x7f.1", "2130706433"]
)
def test_loopback_in_any_spelling_is_refused_and_never_called(canary, host):
    report = check_url("r1", f"http://{host}:{canary}", AddressPolicy())
    assert report.status in ("refused", "unreachable")
    if report.status == "unreachable":  # a spelling this resolver does not accept at all
        assert "resolve" in (report.error or "")
    assert Canary.hits == []


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "gopher://127.0.0.1:70/", "ftp://example.com/"]
)
def test_other_schemes_are_refused(url):
    assert check_url("r1", url, AddressPolicy()).status == "refused"


def test_allowed_private_target_reports_health(canary):
    report = check_url("r1", f"http://127.0.0.1:{canary}/", AddressPolicy(allow_private=True))
    assert report.status == "healthy"
    assert report.http_status == 200
    assert report.response == {"success": True, "message": "healthy"}
    assert report.latency_ms is not None
    assert Canary.hits == ["/health"]


def test_allowed_networks(canary):
    policy = AddressPolicy(allowed_networks=("127.0.0.0/8",))
    assert check_url("r1", f"http://127.0.0.1:{canary}", policy).status == "healthy"
    policy = AddressPolicy(allowed_networks=("10.0.0.0/8",))
    assert check_url("r1", f"http://127.0.0.1:{canary}", policy).status == "refused"


def test_redirects_are_not_followed(canary):
    Canary.behaviour = "redirect"
    report = check_url("r1", f"http://127.0.0.1:{canary}", AddressPolicy(allow_private=True))
    assert report.status == "unhealthy"
    assert "redirect" in report.error
    assert Canary.hits == ["/health"]


def test_unhealthy_and_capped_answers(canary):
    policy = AddressPolicy(allow_private=True)
    Canary.behaviour = "error"
    assert check_url("r1", f"http://127.0.0.1:{canary}", policy).status == "unhealthy"
    Canary.behaviour = "huge"
    report = check_url("r1", f"http://127.0.0.1:{canary}", policy, max_body=1000)
    assert isinstance(report.response, str) and len(report.response) == 1000


def test_a_silent_server_times_out_quickly():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        policy = AddressPolicy(allow_private=True)
        report = check_url(
            "r1",
            f"http://127.0.0.1:{listener.getsockname()[1]}",
            policy,
            connect_timeout=0.3,
            total_timeout=0.5,
        )
    finally:
        listener.close()
    assert report.status == "unreachable"
    assert report.latency_ms < 2000


def test_nothing_listening_is_unreachable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    report = check_url("r1", f"http://127.0.0.1:{port}", AddressPolicy(allow_private=True))
    assert report.status == "unreachable"
