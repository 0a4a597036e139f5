"""Also fixed: health reports and federated-search sources showed anonymous readers what
registered host names resolve to. Internal DNS answers are not theirs to read: no report
names an address the registered URL does not spell out, and under the default policy a
name that resolves to a private address reads exactly like a name that does not resolve."""

from __future__ import annotations

import socket

import pytest

from assetstore import open_registry
from assetstore._outbound import AddressPolicy, CallLimits, redact_addresses

ADDRESSES = ("127.0.0.1", "::1", "0:0:0:0:0:0:0:1", "10.", "169.254.")


def shows_no_address(text: str | None) -> bool:
    return not any(address in (text or "") for address in ADDRESSES)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def registry(tmp_path):
    with open_registry(tmp_path / "registry") as registry:
        registry.health_limits = CallLimits(total_timeout=2)  # type: ignore[attr-defined]
        registry.federation_limits = CallLimits(total_timeout=2)  # type: ignore[attr-defined]
        yield registry


def register(registry, *urls: str) -> list[str]:
    return [
        registry.register(
            {"asset_registry_name": f"n{index}", "asset_registry_public_url": url}
        ).asset_registry_id
        for index, url in enumerate(urls)
    ]


def test_private_and_missing_names_read_the_same(registry):
    private, missing = register(
        registry, "http://localhost:8000", "http://no-such-name.invalid:8000"
    )
    reports = [registry.check_health(entry) for entry in (private, missing)]
    assert [r.status for r in reports] == ["refused", "refused"]
    first, second = (r.error or "" for r in reports)
    assert first.replace("'localhost'", "X") == second.replace("'no-such-name.invalid'", "X")
    sources = registry.search_assets({}).sources
    assert {s.status for s in sources} == {"refused"}
    errors = {s.asset_registry_id: s.error or "" for s in sources}
    assert errors[private].replace("'localhost'", "X") == errors[missing].replace(
        "'no-such-name.invalid'", "X"
    )
    assert all(shows_no_address(r.error) for r in reports)


def test_unreachable_reports_name_no_resolved_address(registry, monkeypatch):
    """Whatever a lower layer puts in its error (here a connect error naming the address
    it tried, as some platforms and libraries do), the report does not show it."""
    registry.address_policy = AddressPolicy(allow_private=True)  # type: ignore[attr-defined]
    real_connect = socket.socket.connect

    def chatty_connect(self, address):
        try:
            return real_connect(self, address)
        except OSError as exc:
            raise OSError(exc.errno, f"connect to {address[0]} port {address[1]} failed") from exc

    monkeypatch.setattr(socket.socket, "connect", chatty_connect)
    (entry,) = register(registry, f"http://localhost:{closed_port()}")
    report = registry.check_health(entry)
    assert report.status == "unreachable"
    assert "<address>" in (report.error or "") and shows_no_address(report.error), report.error
    (source,) = registry.search_assets({}).sources
    assert source.status == "error" and shows_no_address(source.error), source.error


def test_addresses_written_in_the_url_stay():
    message = "cannot reach http://10.1.2.3:80: connect to 10.1.2.3 (via 10.9.9.9) failed"
    assert redact_addresses(message, "http://10.1.2.3:80") == (
        "cannot reach http://10.1.2.3:80: connect to 10.1.2.3 (via <address>) failed"
    )
    assert redact_addresses("to [::1]:8000 and fe80::1%eth0", "http://name") == (
        "to [<address>]:8000 and <address>"
    )
    assert redact_addresses("version 1.2.3 at 12:30:45", "http://name") == (
        "version 1.2.3 at 12:30:45"
    )
