"""Finding 6: cross-site writes and DNS rebinding against the default server.

The default server listens on 127.0.0.1 without a token, so a web page in the operator's
browser is the attacker. It once accepted, from a foreign ``Origin`` and with no preflight,
``text/plain`` JSON to ``POST /asset`` and ``POST /asset_registry``, an HTML form upload
and ``POST /admin/gc?older_than=0``; and it answered any ``Host`` (what a rebinding page
sends). The specification's cURL commands (no Origin; the upload a plain multipart POST)
must keep working: see ``tests/http/test_spec_curl.py`` and the last tests here."""

from __future__ import annotations

import json
import os
import time

import httpx
import pytest
from seckit import BOUNDARY, end, part, staging

EVIL = "http://evil.example"
META = {"asset_name": "csrf", "asset_version": {"version": "1", "tag": "a"}}
FORM = part("asset_metadata", json.dumps(META).encode()) + part(
    "asset", b"payload", filename=b"x.bin"
)
FORM_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
EXTERNAL = json.dumps({**META, "asset_public_url": "https://example.com/x"})
ENTRY = json.dumps({"asset_registry_name": "csrf", "asset_registry_public_url": "https://e.x"})


def old_orphan(live) -> os.PathLike[str]:
    """A file in the store no record refers to, older than any grace period: what a
    successful ``gc?older_than=0`` would remove."""
    path = live.root / "store" / "objects" / "ab" / ("ab" + "0" * 30)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"orphan")
    old = time.time() - 86400
    os.utime(path, (old, old))
    return path


def nothing_changed(live) -> None:
    assert live.store.count() == 0
    assert live.registry.query() == []
    assert staging(live.root / "store") == []


# (method, path, body, content type) of the writes a page can send without a preflight
SIMPLE_WRITES = {
    "text-plain-asset": ("POST", "/asset", EXTERNAL, "text/plain"),
    "text-plain-registry": ("POST", "/asset_registry?check_health=false", ENTRY, "text/plain"),
    "urlencoded-asset": ("POST", "/asset", EXTERNAL, "application/x-www-form-urlencoded"),
    "form-upload": ("POST", "/upload_asset", FORM + end(), FORM_TYPE),
    "gc": ("POST", "/admin/gc?older_than=0", b"", None),
    "gc-text-plain": ("POST", "/admin/gc?older_than=0", b"", "text/plain"),
}


@pytest.mark.parametrize("case", sorted(SIMPLE_WRITES))
@pytest.mark.parametrize(
    "browser",
    [
        {"Origin": EVIL},
        {"Origin": "null"},
        {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://127.0.0.1.evil.example"},
    ],
    ids=["origin", "null-origin", "origin-and-fetch-site", "fetch-site-only", "lookalike"],
)
def test_writes_a_foreign_page_can_send_are_refused(live, case, browser):
    orphan = old_orphan(live)
    method, path, body, content_type = SIMPLE_WRITES[case]
    headers = {**browser, **({"Content-Type": content_type} if content_type else {})}
    response = httpx.request(method, f"{live.url}{path}", content=body, headers=headers)
    assert response.status_code == 403, response.text
    assert response.json()["error_type"] == "CrossSiteRequestError"
    nothing_changed(live)
    assert orphan.exists()


@pytest.mark.parametrize(
    "case", ["text-plain-asset", "text-plain-registry", "urlencoded-asset", "gc", "gc-text-plain"]
)
def test_tokenless_writes_must_not_be_bare_forms(live, case):
    """Without any browser header at all: a write POST that a page could have sent as a
    form (simple content type, no token, no X-Requested-With) is still refused."""
    orphan = old_orphan(live)
    method, path, body, content_type = SIMPLE_WRITES[case]
    headers = {"Content-Type": content_type} if content_type else {}
    response = httpx.request(method, f"{live.url}{path}", content=body, headers=headers)
    assert response.status_code == 403, response.text
    assert "Content-Type: application/json" in response.json()["error"]
    nothing_changed(live)
    assert orphan.exists()


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:80", "127.0.0.1.nip.io", "localhost.evil.example", "a b", ""],
)
def test_a_foreign_host_is_refused_before_any_route(live, host):
    """A DNS-rebinding page's requests name the attacker's host: refused, reads included."""
    asset = live.store.upload(b"x", name="a", version="1", tag="t")
    for method, path in (
        ("GET", "/health"),
        ("GET", f"/asset/{asset.asset_uri}"),
        ("GET", f"/asset-object/{asset.asset_id}"),
        ("POST", "/assets"),
    ):
        response = httpx.request(method, f"{live.url}{path}", headers={"Host": host}, json={})
        assert response.status_code in (400, 403), (host, path, response.text)
        assert asset.asset_id not in response.text


def test_the_names_the_service_is_known_by_are_answered(live):
    port = live.url.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST", "[::1]", "127.0.0.2"):
        response = httpx.get(f"{live.url}/health", headers={"Host": host})
        assert response.status_code == 200, (host, response.text)
    live.set_settings(public_url="https://assets.example.com", allowed_hosts=[".corp.example"])
    for host in ("assets.example.com", "assets.corp.example", "corp.example:8000"):
        assert httpx.get(f"{live.url}/health", headers={"Host": host}).status_code == 200, host
    for host in ("example.com", "evilcorp.example", "assets.example.com.evil.example"):
        assert httpx.get(f"{live.url}/health", headers={"Host": host}).status_code == 403, host


def test_the_specifications_requests_still_work(live):
    """No Origin (curl, scripts): the multipart upload, JSON writes, PUT and DELETE."""
    upload = httpx.post(
        f"{live.url}/upload_asset", content=FORM + end(), headers={"Content-Type": FORM_TYPE}
    )
    assert upload.status_code == 201, upload.text
    uri = upload.json()["asset_uri"]
    external = httpx.post(
        f"{live.url}/asset",
        content=EXTERNAL.replace("csrf", "ext"),
        headers={"Content-Type": "application/json"},
    )
    assert external.status_code == 201, external.text
    updated = httpx.put(
        f"{live.url}/asset/{uri}",
        json={"asset_tags": ["updated"]},
    )
    assert updated.status_code == 200, updated.text
    gc = httpx.post(f"{live.url}/admin/gc", headers={"Content-Type": "application/json"})
    assert gc.status_code == 200, gc.text
    assert httpx.delete(f"{live.url}/asset/{uri}").status_code == 200


def test_the_services_own_pages_and_cors_origins_may_write(live):
    """A same-origin page (the /docs UI), and with --cors-origin the listed origin."""
    own = live.url
    response = httpx.post(
        f"{live.url}/asset",
        content=EXTERNAL,
        headers={
            "Origin": own,
            "Content-Type": "application/json",
            "Sec-Fetch-Site": "same-origin",
        },
    )
    assert response.status_code == 201, response.text
    live.set_settings(cors_origins=["https://app.example"])
    response = httpx.post(
        f"{live.url}/upload_asset",
        content=FORM.replace(b'"csrf"', b'"cors"') + end(),
        headers={"Origin": "https://app.example", "Content-Type": FORM_TYPE},
    )
    assert response.status_code == 201, response.text
    refused = httpx.post(
        f"{live.url}/upload_asset",
        content=FORM.replace(b'"csrf"', b'"other"') + end(),
        headers={"Origin": "https://other.example", "Content-Type": FORM_TYPE},
    )
    assert refused.status_code == 403


def test_a_foreign_page_may_get_but_not_post_queries(live):
    """GET from any page is harmless (without CORS it cannot read the answer); a POST query
    or federated search from a foreign page is refused too: it would spend the server's
    CPU, or make it call the registered stores, for someone else."""
    asset = live.store.upload(b"x", name="a", version="1", tag="t")
    got = httpx.get(f"{live.url}/asset/{asset.asset_uri}", headers={"Origin": EVIL})
    assert got.status_code == 200
    for path in ("/assets", "/asset_registries", "/asset_registries/search"):
        response = httpx.post(f"{live.url}{path}", json={}, headers={"Origin": EVIL})
        assert response.status_code == 403, (path, response.text)
