"""Every write without the right token: 401 and nothing changed, whatever near-miss is sent;
reads stay open; the token is never in an error body nor in the server's log; foreign origins
get no CORS permission.

A token "with a trailing space" cannot be told apart over HTTP: the spaces and tabs around a
header value are not part of it (RFC 9110, 5.5) and the server's HTTP parser drops them, so
``Bearer <token> `` *is* the token. What can differ is other whitespace (NBSP, NEL...), which
``str.strip()`` used to drop as well: such tokens were accepted before the fix."""

from __future__ import annotations

import base64
import json
import logging
import os
import time

import pytest
from live_server import serve_app
from seckit import BOUNDARY, TOKEN, form, part, send

from assetstore import open_store
from assetstore._store import blob_key
from assetstore.http.app import create_app
from assetstore.settings import ServiceSettings

META = json.dumps({"asset_name": "new", "asset_version": {"version": "1", "tag": "a"}}).encode()
UPLOAD = form(part("asset_metadata", META), part("asset", b"new file", filename=b"n.bin"))
JSON = [("Content-Type", "application/json")]

#: (method, path, body, headers): every write of the service, each one aimed at real data.
WRITES = [
    (
        "POST",
        "/upload_asset",
        UPLOAD,
        [("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")],
    ),
    ("PUT", "/asset/m:1.0-a", b'{"asset_tags": ["pwned"]}', JSON),
    ("DELETE", "/asset/m:1.0-a", b"", []),
    (
        "POST",
        "/asset",
        json.dumps(
            {
                "asset_name": "ext",
                "asset_version": {"version": "1", "tag": "a"},
                "asset_public_url": "https://evil.example/x",
            }
        ).encode(),
        JSON,
    ),
    (
        "POST",
        "/asset_registry?check_health=false",
        json.dumps(
            {"asset_registry_name": "evil", "asset_registry_public_url": "https://evil.example"}
        ).encode(),
        JSON,
    ),
    ("PUT", "/asset_registry/r1", b'{"asset_registry_tags": ["pwned"]}', JSON),
    ("DELETE", "/asset_registry/r1", b"", []),
    ("POST", "/admin/gc?older_than=0", b"", []),
    ("POST", "/admin/fsck", b"", []),
]

NEAR_MISSES = {
    "none": None,
    "empty": "",
    "scheme only": "Bearer",
    "scheme and space": "Bearer ",
    "wrong": "Bearer wrong",
    "upper case": f"Bearer {TOKEN.upper()}",
    "one character short": f"Bearer {TOKEN[:-1]}",
    "one character more": f"Bearer {TOKEN}x",
    "NBSP after": f"Bearer {TOKEN}\xa0",
    "NEL after": f"Bearer {TOKEN}\x85",
    "NBSP before": f"Bearer \xa0{TOKEN}",
    "twice": f"Bearer {TOKEN} {TOKEN}",
    "comma list": f"Bearer {TOKEN},{TOKEN}",
    "no space": f"Bearer{TOKEN}",
    "tab instead of space": f"Bearer\t{TOKEN}",
    "other scheme": f"Token {TOKEN}",
    "basic": "Basic " + base64.b64encode(f"admin:{TOKEN}".encode()).decode(),
    "8 KiB": "Bearer " + "A" * 8192,
    "token repeated to 8 KiB": "Bearer " + TOKEN * (8192 // len(TOKEN)),
}


@pytest.fixture
def guarded(live):
    """The live server with a token, an uploaded asset, a registry entry and an orphan blob
    old enough for ``gc(older_than=0)``: what an unauthorised write could damage."""
    live.set_settings(token=TOKEN)
    live.store.upload(b"original", name="m", version="1.0", tag="a")
    live.registry.register(
        {
            "asset_registry_id": "r1",
            "asset_registry_name": "r",
            "asset_registry_public_url": "https://example.com",
        }
    )
    orphan = live.root / "store" / blob_key("ab" + "0" * 30)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"orphan")
    os.utime(orphan, (time.time() - 86400, time.time() - 86400))
    return live, orphan


def assert_unchanged(live, orphan) -> None:
    assert live.store.count() == 1
    asset = live.store.get("m:1.0-a")
    assert (asset.revision, asset.asset_tags) == (1, [])
    assert live.store.read_bytes("m:1.0-a") == b"original"
    entries = live.registry.query()
    assert [(e.asset_registry_id, e.revision, e.asset_registry_tags) for e in entries] == [
        ("r1", 1, [])
    ]
    assert orphan.read_bytes() == b"orphan"


@pytest.mark.parametrize("variant", NEAR_MISSES)
def test_every_write_refuses_near_miss_tokens(guarded, variant, caplog):
    live, orphan = guarded
    authorization = NEAR_MISSES[variant]
    with caplog.at_level(logging.DEBUG):
        for method, path, body, headers in WRITES:
            extra = [] if authorization is None else [("Authorization", authorization)]
            response = send(live.url, method, path, body, headers + extra)
            assert response.status == 401, (variant, method, path, response.body[:200])
            assert response.header("www-authenticate") == 'Bearer realm="assetstore"'
            error = json.loads(response.body)
            assert error["error_type"] == "AuthenticationError"
            assert TOKEN.encode() not in response.body
            credential = (authorization or "").partition(" ")[2].strip()
            if len(credential) >= 8:  # what was sent is not echoed either
                assert credential.encode("latin-1") not in response.body
    assert_unchanged(live, orphan)
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    "where",
    [
        ("?token=", []),
        ("?access_token=", []),
        ("", [("X-Api-Key", TOKEN)]),
        ("", [("Cookie", f"token={TOKEN}")]),
        ("", [("X-Authorization", f"Bearer {TOKEN}")]),
    ],
)
def test_the_token_is_only_taken_from_the_authorization_header(guarded, where):
    live, orphan = guarded
    query, headers = where
    for method, path, body, base in WRITES:
        separator = "&" if "?" in path else "?"
        url_path = path + (separator + query[1:] + TOKEN if query else "")
        response = send(live.url, method, url_path, body, base + headers)
        assert response.status == 401, (method, url_path)
    assert_unchanged(live, orphan)


def test_blanks_around_the_header_value_are_not_part_of_the_token(guarded):
    """RFC 9110 5.5: the field value excludes leading and trailing SP/HTAB, so these are the
    token itself and are accepted (on a harmless write, fsck)."""
    live, orphan = guarded
    for value in (f"Bearer {TOKEN} ", f"Bearer {TOKEN}\t", f"Bearer  {TOKEN}", f"bearer {TOKEN}"):
        response = send(live.url, "POST", "/admin/fsck", b"", [("Authorization", value)])
        assert response.status == 200, (value, response.body)
    assert_unchanged(live, orphan)


def test_an_oversized_authorization_header_is_refused_before_the_app(guarded):
    live, orphan = guarded
    for size in (300_000, 2_000_000):
        response = send(
            live.url,
            "DELETE",
            "/asset/m:1.0-a",
            b"",
            [("Authorization", "Bearer " + "A" * size)],
            timeout=10,
        )
        assert response.status in (0, 400, 431), response.status  # 0: closed, no answer
    assert send(live.url, "GET", "/health").status == 200
    assert_unchanged(live, orphan)


def test_reads_stay_open_with_a_token(guarded):
    live, _ = guarded
    asset = live.store.get("m:1.0-a")
    for method, path, body in (
        ("GET", "/asset/m:1.0-a", b""),
        ("POST", "/assets", b"{}"),
        ("GET", f"/asset-object/{asset.asset_id}", b""),
        ("GET", "/resolve/m", b""),
        ("GET", "/asset_registry/r1", b""),
        ("POST", "/asset_registries", b"{}"),
        ("GET", "/health", b""),
    ):
        for authorization in ([], [("Authorization", "Bearer wrong")]):
            response = send(live.url, method, path, body, JSON + authorization)
            assert response.status == 200, (method, path)


def test_token_never_in_the_real_servers_log_or_answers(secure_server):
    """Against ``assetstore serve`` with ``ASSETSTORE_TOKEN`` and debug logging: near-miss
    tokens on every write, a good one on some, and errors of every kind; then the log file
    (which does record these requests) holds neither the token nor the near misses."""
    url = secure_server.url
    near = [TOKEN.upper(), TOKEN[:-1] + "Z", TOKEN + "\xa0"]
    bodies = []
    for method, path, body, headers in WRITES:
        for wrong in near:
            response = send(
                url,
                method,
                path.replace("r1", "none"),
                body,
                [*headers, ("Authorization", f"Bearer {wrong}")],
            )
            assert response.status == 401
            bodies.append(response.body)
        good = send(
            url,
            method,
            path.replace("r1", "none").replace("m:1.0-a", "none:1-a"),
            body,
            [*headers, ("Authorization", f"Bearer {TOKEN}")],
        )
        assert good.status in (200, 201, 404, 409), (method, path, good.body)
        bodies.append(good.body)
    bodies.append(send(url, "POST", "/assets", b"{not json", JSON).body)
    bodies.append(send(url, "GET", "/asset/none:1-a").body)
    time.sleep(0.3)  # let the server flush its log
    log = (secure_server.workdir / "server.log").read_bytes()
    assert b'"DELETE /asset/m%3A1.0-a HTTP/1.1" 401' in log or b"DELETE /asset/m:1.0-a" in log
    for secret in [TOKEN, *near]:
        encoded = secret.encode("latin-1")
        assert encoded not in log and secret.encode() not in log, secret
        assert all(encoded not in body for body in bodies), secret


# --------------------------------------------------------------------------- CORS
FOREIGN_ORIGINS = [
    "https://evil.example",
    "null",
    "https://app.example.evil.com",
    "https://evil.app.example",
    "https://app.example.",
    "HTTPS://APP.EXAMPLE",
    "http://app.example",
    "https://app.example:8443",
    "https://app.example/",
    "https://app.examplex",
    "*",
]


def _cors_headers(response) -> dict[str, str]:
    return {k: v for k, v in response.headers if k.startswith("access-control-")}


def _requests(url: str, origin: str) -> list:
    origin_header = [("Origin", origin)]
    preflight = [
        *origin_header,
        ("Access-Control-Request-Method", "DELETE"),
        ("Access-Control-Request-Headers", "authorization"),
    ]
    return [
        send(url, "GET", "/health", b"", origin_header),
        send(url, "GET", "/asset/m:1-a", b"", origin_header),
        send(url, "POST", "/assets", b"{}", JSON + origin_header),
        send(url, "DELETE", "/asset/none:1-a", b"", origin_header),
        send(url, "OPTIONS", "/asset/m:1-a", b"", preflight),
        send(
            url,
            "OPTIONS",
            "/upload_asset",
            b"",
            [*origin_header, ("Access-Control-Request-Method", "POST")],
        ),
    ]


def test_foreign_origins_get_no_cors_by_default(live):
    live.store.upload(b"x", name="m", version="1", tag="a")
    for origin in [*FOREIGN_ORIGINS, "https://app.example"]:
        for response in _requests(live.url, origin):
            assert _cors_headers(response) == {}, (origin, response.headers)


def test_foreign_origins_get_no_cors_when_origins_are_configured(tmp_path):
    settings = ServiceSettings(cors_origins=["https://app.example"], token=TOKEN)
    with open_store(tmp_path / "store") as store:
        store.upload(b"x", name="m", version="1", tag="a")
        with serve_app(create_app(store, None, settings)) as url:
            for origin in FOREIGN_ORIGINS:
                for response in _requests(url, origin):
                    headers = _cors_headers(response)
                    assert "access-control-allow-origin" not in headers, (origin, headers)
                    assert "access-control-allow-credentials" not in headers
                    assert origin not in " ".join(headers.values()) or origin == "*"
            for response in _requests(url, "https://app.example"):
                headers = _cors_headers(response)
                assert headers.get("access-control-allow-origin") == "https://app.example"
                assert "access-control-allow-credentials" not in headers
