"""Finding 8: the server's paths leaked.

Assets uploaded with the CLI, or served with ``--host 0.0.0.0`` and no ``--public-url``,
stored ``asset_public_url = file:///...``; the API hid the field, but anonymous ``$regex``
probes read the path back in 1,351 queries. Now an uploaded asset's URL is computed when
answering and never stored, and a query that names the field sees external assets only (so
records written by older versions cannot be probed either)."""

from __future__ import annotations

import json

import httpx
import pytest
from seckit import BOUNDARY, end, part

from assetstore import open_store
from assetstore.cli import main


def forge(store, uri: str, **fields: object) -> None:
    documents = store._documents
    doc = documents.get(uri)
    assert documents.replace(uri, {**doc, **fields}, expected_revision=doc["revision"])


def stored_bytes(root) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file())


def test_cli_uploads_store_no_path(tmp_path, capsys):
    store = tmp_path / "private-dir-name"
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights")
    code = main(
        ["--store", str(store), "put", str(source), "--name", "m", "--version", "1", "--tag", "a"]
    )
    assert code == 0, capsys.readouterr()
    metadata = stored_bytes(store)
    assert b"private-dir-name" not in metadata.replace(b"weights", b"")
    assert b"file://" not in metadata


def test_served_answers_hold_no_path(live):
    live.store.upload(b"library", name="lib", version="1", tag="a")
    body = (
        part(
            "asset_metadata",
            json.dumps(
                {"asset_name": "web", "asset_version": {"version": "1", "tag": "a"}}
            ).encode(),
        )
        + part("asset", b"web", filename=b"w.bin")
        + end()
    )
    uploaded = httpx.post(
        f"{live.url}/upload_asset",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert uploaded.status_code == 201
    answers = [
        uploaded,
        httpx.get(f"{live.url}/asset/lib:1-a"),
        httpx.post(f"{live.url}/assets", json={}),
        httpx.get(f"{live.url}/resolve/web"),
    ]
    for answer in answers:
        assert answer.status_code in (200, 201)
        assert str(live.root) not in answer.text and "file://" not in answer.text
    shown = {a["asset_name"]: a["asset_public_url"] for a in answers[2].json()["data"]}
    for name, url in shown.items():
        asset = live.store.get(f"{name}:1-a")
        assert url == f"{live.url}/asset-object/{asset.asset_id}"
    assert b"file://" not in stored_bytes(live.root / "store")


PROBES = [
    {"asset_public_url": {"$regex": "^file:"}},
    {"asset_public_url": {"$regex": "secret-path"}},
    {"asset_public_url": {"$regex": "^"}},
    {"asset_public_url": {"$exists": True}},
    {"asset_public_url": {"$type": "string"}},
    {"asset_public_url": {"$gte": ""}},
    {"asset_public_url.0": {"$exists": False}},
    {"$or": [{"asset_tags": "none"}, {"asset_public_url": {"$regex": "^file:"}}]},
    {"$nor": [{"asset_public_url": {"$regex": "^https:"}}]},
    {"$and": [{"$and": [{"asset_public_url": {"$not": {"$regex": "^https:"}}}]}]},
]


@pytest.mark.parametrize("probe", PROBES, ids=[json.dumps(p)[:60] for p in PROBES])
def test_a_stored_path_of_an_older_version_cannot_be_probed(live, probe):
    """A record holding ``file:///...`` (as older versions stored): no filter on the field
    matches it, and sorting by the field leaves it out, so nothing can be learned of it."""
    legacy = live.store.upload(b"old", name="legacy", version="1", tag="a")
    forge(live.store, legacy.asset_uri, asset_public_url="file:///srv/secret-path/objects/x")
    live.store.register(
        {
            "asset_name": "ext",
            "asset_version": {"version": "1", "tag": "a"},
            "asset_public_url": "https://example.com/ext",
        }
    )
    answer = httpx.post(f"{live.url}/assets", json=probe).json()
    assert "legacy" not in {a["asset_name"] for a in answer["data"]}, answer
    assert "secret-path" not in json.dumps(answer)
    ordered = httpx.post(f"{live.url}/assets?sort=asset_public_url", json={}).json()
    assert [a["asset_name"] for a in ordered["data"]] == ["ext"]
    shown = httpx.get(f"{live.url}/asset/{legacy.asset_uri}").json()["data"]
    assert shown["asset_public_url"] == f"{live.url}/asset-object/{legacy.asset_id}"


def test_the_url_follows_the_configuration_of_now(tmp_path):
    with open_store(tmp_path / "s", public_url="https://old.example") as store:
        asset = store.upload(b"x", name="a", version="1", tag="t")
        assert asset.asset_public_url == f"https://old.example/asset-object/{asset.asset_id}"
    with open_store(tmp_path / "s", public_url="https://new.example") as store:
        again = store.get(asset.asset_uri)
        assert again.asset_public_url == f"https://new.example/asset-object/{asset.asset_id}"
        assert store.query({"asset_public_url": {"$regex": "old"}}) == []


def test_a_foreign_host_is_not_reflected_into_urls(live):
    """With no public URL configured, the URL is built from the request's Host: only a
    Host the service answers to can get there."""
    asset = live.store.upload(b"x", name="a", version="1", tag="t")
    refused = httpx.get(f"{live.url}/asset/{asset.asset_uri}", headers={"Host": "evil.example"})
    assert refused.status_code == 403 and "evil.example/asset-object" not in refused.text
