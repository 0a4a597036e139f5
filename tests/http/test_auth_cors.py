"""The bearer token (writes, optionally reads), CORS, and the CLI's safe defaults."""

import logging

import httpx
import pytest
from live_server import TOKEN, serve

from assetstore import open_registry, open_store
from assetstore.cli import build_parser
from assetstore.errors import AuthenticationError, InvalidInputError
from assetstore.http.app import create_app
from assetstore.settings import ServiceSettings

#: POSTs that only read: the two queries of the spec, the federated search, the streamed
#: export and the batch download.
READ_POSTS = {
    "/assets",
    "/asset_registries",
    "/asset_registries/search",
    "/assets/export",
    "/batch/download",
}
WRITES = [
    ("POST", "/upload_asset"),
    ("PUT", "/asset/m:1-a"),
    ("DELETE", "/asset/m:1-a"),
    ("POST", "/asset"),
    ("POST", "/asset_registry"),
    ("PUT", "/asset_registry/r1"),
    ("DELETE", "/asset_registry/r1"),
    ("POST", "/admin/fsck"),
    ("POST", "/admin/gc"),
    ("POST", "/admin/index"),
    ("POST", "/batch/upload"),
    ("POST", "/batch/import"),
    ("POST", "/batch/register"),
]
READS = [
    ("GET", "/asset/m:1-a"),
    ("POST", "/assets"),
    ("GET", "/asset-object/abc"),
    ("GET", "/resolve/m"),
    ("GET", "/asset_registry/r1"),
    ("POST", "/asset_registries"),
    ("POST", "/asset_registries/search"),
    ("GET", "/check_health/r1"),
    ("POST", "/assets/export"),
    ("POST", "/batch/download"),
]


def test_the_lists_cover_every_route():
    app = create_app(
        open_store("memory://auth-routes"), open_registry("memory://auth-routes"), ServiceSettings()
    )
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if method != "head"
    }

    def template(path: str) -> str:
        return (
            path.replace("m:1-a", "{asset_uri}")
            .replace("r1", "{registry_id}")
            .replace("/abc", "/{asset_id}")
            .replace("/resolve/m", "/resolve/{asset_name}")
        )

    writes = {(m, p) for m, p in routes if m in ("POST", "PUT", "DELETE") and p not in READ_POSTS}
    assert writes == {(m, template(p)) for m, p in WRITES}
    assert routes - writes == {(m, template(p)) for m, p in READS} | {("GET", "/health")}


@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic czNjcjN0", "Bearer"])
def test_every_write_needs_the_token(live, method, path, authorization, caplog):
    live.set_settings(token=TOKEN)
    headers = {"Authorization": authorization} if authorization else {}
    with caplog.at_level(logging.DEBUG):
        response = httpx.request(method, f"{live.url}{path}", headers=headers, json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error_type"] == "AuthenticationError"
    assert TOKEN not in response.text and TOKEN not in caplog.text
    assert live.store.count() == 0 and live.registry.query() == []


@pytest.mark.parametrize(("method", "path"), READS)
def test_reads_stay_open(live, method, path):
    live.set_settings(token=TOKEN)
    response = httpx.request(method, f"{live.url}{path}", json={})
    assert response.status_code != 401


@pytest.mark.parametrize(("method", "path"), READS)
def test_reads_can_be_closed_too(live, method, path):
    live.set_settings(token=TOKEN, auth_reads=True)
    assert httpx.request(method, f"{live.url}{path}", json={}).status_code == 401
    authorized = httpx.request(
        method, f"{live.url}{path}", json={}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert authorized.status_code != 401
    assert httpx.get(f"{live.url}/health").status_code == 200


def test_client_token_from_argument_or_environment(live, monkeypatch):
    """The token is given per store: as an argument, or ASSETSTORE_TOKEN for the store
    ASSETSTORE_URL names. A store at another address never gets the environment's token."""
    live.set_settings(token=TOKEN)
    monkeypatch.delenv("ASSETSTORE_TOKEN", raising=False)
    monkeypatch.delenv("ASSETSTORE_URL", raising=False)
    with open_store(live.url) as anonymous:
        with pytest.raises(AuthenticationError) as caught:
            anonymous.upload(b"x", name="a", version="1", tag="t")
        assert isinstance(caught.value, PermissionError)
        assert anonymous.count() == 0  # reads are open
    with open_store(live.url, token=TOKEN) as client:
        client.upload(b"x", name="a", version="1", tag="t")
    monkeypatch.setenv("ASSETSTORE_TOKEN", TOKEN)
    with open_store(live.url) as other_store, pytest.raises(AuthenticationError):
        other_store.upload(b"x", name="b", version="1", tag="t")  # not ASSETSTORE_URL's
    monkeypatch.setenv("ASSETSTORE_URL", live.url)
    with open_store() as configured:
        configured.upload(b"x", name="b", version="1", tag="t")
        assert configured.count() == 2
    with open_store(live.url + "/") as same_store:
        same_store.upload(b"x", name="c", version="1", tag="t")


def test_no_cors_unless_configured(live):
    origin = {"Origin": "https://evil.example"}
    response = httpx.get(f"{live.url}/health", headers=origin)
    assert not any(name.startswith("access-control-") for name in response.headers)
    preflight = httpx.options(
        f"{live.url}/asset/m:1-a", headers={**origin, "Access-Control-Request-Method": "DELETE"}
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_only_for_explicit_origins(tmp_path):
    settings = ServiceSettings(cors_origins=["https://app.example"])
    with open_store(tmp_path / "s") as store, serve(store, None, settings) as url:
        allowed = httpx.get(f"{url}/health", headers={"Origin": "https://app.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert "access-control-allow-credentials" not in allowed.headers
        foreign = httpx.get(f"{url}/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in foreign.headers
    for bad in ("*", "null", "app.example"):
        with pytest.raises(ValueError, match="explicit"):
            ServiceSettings(cors_origins=[bad])


def test_settings_from_environment():
    settings = ServiceSettings.from_env(
        {
            "ASSETSTORE_TOKEN": "t0k",
            "ASSETSTORE_MAX_UPLOAD_BYTES": "1024",
            "ASSETSTORE_CORS_ORIGINS": "https://a.example, https://b.example",
            "ASSETSTORE_HEALTH_ALLOWED_NETWORKS": '["10.0.0.0/8"]',
            "ASSETSTORE_ALLOW_PRIVATE_HEALTH_CHECKS": "true",
        },
        max_results=5,
    )
    assert settings.token is not None and settings.token.get_secret_value() == "t0k"
    assert "t0k" not in repr(settings)
    assert settings.max_upload_bytes == 1024 and settings.max_results == 5
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.address_policy().allow_private
    assert settings.address_policy().allowed_networks == ("10.0.0.0/8",)
    with pytest.raises(InvalidInputError, match="max_upload_bytes"):
        ServiceSettings.from_env({"ASSETSTORE_MAX_UPLOAD_BYTES": "lots"})


def test_serve_binds_loopback_by_default():
    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1"
    assert args.port == 8000
    assert not args.allow_private_health_checks
    assert not args.no_register_health_check
    # options before the subcommand are not overwritten by the subcommand's defaults
    args = build_parser().parse_args(["--store", "/data", "serve"])
    assert args.store == "/data"
