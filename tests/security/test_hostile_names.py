"""Names, versions, tags, URIs, ids and file names built to escape the store's root or to
inject headers: refused (or harmless), through the library and through HTTP, and nothing is
ever written outside the store.

The store never makes a path from a name: blobs are ``objects/<id[:2]>/<uuid hex>`` and names
live only in the metadata. These tests check that from the outside: after every attack the
tree around the store is byte-for-byte unchanged and the store's root holds only what a store
writes (``seckit.blobs``)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from seckit import blobs as blob_keys
from seckit import form, part, post_form, send, snapshot

from assetstore import open_store
from assetstore.errors import AssetNotFoundError, InvalidNameError
from assetstore.uri import parse_uri

HOSTILE_NAMES = [
    "../x",
    "../../etc/passwd",
    "a/../../x",
    "..",
    ".",
    "./x",
    "a/./b",
    "a/..",
    "x/../..",
    "/abs",
    "/etc/passwd",
    "a//b",
    "a/",
    "%2e%2e/x",
    "%2e%2e%2fx",
    "..%2fx",
    "%252e%252e%252f",
    "a\\b",
    "..\\..\\x",
    "C:\\Windows\\x",
    "a\x00b",
    "\x00",
    "a#b",
    "a?b",
    "a:b",
    "x" * 201,
    " x",
    "x ",
    "a/ ../b",
    "a\nb",
    "a\r\nb",
    "a\tb",
    "a\x7fb",
    "a\x1bb",
    "\u202eevil",
    "a\u200bb",
    "a\u2028b",
    "",
]
HOSTILE_VERSIONS = [
    "../1",
    "1/2",
    "1\\2",
    "1\x00",
    "%2e",
    "1#",
    "1?",
    ".1",
    "-1",
    "1 2",
    "1:2",
    "1" * 65,
    "",
    "\uff11",
]
HOSTILE_TAGS = [
    "../a",
    "a/b",
    "a\\b",
    "a-b",
    "a\x00",
    "%2e",
    "a#",
    "a?",
    ".a",
    "a b",
    "a:b",
    "t" * 65,
    "",
    "\uff41",
]


def outside(root: Path) -> dict[str, tuple[bool, int, int]]:
    """Everything under ``root`` except the store's and the registry's own directories."""
    return snapshot(root, exclude=[root / "store", root / "registry"])


def meta(name: str = "m", version: str = "1.0", tag: str = "a") -> bytes:
    return json.dumps(
        {"asset_name": name, "asset_version": {"version": version, "tag": tag}}
    ).encode()


# --------------------------------------------------------------------------- library
def test_library_refuses_hostile_names_and_writes_nothing_outside(tmp_path):
    root = tmp_path / "parent"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("sentinel")
    with open_store(root / "store") as store:
        store.upload(b"seed", name="seed", version="1", tag="a")
        before, keys = outside(root), blob_keys(root / "store")
        attempts = 0
        for name in HOSTILE_NAMES:
            for call in (
                lambda n=name: store.upload(
                    b"data", name=n, version="1", tag="a", filename=n or None
                ),
                lambda n=name: store.register(
                    {"asset_name": n, "asset_version": {"version": "1", "tag": "a"}}
                ),
                lambda n=name: store.upload_many(
                    [{"source": b"d", "name": n, "version": "1", "tag": "a"}]
                ),
            ):
                with pytest.raises(InvalidNameError):
                    call()
                attempts += 1
        for version in HOSTILE_VERSIONS:
            with pytest.raises(InvalidNameError):
                store.upload(b"data", name="ok", version=version, tag="a")
            attempts += 1
        for tag in HOSTILE_TAGS:
            with pytest.raises(InvalidNameError):
                store.upload(b"data", name="ok", version="1", tag=tag)
            attempts += 1
        assert attempts == 3 * len(HOSTILE_NAMES) + len(HOSTILE_VERSIONS) + len(HOSTILE_TAGS)
        assert store.count() == 1
        assert blob_keys(root / "store") == keys
        assert outside(root) == before
        assert (root / "etc" / "passwd").read_text() == "sentinel"
        assert store.fsck().orphans == []


@pytest.mark.parametrize(
    "uri",
    [f"{n}:1-a" for n in HOSTILE_NAMES if n]
    + ["m:../1-a", "m:1-../a", "m:1-a/..", "m", "m:1", "../m:1.0-a"],
)
def test_hostile_uris_are_malformed_or_unknown(tmp_path, uri):
    with open_store(tmp_path / "store") as store:
        store.upload(b"keep", name="m", version="1.0", tag="a")
        with pytest.raises(InvalidNameError):
            parse_uri(uri)
        for call in (
            store.get,
            store.delete,
            lambda u: store.update(u, {"asset_tags": ["x"]}),
            store.open,
            store.read_bytes,
        ):
            with pytest.raises(AssetNotFoundError):
                call(uri)
        assert store.read_bytes("m:1.0-a") == b"keep"
        assert store.get("m:1.0-a").revision == 1


def test_names_that_merely_look_like_paths_stay_names(tmp_path):
    """Printable names that only look like paths (namespaces, fullwidth dots and solidus,
    unicode) are valid names: they are data, never paths, so they can do no harm. They are
    stored under uuid keys, and no normalisation (NFKC, case) makes them another's name."""
    root = tmp_path / "parent"
    root.mkdir()
    names = [
        "org/team/model",
        "\uff0e\uff0e\uff0fetc\uff0fpasswd",
        "\uff0e\uff0e",
        "模型/版本",
        "a b/c d",
        "n" * 200,
        "café",
        "cafe\u0301",
        "ETC/PASSWD",
    ]
    with open_store(root / "store") as store:
        before = outside(root)
        for name in names:
            asset = store.upload(name.encode(), name=name, version="1", tag="a", filename=name)
            assert asset.asset_uri == f"{name}:1-a"
        assert outside(root) == before
        keys = blob_keys(root / "store")  # checks the layout: objects/xx/<hex> only
        assert len(keys) == len(names)
        for name in names:
            assert store.read_bytes(f"{name}:1-a") == name.encode()
        for lookalike in ("../etc/passwd:1-a", "..:1-a", "etc/passwd:1-a", "café:1-a".upper()):
            with pytest.raises((AssetNotFoundError, InvalidNameError)):
                store.get(lookalike)
        assert store.get("café:1-a").asset_name != store.get("cafe\u0301:1-a").asset_name


@pytest.mark.parametrize("filename", ["..", ".", "../..", "a/..", "a\x00b", "/"])
def test_download_into_a_directory_never_uses_a_dot_name(tmp_path, filename):
    """``download(uri, directory)`` names the file after the uploaded file name: '..' would
    be the directory's parent (it failed with EBUSY before the fix) and NUL no name at all."""
    with open_store(tmp_path / "store") as store:
        asset = store.upload(b"payload", name="m", version="1", tag="a", filename=filename)
        dest = tmp_path / "dest" / "inner"
        dest.mkdir(parents=True)
        before = snapshot(tmp_path / "dest")
        target = store.download("m:1-a", dest)
        assert target.parent == dest
        assert target.read_bytes() == b"payload"
        assert set(snapshot(tmp_path / "dest")) - set(before) == {f"inner/{target.name}"}
        assert target.name in (asset.asset_id, Path(filename).name)


# --------------------------------------------------------------------------- HTTP uploads
@pytest.mark.parametrize("order", ["metadata-first", "file-first"])
def test_upload_with_hostile_name_version_or_tag(live, order):
    before = outside(live.root)
    cases = (
        [meta(name=n) for n in HOSTILE_NAMES]
        + [meta(version=v) for v in HOSTILE_VERSIONS]
        + [meta(tag=t) for t in HOSTILE_TAGS]
    )
    for fields in cases:
        file_part = part("asset", b"hostile bytes", filename=b"f.bin")
        meta_part = part("asset_metadata", fields)
        parts = (meta_part, file_part) if order == "metadata-first" else (file_part, meta_part)
        response = post_form(live.url, form(*parts))
        assert response.status == 400, (fields, response.body)
        body = json.loads(response.body)
        assert body["error_type"] == "InvalidNameError"
        assert "\n" not in body["error"]
    assert live.store.count() == 0
    assert blob_keys(live.root / "store") == set()
    assert outside(live.root) == before
    assert live.store.fsck().orphans == []


def test_external_asset_with_hostile_names(live, http):
    before = outside(live.root)
    for name in HOSTILE_NAMES:
        response = http.post(
            f"{live.url}/asset",
            json={
                "asset_name": name,
                "asset_version": {"version": "1", "tag": "a"},
                "asset_public_url": "https://example.com/x",
            },
        )
        assert response.status_code == 400, name
        assert response.json()["error_type"] == "InvalidNameError"
    # asset_uri is the store's: a caller's hostile one is refused, never used as the key
    response = http.post(
        f"{live.url}/asset",
        json={
            "asset_name": "ok",
            "asset_version": {"version": "1", "tag": "a"},
            "asset_uri": "../../etc/passwd:1-a",
        },
    )
    assert response.status_code == 400
    assert live.store.count() == 0
    assert outside(live.root) == before


def test_lookalike_names_over_http_are_data_not_paths(live, http):
    """Fullwidth dots and solidus (NFKC-equal to '../'), a division slash and a one-dot
    leader are printable, so valid names; uploaded over HTTP they land under a uuid key,
    and the ASCII traversal they resemble names no asset."""
    before = outside(live.root)
    names = ["\uff0e\uff0e\uff0f\uff0e\uff0e\uff0fetc", "..\u2215etc", "\u2024\u2024/etc"]
    for name in names:
        response = post_form(
            live.url,
            form(
                part("asset_metadata", meta(name=name)), part("asset", name.encode(), filename=b"f")
            ),
        )
        assert response.status == 201, response.body
        assert json.loads(response.body)["asset_uri"] == f"{name}:1.0-a"
    assert len(blob_keys(live.root / "store")) == len(names)
    assert outside(live.root) == before
    for path in ("..%2F..%2Fetc:1.0-a", "../../etc:1.0-a", "%2e%2e%2fetc:1.0-a"):
        assert send(live.url, "GET", f"/asset/{path}").status == 404
    for name in names:
        got = http.get(f"{live.url}/asset/{quote(name)}:1.0-a")
        assert got.status_code == 200 and got.json()["data"]["asset_name"] == name


# --------------------------------------------------------------------------- HTTP paths
TRAVERSAL_URIS = [
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd:1-a",
    "..%2f..%2fm:1.0-a",
    "%2e%2e/m:1.0-a",
    "../m:1.0-a",
    "x/../m:1.0-a",
    "./m:1.0-a",
    "m:1.0-a/..",
    "m:1.0-a/.",
    "%252e%252e%252fm:1.0-a",
    "%25252e%25252e%25252fm:1.0-a",
    "%2fetc%2fpasswd:1-a",
    "/etc/passwd:1-a",
    "..%5c..%5cm:1.0-a",
    "..%255c..%255cm:1.0-a",
    "m%00:1.0-a",
    "m:1.0-a%00",
    "m:1.0-a%00.json",
    "m:1.0-a%23",
    "m:1.0-a%3F",
    "%c0%ae%c0%ae%2fm:1.0-a",
    "%ef%bc%8e%ef%bc%8e%ef%bc%8fm:1.0-a",
    "M:1.0-A",
    "m:1.0-a%20",
    "%20m:1.0-a",
    "a" * 8000 + ":1-a",
]


def test_get_put_delete_with_encoded_traversal(live):
    """The path parameter is looked up as an exact key: never normalised into another asset's
    URI ('x/../m:1.0-a' is not 'm:1.0-a'), never read from the file system."""
    live.store.upload(b"keep me", name="m", version="1.0", tag="a")
    before, keys = outside(live.root), blob_keys(live.root / "store")
    for uri in TRAVERSAL_URIS:
        for method, body in (("GET", b""), ("PUT", b'{"asset_tags": ["pwned"]}'), ("DELETE", b"")):
            response = send(
                live.url, method, f"/asset/{uri}", body, [("Content-Type", "application/json")]
            )
            assert response.status == 404, (method, uri, response.status, response.body[:200])
            assert json.loads(response.body)["success"] is False
            assert b"sentinel" not in response.body and b"root:" not in response.body
    asset = live.store.get("m:1.0-a")
    assert (asset.revision, asset.asset_tags) == (1, [])
    assert live.store.read_bytes("m:1.0-a") == b"keep me"
    assert blob_keys(live.root / "store") == keys
    assert outside(live.root) == before


def test_asset_object_with_traversal_or_overlong_ids(live):
    asset = live.store.upload(b"the file", name="m", version="1.0", tag="a")
    store_json = (live.root / "store" / "store.json").read_bytes()
    ids = [
        "..",
        "%2e%2e",
        "..%2f..%2fstore.json",
        "..%252f..%252fstore.json",
        "store.json",
        "objects",
        asset.asset_id[:2],
        f"{asset.asset_id[:2]}%2f{asset.asset_id}",
        f"objects%2f{asset.asset_id[:2]}%2f{asset.asset_id}",
        asset.asset_id.upper(),
        f"{asset.asset_id}%00",
        f"{asset.asset_id}%2f..",
        f"..%5c{asset.asset_id}",
        "%00",
        "a" * 10000,
        f"{asset.asset_id}/../../store.json",
    ]
    for asset_id in ids:
        for method in ("GET", "HEAD"):
            response = send(live.url, method, f"/asset-object/{asset_id}")
            assert response.status == 404, (asset_id, response.status)
            assert b"the file" not in response.body and store_json not in response.body
    assert send(live.url, "GET", f"/asset-object/{asset.asset_id}").body == b"the file"


def test_registry_ids_with_traversal(live, http):
    entry = live.registry.register(
        {"asset_registry_name": "r", "asset_registry_public_url": "https://example.com"}
    )
    before = outside(live.root)
    for registry_id in [
        "..",
        ".",
        "%2e%2e",
        "..%2f..%2fx",
        "..%252f",
        "x%00",
        "a" * 10000,
        f"{entry.asset_registry_id}%2f..",
        entry.asset_registry_id.upper(),
    ]:
        for method, path in (
            ("GET", "/asset_registry/"),
            ("PUT", "/asset_registry/"),
            ("DELETE", "/asset_registry/"),
            ("GET", "/check_health/"),
        ):
            body = b'{"asset_registry_tags": ["pwned"]}' if method == "PUT" else b""
            response = send(
                live.url, method, path + registry_id, body, [("Content-Type", "application/json")]
            )
            assert response.status == 404, (method, path, registry_id, response.status)
    for bad_id in ("../x", "..", ".", "a/b", "a\\b", "a\x00", "x" * 129, "%2e%2e"):
        response = http.post(
            f"{live.url}/asset_registry?check_health=false",
            json={
                "asset_registry_id": bad_id,
                "asset_registry_name": "r",
                "asset_registry_public_url": "https://example.com",
            },
        )
        assert response.status_code == 400, bad_id
    assert [e.asset_registry_id for e in live.registry.query()] == [entry.asset_registry_id]
    assert live.registry.get(entry.asset_registry_id).revision == 1
    assert outside(live.root) == before


# --------------------------------------------------------------------------- file names
HOSTILE_FILENAMES = [
    b"../../x",
    b"..\\x",
    b"..\\..\\windows\\win.ini",
    b"/etc/passwd",
    b"C:\\boot.ini",
    b"a\x00b.txt",
    b"..",
    b".",
    b"a\rX-Injected: 1",
    b"a\r\nX-Injected: yes\r\n",
    b"a\"; filename*=UTF-8''evil",
    b"\xff\xfe",
    b"\xe2\x80\xae.txt",
    b"%2e%2e%2fx",
    b"x" * 300,
]


def _disposition_is_safe(response: httpx.Response) -> None:
    assert "x-injected" not in response.headers
    dispositions = response.headers.get_list("content-disposition")
    assert len(dispositions) == 1
    value = dispositions[0]
    assert value.startswith('attachment; filename="')
    assert all(32 <= ord(c) < 127 for c in value), value
    ascii_name = value.split('filename="', 1)[1].split('"', 1)[0]
    assert "/" not in ascii_name and "\\" not in ascii_name and ascii_name not in (".", "..")


@pytest.mark.parametrize("filename", HOSTILE_FILENAMES)
def test_hostile_multipart_filename(live, filename):
    """The file name is cleaned when stored (no directories, no control characters, no dot
    names) and the later download's Content-Disposition cannot carry a header injection."""
    before = outside(live.root)
    body = form(
        part("asset_metadata", meta()),
        part("asset", b"content", filename=filename, extra=b"Content-Type: text/plain"),
    )
    response = post_form(live.url, body)
    if b"\r" in filename or b"\n" in filename:
        # a line break inside the quoted file name breaks the part's headers: refused whole
        assert response.status == 422, response.body
        assert json.loads(response.body)["error"].startswith("malformed multipart body")
        assert live.store.count() == 0
    else:
        assert response.status == 201, response.body
        asset = live.store.get("m:1.0-a")
        stored = asset.asset_file_info["filename"]
        assert "/" not in stored and "\\" not in stored and stored not in (".", "..")
        assert stored.isprintable() and len(stored) <= 255
        download = httpx.get(f"{live.url}/asset-object/{asset.asset_id}")
        assert download.status_code == 200 and download.content == b"content"
        _disposition_is_safe(download)
    assert outside(live.root) == before
    blob_keys(live.root / "store")


def test_library_filenames_cannot_inject_headers_into_downloads(live):
    """The library keeps the caller's file name as given (minus directories); the download
    answer still cannot be split."""
    for index, name in enumerate(
        [
            "a\r\nX-Injected: yes",
            "b\nSet-Cookie: x=1",
            "c\x00d",
            '"; filename="evil.exe',
            "é\r\n\u2028ü",
        ]
    ):
        asset = live.store.upload(b"x", name=f"n{index}", version="1", tag="a", filename=name)
        response = httpx.get(f"{live.url}/asset-object/{asset.asset_id}")
        assert response.status_code == 200
        assert "set-cookie" not in response.headers
        _disposition_is_safe(response)
        head = httpx.head(f"{live.url}/asset-object/{asset.asset_id}")
        assert head.status_code == 200
        _disposition_is_safe(head)


def test_client_download_of_a_dot_filename_over_http(live, tmp_path):
    """A server-side filename of '..' (possible through the library) does not make the HTTP
    client write to the destination's parent."""
    live.store.upload(b"dots", name="d", version="1", tag="a", filename="..")
    dest = tmp_path / "downloads" / "here"
    dest.mkdir(parents=True)
    with open_store(live.url) as client:
        target = client.download("d:1-a", dest)
    assert target.parent == dest and target.read_bytes() == b"dots"
    assert sorted(p.name for p in (tmp_path / "downloads").iterdir()) == ["here"]
