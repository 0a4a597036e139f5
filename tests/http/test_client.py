"""The HTTP client beyond the conformance suites: how it is opened, and what it does on the
wire that a local store has no equivalent for."""

import io

import pytest
from live_server import free_port, serve

from assetstore import open_registry, open_store
from assetstore.errors import (
    AssetNotFoundError,
    BackendUnavailableError,
    InvalidInputError,
    InvalidNameError,
)
from assetstore.http.client import HttpAssetStore, HttpRegistry, open_http_store


def test_open_store_and_registry_pick_the_client(live):
    with open_store(live.url) as store, open_registry(live.url) as registry:
        assert isinstance(store, HttpAssetStore)
        assert isinstance(registry, HttpRegistry)
        assert store.assets_db_id == live.store.assets_db_id


def test_unreachable_server():
    with open_store(f"http://127.0.0.1:{free_port()}", timeout=2) as store:
        with pytest.raises(BackendUnavailableError) as caught:
            store.get("a:1-b")
        assert isinstance(caught.value, ConnectionError)


def test_unknown_options_are_refused():
    with pytest.raises(InvalidInputError, match="unknown options"):
        open_http_store("http://127.0.0.1:1", colour="red")


def test_registry_only_server_has_no_store(tmp_path):
    with (
        open_registry(tmp_path / "r") as registry,
        serve(None, registry) as url,
        open_store(url) as store,
    ):
        with pytest.raises(InvalidInputError, match="serves no asset store"):
            _ = store.assets_db_id
        with pytest.raises(AssetNotFoundError):
            store.get("a:1-b")


def test_uris_with_spaces_slashes_and_odd_characters(live):
    with open_store(live.url) as client:
        for name in ("Sample Asset", "org/team/model", "a+b (c) & d", "ünï cödé", "x;y=z@w"):
            asset = client.upload(b"data", name=name, version="1.0", tag="a")
            assert client.get(asset.asset_uri).asset_name == name
            assert client.resolve(name).asset_uri == asset.asset_uri
            assert client.get_by_id(asset.asset_id) == asset
            client.update(asset.asset_uri, {"asset_tags": ["t"]})
            client.delete(asset.asset_uri, expected_revision=2)
        for missing in ("a/../b:1-a", "./x:1-a", "%2e%2e:1-a", "q?x=1:1-a", "h#f:1-a"):
            with pytest.raises(AssetNotFoundError):
                client.get(missing)
        with pytest.raises(InvalidNameError):  # refused before a byte is sent
            client.upload(b"x", name="a:b", version="1", tag="t")


def test_upload_streams_from_the_current_position_with_progress(live):
    source = io.BytesIO(b"HEADER--payload bytes")
    source.seek(8)
    seen: list[int] = []
    with open_store(live.url) as client:
        asset = client.upload(
            source,
            name="pos",
            version="1",
            tag="a",
            progress=seen.append,
            content_type="text/plain",
        )
        assert client.read_bytes(asset.asset_uri) == b"payload bytes"
    assert sum(seen) == len(b"payload bytes")
    assert asset.asset_file_info["file_type"] == "text/plain"


@pytest.mark.parametrize("route", ["direct", "httpx"])
def test_downloads_by_either_route_are_whole_ranged_and_verified(live, route, tmp_path):
    """Bodies stream over the standard library's HTTP client when nothing stands in between,
    and over httpx behind a proxy: both must give the same bytes."""
    data = bytes(range(256)) * 5000
    with open_http_store(live.url) as store:
        assert store._http.direct_downloads
        store._http.direct_downloads = route == "direct"
        asset = store.upload(io.BytesIO(data), name="routes", version="1", tag="a")
        assert store.read_bytes(asset.asset_uri) == data
        with store.open(asset.asset_uri, start=1000, end=300_000) as reader:
            assert reader.read() == data[1000:300_000]
        assert store.download(asset.asset_uri, tmp_path / "f").read_bytes() == data
        with pytest.raises(AssetNotFoundError):
            store._http.download("/asset-object/" + "0" * 32, {}, not_found=AssetNotFoundError)
