"""Finding 11 and the scheme allow-list: URLs users give.

``"http://[::1"`` in ``asset_registry_public_url`` or ``asset_public_url`` raised
``ValueError`` inside ``urlsplit``: a 500 and a traceback in the log. And an external
asset's URL could use any scheme with a host: ``javascript:``, ``file://localhost/etc/passwd``.
Now a URL that does not parse is a 400 like any bad value, and external asset URLs are
limited to the schemes clients download from (``ASSET_URL_SCHEMES``)."""

from __future__ import annotations

import logging

import httpx
import pytest

from assetstore import open_store
from assetstore._validation import ASSET_URL_SCHEMES
from assetstore.errors import InvalidInputError

MALFORMED = [
    "http://[::1",
    "http://[::1]:port/",
    "https://host:99999999999/",
    "http://[not-an-address]/",
    "http://a]b/",
]
FOREIGN_SCHEMES = [
    "javascript://%0aalert(1)",
    "file://localhost/etc/passwd",
    "file:///etc/passwd",
    "data://text/html,<script>",
    "vbscript://x/y",
    "ftp://example.com/x",
    "gopher://example.com/x",
]


def external(url: str) -> dict[str, object]:
    return {
        "asset_name": "ext",
        "asset_version": {"version": "1", "tag": "a"},
        "asset_public_url": url,
    }


@pytest.mark.parametrize("url", MALFORMED)
def test_malformed_urls_are_a_400_everywhere(live, caplog, url):
    caplog.set_level(logging.ERROR)
    writes = [
        ("POST", "/asset", external(url)),
        (
            "POST",
            "/asset_registry?check_health=false",
            {"asset_registry_name": "r", "asset_registry_public_url": url},
        ),
    ]
    live.store.register(external("https://example.com/x") | {"asset_name": "fixed"})
    live.registry.register(
        {
            "asset_registry_id": "r1",
            "asset_registry_name": "r",
            "asset_registry_public_url": "https://example.com",
        }
    )
    writes += [
        ("PUT", "/asset/fixed:1-a", {"asset_public_url": url}),
        ("PUT", "/asset_registry/r1", {"asset_registry_public_url": url}),
    ]
    for method, path, body in writes:
        response = httpx.request(method, f"{live.url}{path}", json=body)
        assert response.status_code == 400, (method, path, response.text)
        assert response.json()["error_type"] == "InvalidInputError"
    assert "Traceback" not in caplog.text and "unexpected error" not in caplog.text


@pytest.mark.parametrize("url", FOREIGN_SCHEMES)
def test_external_urls_only_on_allowed_schemes(tmp_path, url):
    with open_store(tmp_path / "s") as store:
        with pytest.raises(
            InvalidInputError, match=r"must use one of the schemes|not an absolute URL"
        ):
            store.register(external(url))
        fixed = store.register(external("https://example.com/x") | {"asset_name": "fixed"})
        with pytest.raises(
            InvalidInputError, match=r"must use one of the schemes|not an absolute URL"
        ):
            store.update(fixed.asset_uri, {"asset_public_url": url})
        assert store.get(fixed.asset_uri).asset_public_url == "https://example.com/x"


@pytest.mark.parametrize("scheme", ASSET_URL_SCHEMES)
def test_the_allowed_schemes_are_accepted(tmp_path, scheme):
    with open_store(tmp_path / "s") as store:
        asset = store.register(external(f"{scheme}://bucket.example/models/m.bin"))
        assert asset.asset_public_url.startswith(f"{scheme}://")
