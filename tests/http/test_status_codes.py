"""Every status code of the service, the envelopes, paging and If-Match, over raw HTTP."""

import json

import httpx
import pytest
from live_server import serve

from assetstore import open_store
from assetstore._store import Store
from assetstore.errors import BackendUnavailableError, IntegrityError
from assetstore.http.app import create_app
from assetstore.settings import ServiceSettings

META = {"asset_name": "m", "asset_version": {"version": "1.0", "tag": "a"}}


def upload(url, meta=META, data=b"bytes", **kwargs):
    fields = {"asset_metadata": meta if isinstance(meta, str) else json.dumps(meta)}
    return httpx.post(
        f"{url}/upload_asset", files={"asset": ("f.bin", data)}, data=fields, **kwargs
    )


def failure(response, status, error_type=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"] and "\n" not in body["error"]
    assert "Traceback" not in response.text
    if error_type:
        assert body["error_type"] == error_type
    return body


def test_create_answers_201_with_real_ids(live):
    response = upload(live.url)
    assert response.status_code == 201
    body = response.json()
    assert body["asset_id"] == body["data"]["asset_id"] == live.store.get("m:1.0-a").asset_id
    assert body["asset_uri"] == "m:1.0-a"
    assert body["public_url"] == body["data"]["asset_public_url"]
    assert body["public_url"] == f"{live.url}/asset-object/{body['asset_id']}"
    assert response.headers["etag"] == '"1"'


def test_400_bad_input(live):
    failure(upload(live.url, {**META, "asset_name": "../etc"}), 400, "InvalidNameError")
    failure(upload(live.url, {**META, "asset_tags": "one"}), 400, "InvalidInputError")
    failure(upload(live.url, {**META, "asset_metadata": {"$set": 1}}), 400)
    failure(httpx.post(f"{live.url}/assets", json={"$where": "1"}), 400, "InvalidQueryError")
    failure(httpx.post(f"{live.url}/assets?sort=a:sideways", json={}), 400, "InvalidQueryError")
    upload(live.url)
    failure(
        httpx.put(f"{live.url}/asset/m:1.0-a", json={"asset_name": "x"}), 400, "ReadOnlyFieldError"
    )
    failure(
        httpx.put(f"{live.url}/asset/m:1.0-a", json={"colour": "red"}), 400, "InvalidInputError"
    )
    failure(httpx.put(f"{live.url}/asset/m:1.0-a", json={}, headers={"If-Match": "abc"}), 400)
    failure(httpx.post(f"{live.url}/asset", json={"asset_name": "n"}), 400, "InvalidNameError")
    assert live.store.count() == 1


def test_404(live):
    failure(httpx.get(f"{live.url}/asset/none:1-a"), 404, "AssetNotFoundError")
    failure(httpx.put(f"{live.url}/asset/none:1-a", json={"asset_tags": []}), 404)
    failure(httpx.delete(f"{live.url}/asset/none:1-a"), 404)
    failure(httpx.get(f"{live.url}/asset_registry/none"), 404, "RegistryNotFoundError")
    failure(httpx.get(f"{live.url}/check_health/none"), 404, "RegistryNotFoundError")
    failure(httpx.get(f"{live.url}/no/such/route"), 404, "NotFoundError")
    failure(httpx.patch(f"{live.url}/asset/x:1-a"), 405)


def test_update_never_creates_and_noop_is_200(live):
    failure(httpx.put(f"{live.url}/asset/ghost:1-a", json={"asset_tags": ["x"]}), 404)
    assert live.store.count() == 0
    upload(live.url)
    same = httpx.put(f"{live.url}/asset/m:1.0-a", json={})
    assert same.status_code == 200
    assert same.json()["data"]["revision"] == 1
    again = httpx.put(f"{live.url}/asset/m:1.0-a", json={"asset_tags": []})
    assert again.status_code == 200 and again.json()["data"]["revision"] == 1


def test_409_taken_uri(live):
    assert upload(live.url).status_code == 201
    failure(upload(live.url, data=b"other"), 409, "AlreadyExistsError")
    failure(httpx.post(f"{live.url}/asset", json=META), 409, "AlreadyExistsError")
    assert live.store.read_bytes("m:1.0-a") == b"bytes"
    assert live.store.fsck().orphans == []


def test_412_if_match(live):
    upload(live.url)
    etag = httpx.get(f"{live.url}/asset/m:1.0-a").headers["etag"]
    assert etag == '"1"'
    changed = httpx.put(
        f"{live.url}/asset/m:1.0-a", json={"asset_tags": ["a"]}, headers={"If-Match": etag}
    )
    assert changed.status_code == 200 and changed.headers["etag"] == '"2"'
    failure(
        httpx.put(
            f"{live.url}/asset/m:1.0-a", json={"asset_tags": ["b"]}, headers={"If-Match": etag}
        ),
        412,
        "RevisionMismatchError",
    )
    failure(httpx.delete(f"{live.url}/asset/m:1.0-a", headers={"If-Match": '"1"'}), 412)
    assert (
        httpx.delete(f"{live.url}/asset/m:1.0-a", headers={"If-Match": 'W/"2"'}).status_code == 200
    )
    entry = httpx.post(
        f"{live.url}/asset_registry?check_health=false",
        json={"asset_registry_name": "r", "asset_registry_public_url": "https://x.example"},
    ).json()
    rid = entry["asset_registry_id"]
    failure(
        httpx.put(
            f"{live.url}/asset_registry/{rid}",
            json={"asset_registry_tags": ["t"]},
            headers={"If-Match": '"7"'},
        ),
        412,
    )
    failure(httpx.delete(f"{live.url}/asset_registry/{rid}", headers={"If-Match": '"7"'}), 412)
    assert (
        httpx.delete(f"{live.url}/asset_registry/{rid}", headers={"If-Match": '"1"'}).status_code
        == 200
    )


def test_413_body_limits(live):
    live.set_settings(max_query_bytes=1024, max_upload_bytes=1000)
    big_filter = {"asset_name": "x" * 2000}
    failure(httpx.post(f"{live.url}/assets", json=big_filter), 413, "PayloadTooLargeError")

    def chunks():
        yield json.dumps(big_filter).encode()

    failure(httpx.post(f"{live.url}/assets", content=chunks()), 413)
    failure(upload(live.url, data=b"x" * 1001), 413, "PayloadTooLargeError")
    assert upload(live.url, data=b"x" * 1000).status_code == 201


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/assets", b"{not json"),
        ("POST", "/assets", b"[1, 2]"),
        ("POST", "/asset", b"null"),
        ("POST", "/asset", b'"a string"'),
        ("PUT", "/asset/m:1.0-a", b""),
        ("PUT", "/asset/m:1.0-a", b"\xff\xfe"),
        ("POST", "/asset_registry", b"{"),
        ("POST", "/asset_registries", b"3"),
        ("POST", "/asset_registries/search", b"[]"),
    ],
)
def test_422_bodies_that_are_not_json_objects(live, method, path, body):
    upload(live.url)
    failure(
        httpx.request(
            method, f"{live.url}{path}", content=body, headers={"Content-Type": "application/json"}
        ),
        422,
        "InvalidInputError",
    )


def test_422_bad_forms_and_parameters(live):
    # a missing part is a 400, as in the original service ("No file part")
    failure(httpx.post(f"{live.url}/upload_asset", json=META), 400)
    no_file = httpx.post(f"{live.url}/upload_asset", data={"asset_metadata": json.dumps(META)})
    assert failure(no_file, 400, "InvalidInputError")["message"].startswith("No file part")
    failure(httpx.post(f"{live.url}/upload_asset", files={"asset": ("f", b"x")}), 400)
    failure(upload(live.url, "{broken"), 422)
    failure(upload(live.url, {**META, "asset_version": "1.0"}), 422)
    failure(httpx.post(f"{live.url}/assets?limit=-1", json={}), 422)
    failure(httpx.post(f"{live.url}/assets?skip=abc", json={}), 422)
    truncated = (
        b'--b\r\nContent-Disposition: form-data; name="asset"; filename="x"\r\n\r\nhalf a file'
    )
    failure(
        httpx.post(
            f"{live.url}/upload_asset",
            content=truncated,
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        ),
        422,
    )
    assert live.store.count() == 0
    assert live.store.fsck().orphans == []


def test_paging(live):
    live.set_settings(max_results=3)
    for version in range(1, 8):
        live.store.upload(b"x", name="p", version=str(version), tag="a", tags=["t"])
    page = httpx.post(
        f"{live.url}/assets?sort=asset_version.version:desc&limit=2&skip=1",
        json={"asset_tags": "t"},
    ).json()
    assert [a["asset_version"]["version"] for a in page["data"]] == ["6", "5"]
    assert (page["total"], page["count"], page["skip"], page["limit"], page["next_skip"]) == (
        7,
        2,
        1,
        2,
        3,
    )
    too_many = httpx.post(f"{live.url}/assets?limit=100", json={})  # over max_results: no clamp
    failure(too_many, 400, "TooManyResultsError")
    assert "?limit=3" in too_many.json()["error"] and "next_cursor" in too_many.json()["error"]
    last = httpx.post(f"{live.url}/assets?skip=6", json={}).json()
    assert len(last["data"]) == 1 and last["next_skip"] is None and last["next_cursor"] is None
    only_total = httpx.post(f"{live.url}/assets?limit=0", json={}).json()
    assert only_total["data"] == [] and only_total["total"] == 7
    # an empty body matches everything: 7 matches, more than the cap of 3, is an error too
    failure(httpx.post(f"{live.url}/assets"), 400, "TooManyResultsError")
    with open_store(live.url) as client:  # the client pages through all of it
        assert len(client.query()) == 7
        assert len(client.query(limit=5)) == 5
        assert client.count({"asset_tags": "t"}) == 7


class _Broken(Store):
    def get(self, uri):
        if uri.startswith("unavailable"):
            raise BackendUnavailableError("mongodb://admin:hunter2@10.0.0.5 is unreachable")
        if uri.startswith("bug"):
            raise RuntimeError("boom at /srv/secret/path")
        if uri.startswith("corrupt"):
            raise IntegrityError("objects/ab/cd: stored file is missing")
        return super().get(uri)


def test_5xx_never_leak_internals(tmp_path):
    with open_store(tmp_path / "s") as store:
        broken = _Broken(store._blobs, store._documents)
        with serve(broken, None, ServiceSettings()) as url:
            body = failure(
                httpx.get(f"{url}/asset/unavailable:1-a"), 503, "BackendUnavailableError"
            )
            assert "hunter2" not in body["error"] and "10.0.0.5" not in body["error"]
            response = httpx.get(f"{url}/asset/bug:1-a")
            body = failure(response, 500, "InternalServerError")
            assert body["error"] == "internal server error"
            assert "/srv/secret" not in response.text
            body = failure(httpx.get(f"{url}/asset/corrupt:1-a"), 500, "IntegrityError")
            assert body["error"].startswith("stored file is corrupt")
            with open_store(url) as client:
                with pytest.raises(BackendUnavailableError):
                    client.get("unavailable:1-a")
                with pytest.raises(IntegrityError):
                    client.get("corrupt:1-a")


def test_routes_of_a_service_not_served_are_absent(tmp_path):
    with open_store(tmp_path / "s") as store, serve(store, None) as url:
        assert httpx.post(f"{url}/asset_registries", json={}).status_code == 404
        assert httpx.get(f"{url}/health").json()["data"]["services"] == ["assets"]
    with pytest.raises(ValueError, match="store, a registry, or both"):
        create_app()
