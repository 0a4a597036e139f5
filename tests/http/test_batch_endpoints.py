"""The batch endpoints and the NDJSON export, and the client calls that use them:
``upload_many`` / ``register_many`` / ``import_assets`` over HTTP are a few requests and all
or nothing, within the service's limits; ``iter_query`` reads one streamed answer;
``open_many`` fetches many files in one."""

from __future__ import annotations

import os

import httpx
import orjson
import pytest
from live_server import TOKEN

from assetstore import (
    AlreadyExistsError,
    AuthenticationError,
    BackendUnavailableError,
    ChecksumMismatchError,
    ImportItem,
    IntegrityError,
    InvalidInputError,
    PayloadTooLargeError,
    open_store,
)
from assetstore.http._views import SPEC_ASSET_FIELDS


@pytest.fixture
def client(live):
    with open_store(live.url) as store:
        yield store


def counting(store) -> list[str]:
    """The paths of the requests ``store`` sends from now on (but the one ``/health`` a
    client reads the service's limits from)."""
    sent: list[str] = []

    def note(request: httpx.Request) -> None:
        if request.url.path != "/health":
            sent.append(request.url.path)

    store._http.client.event_hooks["request"].append(note)
    return sent


def uploads(count: int, prefix: str = "m") -> list[dict]:
    return [
        {
            "source": os.urandom(100 + i),
            "name": f"org/{prefix}{i}",
            "version": "1.0",
            "tag": "t",
            "metadata": {"i": i},
            "tags": ["batch"],
            "filename": f"{prefix}{i}.pt",
        }
        for i in range(count)
    ]


def test_upload_many_is_one_request(live, client):
    items = uploads(50)
    sent = counting(client)
    assets = client.upload_many(items)
    assert sent == ["/batch/upload"]
    assert [a.asset_uri for a in assets] == [f"org/m{i}:1.0-t" for i in range(50)]
    assert assets[3].asset_file_info["filename"] == "m3.pt"
    assert assets[3].asset_metadata == {"i": 3}
    for item, asset in zip(items, assets, strict=True):
        assert live.store.read_bytes(asset.asset_uri) == item["source"]


def test_upload_many_is_all_or_nothing(live, client):
    live.store.upload(b"taken", name="org/m7", version="1.0", tag="t")
    with pytest.raises(AlreadyExistsError, match="org/m7"):
        client.upload_many(uploads(20))
    assert live.store.count() == 1
    assert not list(live.store.fsck().orphans)


def test_several_batches_are_undone_when_a_later_one_fails(live, client):
    live.set_settings(max_batch_items=4)
    live.store.upload(b"taken", name="org/m9", version="1.0", tag="t")
    sent = counting(client)
    with pytest.raises(AlreadyExistsError):
        client.upload_many(uploads(10))
    assert sent.count("/batch/upload") == 3  # 0-3 and 4-7 published, then 8-9 refused
    assert [a.asset_uri for a in live.store.query()] == ["org/m9:1.0-t"]


def test_register_many_is_one_request_and_all_or_nothing(live, client):
    records = [
        {"asset_name": f"ext{i}", "asset_version": {"version": "1", "tag": "t"}} for i in range(30)
    ]
    sent = counting(client)
    assert len(client.register_many(records)) == 30
    assert sent == ["/batch/register"]
    more = [{"asset_name": "fresh", "asset_version": {"version": "1", "tag": "t"}}, records[0]]
    with pytest.raises(AlreadyExistsError):
        client.register_many(more)
    assert live.store.count() == 30


def test_import_keeps_identity_and_checks_every_file(live, client, tmp_path):
    with open_store(tmp_path / "elsewhere") as other:
        asset = other.upload(b"payload", name="x", version="1", tag="t", tags=["a"])
        imported = client.import_assets([ImportItem(asset, b"payload")])
        assert (imported[0].asset_id, imported[0].created_at) == (asset.asset_id, asset.created_at)
        assert imported[0].assets_db_id == live.store.assets_db_id
        wrong = other.upload(b"right", name="y", version="1", tag="t")
        with pytest.raises(ChecksumMismatchError, match="sha256"):
            client.import_assets([ImportItem(wrong, b"wrong")])
    assert [a.asset_uri for a in live.store.query()] == ["x:1-t"]


def test_an_imported_asset_id_cannot_name_a_path(client, tmp_path):
    with open_store(tmp_path / "elsewhere") as other:
        asset = other.upload(b"p", name="x", version="1", tag="t")
    forged = asset.model_copy(update={"asset_id": "../../escape"})
    with pytest.raises(InvalidInputError, match="asset_id"):
        client.import_assets([ImportItem(forged, b"p")])


def test_batch_limits_are_enforced_before_the_work(live, client):
    live.set_settings(max_batch_items=3, max_upload_bytes=1000)
    manifest = orjson.dumps([{"asset_name": f"n{i}"} for i in range(4)])
    response = httpx.post(
        f"{live.url}/batch/upload",
        files=[("manifest", (None, manifest, "application/json"))],
    )
    assert response.status_code == 413
    assert "max_batch_items" in response.json()["error"]
    with pytest.raises(PayloadTooLargeError):
        client.upload_many([{"source": b"x" * 2000, "name": "big", "version": "1", "tag": "t"}])
    assert live.store.count() == 0


def test_a_form_with_fewer_files_than_its_manifest_is_refused(live):
    manifest = orjson.dumps(
        [
            {"asset_name": "a", "asset_version": {"version": "1", "tag": "t"}},
            {"asset_name": "b", "asset_version": {"version": "1", "tag": "t"}},
        ]
    )
    response = httpx.post(
        f"{live.url}/batch/upload",
        files=[
            ("manifest", (None, manifest, "application/json")),
            ("file", ("a.bin", b"aaa", "application/octet-stream")),
        ],
    )
    assert response.status_code == 422
    assert live.store.count() == 0


def test_batch_writes_need_the_token(live):
    live.set_settings(token=TOKEN)
    with open_store(live.url) as anonymous:
        with pytest.raises(AuthenticationError):
            anonymous.upload_many(uploads(2))
        with pytest.raises(AuthenticationError):
            anonymous.register_many([{"asset_name": "e", "asset_version": {"version": "1"}}])
    with open_store(live.url, token=TOKEN) as writer:
        assert len(writer.upload_many(uploads(2))) == 2


def test_the_export_streams_ndjson_with_a_trailer(live, client):
    live.store.upload_many(uploads(5)[::-1])
    response = httpx.post(
        f"{live.url}/assets/export?sort=asset_uri", content=b'{"asset_tags": "batch"}'
    )
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [orjson.loads(line) for line in response.content.splitlines()]
    assert lines[-1] == {"end": True, "count": 5}
    assert [line["asset_uri"] for line in lines[:-1]] == sorted(f"org/m{i}:1.0-t" for i in range(5))
    bad = httpx.post(f"{live.url}/assets/export", content=b'{"$where": "1"}')
    assert bad.status_code == 400
    spec = httpx.post(f"{live.url}/assets/export?fields=spec", content=b"{}")
    first = orjson.loads(spec.content.splitlines()[0])
    assert set(first) == set(SPEC_ASSET_FIELDS)
    assert first["asset_public_url"] == f"{live.url}/asset-object/{first['asset_id']}"


def test_iter_query_reads_one_answer_and_pages_under_a_cap(live, client):
    live.store.upload_many(uploads(12))
    sent = counting(client)
    assert len(list(client.iter_query({"asset_tags": "batch"}))) == 12
    assert sent == ["/assets/export"]
    live.set_settings(max_results=5)
    sent.clear()
    assert len(client.query({"asset_tags": "batch"})) == 12  # pages within the cap
    assert sent.count("/assets") >= 3


def test_open_many_fetches_files_in_one_answer(live, client):
    assets = live.store.upload_many(uploads(20))
    remote = client.query(sort=[("asset_uri", 1)])
    sent = counting(client)
    contents = {}
    for asset, reader in zip(remote, client.open_many(remote), strict=True):
        with reader:
            contents[asset.asset_uri] = reader.read()
    assert sent == ["/batch/download"]
    assert contents == {a.asset_uri: live.store.read_bytes(a.asset_uri) for a in assets}


def test_batch_download_refuses_unknown_and_external_assets(live):
    live.store.register({"asset_name": "ext", "asset_version": {"version": "1", "tag": "t"}})
    external = live.store.get("ext:1-t")
    missing = httpx.post(f"{live.url}/batch/download", content=b'["nope"]')
    assert missing.status_code == 404
    refused = httpx.post(f"{live.url}/batch/download", content=orjson.dumps([external.asset_id]))
    assert refused.status_code == 400


def test_a_corrupt_file_cuts_the_batch_download(live, client):
    assets = live.store.upload_many(uploads(3))
    from assetstore._store import blob_key

    (live.root / "store" / blob_key(assets[1].asset_id)).write_bytes(b"x" * (101))
    remote = client.query(sort=[("asset_uri", 1)])

    def read_all() -> None:
        for reader in client.open_many(remote):
            with reader:
                reader.read()

    with pytest.raises((IntegrityError, BackendUnavailableError)):
        read_all()
