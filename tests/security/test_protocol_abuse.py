"""What else a reviewer tries in ten minutes: method-override headers, huge headers, JSON
with duplicate keys, deep or big metadata, Range and If-Match garbage. Each gets a definite
answer (never a 500), and nothing changes that should not."""

from __future__ import annotations

import json

import pytest
from seckit import MiB, raw_request, request_head, send

JSON = [("Content-Type", "application/json")]
DATA = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture
def asset(live):
    return live.store.upload(DATA, name="m", version="1.0", tag="a", filename="m.bin")


def unchanged(live) -> None:
    asset = live.store.get("m:1.0-a")
    assert (asset.revision, asset.asset_tags, asset.asset_metadata) == (1, [], {})
    assert live.store.read_bytes("m:1.0-a") == DATA
    assert live.store.count() == 1


# --------------------------------------------------------------------------- method override
OVERRIDES = [
    "X-HTTP-Method-Override",
    "X-HTTP-Method",
    "X-Method-Override",
    "X-Original-Method",
    "X-Forwarded-Method",
]


def test_method_override_headers_and_parameters_are_ignored(live, asset):
    live.set_settings(token="t0ken")  # a write would need it: an override must not dodge it
    for header in OVERRIDES:
        for value in ("DELETE", "PUT", "delete"):
            got = send(live.url, "GET", "/asset/m:1.0-a", b"", [(header, value)])
            assert got.status == 200 and json.loads(got.body)["data"]["asset_uri"] == "m:1.0-a"
            query = send(live.url, "POST", "/assets", b"{}", [*JSON, (header, value)])
            assert query.status == 200 and json.loads(query.body)["total"] == 1
            wrong_verb = send(live.url, "POST", "/asset/m:1.0-a", b"{}", [*JSON, (header, value)])
            assert wrong_verb.status == 405
    for suffix in ("?_method=DELETE", "?method=DELETE", "?_method=PUT&asset_tags=x"):
        assert send(live.url, "GET", f"/asset/m:1.0-a{suffix}").status == 200
        assert send(live.url, "POST", f"/asset/m:1.0-a{suffix}", b"{}", JSON).status == 405
    # TRACE, CONNECT and friends are not routes
    for method in ("TRACE", "CONNECT", "PATCH", "PROPFIND", "FOO"):
        assert send(live.url, method, "/asset/m:1.0-a").status in (404, 405), method
    unchanged(live)


# --------------------------------------------------------------------------- huge headers
def test_huge_headers_are_refused_and_the_server_goes_on(live, asset):
    cases = {
        "one 1 MB header": [("X-Big", "a" * MiB)],
        "20,000 headers": [(f"X-H{i}", "v") for i in range(20_000)],
        "1 MB cookie": [("Cookie", "c=" + "a" * MiB)],
        "1 MB Range": [("Range", "bytes=" + ",".join(["0-0"] * 200_000))],
    }
    for name, headers in cases.items():
        head = request_head("DELETE", live.url, "/asset/m:1.0-a", headers, length=0)
        response = raw_request(live.url, head, timeout=15)
        assert response.status in (0, 400, 431), (name, response.status)  # 0: cut off
        assert send(live.url, "GET", "/health").status == 200
    long_path = send(live.url, "GET", "/asset/" + "a" * 200_000)
    assert long_path.status in (0, 400, 404, 414)
    unchanged(live)


def test_header_just_under_the_limit_is_still_served(live, asset):
    response = send(live.url, "GET", "/asset/m:1.0-a", b"", [("X-Pad", "p" * 8000)])
    assert response.status == 200


# --------------------------------------------------------------------------- JSON tricks
def test_duplicate_keys_last_one_wins_everywhere(live, http):
    """The body is parsed once and the same dict is validated and used, so a duplicate key
    cannot pass validation with one value and be stored or run with another."""
    benign_last = (
        b'{"asset_name": "../../escape", "asset_name": "fine", '
        b'"asset_version": {"version": "1", "tag": "a"}}'
    )
    created = send(live.url, "POST", "/asset", benign_last, JSON)
    assert created.status == 201
    assert json.loads(created.body)["asset_uri"] == "fine:1-a"
    hostile_last = (
        b'{"asset_name": "fine2", "asset_name": "../../escape", '
        b'"asset_version": {"version": "1", "tag": "a"}}'
    )
    refused = send(live.url, "POST", "/asset", hostile_last, JSON)
    assert refused.status == 400 and json.loads(refused.body)["error_type"] == "InvalidNameError"
    assert [a.asset_uri for a in live.store.query()] == ["fine:1-a"]
    # filters: what is validated is what runs
    hidden = b'{"asset_name": {"$where": "sleep(1)"}, "asset_name": "fine"}'
    ran = send(live.url, "POST", "/assets", hidden, JSON)
    assert ran.status == 200 and json.loads(ran.body)["total"] == 1
    late = b'{"asset_name": "fine", "asset_name": {"$where": "sleep(1)"}}'
    assert send(live.url, "POST", "/assets", late, JSON).status == 400
    # updates: a duplicated read-only field is refused whichever copy is hostile
    update = b'{"asset_tags": ["ok"], "asset_name": "fine", "asset_name": "renamed"}'
    assert send(live.url, "PUT", "/asset/fine:1-a", update, JSON).status == 400
    assert live.store.get("fine:1-a").revision == 1


def _nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    ("depth", "status", "message"),
    [
        (31, 201, None),  # asset_metadata itself is level 1: 31 objects inside it fit the 32
        (32, 400, "nested deeper than 32"),
        (1000, 400, "nested deeper than 32"),
        (5000, 400, "nested too deeply"),  # beyond the JSON parser: was a 422 "not valid JSON"
    ],
)
def test_metadata_depth_limit_over_http(live, depth, status, message):
    body = (
        '{"asset_name": "deep", "asset_version": {"version": "1", "tag": "a"}, '
        f'"asset_metadata": {_nested(depth)}}}'
    ).encode()
    created = send(live.url, "POST", "/asset", body, JSON)
    assert created.status == status, created.body[:200]
    if message:
        assert message in json.loads(created.body)["error"]
        assert live.store.count() == 0
        upload = live.store.upload(b"x", name="up", version="1", tag="a")
        changed = send(
            live.url,
            "PUT",
            f"/asset/{upload.asset_uri}",
            f'{{"asset_metadata": {_nested(depth)}}}'.encode(),
            JSON,
        )
        assert changed.status == 400 and message in json.loads(changed.body)["error"]
        assert live.store.get(upload.asset_uri).revision == 1
        registry = send(
            live.url,
            "POST",
            "/asset_registry?check_health=false",
            (
                '{"asset_registry_name": "r", "asset_registry_public_url": "https://x.example", '
                f'"asset_registry_metadata": {_nested(depth)}}}'
            ).encode(),
            JSON,
        )
        assert registry.status == 400
        assert live.registry.query() == []


def test_big_metadata_over_http(live):
    """Bodies stop at max_query_bytes (256 KiB: 413 before parsing); the upload's metadata
    field at max_form_field_bytes (1 MiB); the stored object at 1 MiB of JSON."""
    big = {
        "asset_name": "big",
        "asset_version": {"version": "1", "tag": "a"},
        "asset_metadata": {"blob": "x" * MiB},
    }
    body = json.dumps(big).encode()
    assert send(live.url, "POST", "/asset", body, JSON).status == 413
    wide = {**big, "asset_metadata": {f"k{i}": i for i in range(30_000)}}  # ~380 KB
    assert send(live.url, "POST", "/asset", json.dumps(wide).encode(), JSON).status == 413
    live.set_settings(max_query_bytes=4 * MiB)  # the store's own limit, behind the body's
    stored = send(live.url, "POST", "/asset", body, JSON)
    assert stored.status == 400 and "larger than" in json.loads(stored.body)["error"]
    bad_keys = [{"$where": 1}, {"a.b": 1}, {"": 1}, {"a\x00": 1}, {"ok": {"$set": 1}}]
    for metadata in bad_keys:
        response = send(
            live.url,
            "POST",
            "/asset",
            json.dumps({**big, "asset_metadata": metadata}).encode(),
            JSON,
        )
        assert response.status == 400, metadata
    assert live.store.count() == 0


# --------------------------------------------------------------------------- Range
RANGES = {
    # header: (status, slice of DATA or None for the whole file)
    "bytes=" + ",".join(["0-0"] * 1000): (200, None),  # several ranges: the whole file
    "bytes=0-0," * 500 + "0-0": (200, None),
    "bytes=-5-10": (200, None),
    "bytes=--1": (200, None),
    "bytes=-1-": (200, None),
    "bytes=5-2": (200, None),
    "bytes=" + "9" * 25 + "-": (200, None),  # more digits than any file: ignored
    "bytes=0-" + "9" * 25: (200, None),
    "bytes=18446744073709551616-": (416, None),  # 2**64: a well-formed range past the end
    "bytes=99999999999999999999-": (416, None),
    "bytes=0-18446744073709551616": (206, (0, len(DATA))),
    "bytes=-99999999999999999999": (206, (0, len(DATA))),
    "bytes=-0": (416, None),
    "bytes=0-0": (206, (0, 1)),
    "bytes= 10 - 19 ": (206, (10, 20)),
    "BYTES=10-19": (206, (10, 20)),
    "bytes=\xb2-\xb3": (200, None),  # superscript digits: str.isdigit() says yes, int() no
    "bytes=1e3-2e3": (200, None),
    "bytes=0x10-0x20": (200, None),
    "bytes=+1-+2": (200, None),
    "bytes=0-1;bytes=2-3": (200, None),
    "items=0-1": (200, None),
    "bytes": (200, None),
    "=": (200, None),
    "": (200, None),
}


def test_range_abuse(live, asset):
    size = len(DATA)
    for header, (status, span) in RANGES.items():
        response = send(
            live.url, "GET", f"/asset-object/{asset.asset_id}", b"", [("Range", header)]
        )
        assert response.status == status, (header[:60], response.status, response.body[:200])
        if status == 200:
            assert response.body == DATA
            assert response.header("content-range") is None
        elif status == 206:
            start, end = span
            assert response.body == DATA[start:end]
            assert response.header("content-range") == f"bytes {start}-{end - 1}/{size}"
        else:
            assert response.header("content-range") == f"bytes */{size}"
    repeated = send(
        live.url, "GET", f"/asset-object/{asset.asset_id}", b"", [("Range", "bytes=0-0")] * 1000
    )
    assert repeated.status in (200, 206)
    assert repeated.body in (DATA, DATA[:1])


def test_if_range_garbage_gets_the_whole_file(live, asset):
    for value in (
        "garbage",
        '"' + "0" * 64 + '"',
        "W/" + '"x"',
        "\xb2",
        "*",
        "",
        '"a", "b"',
        "Mon, 01 Jan 1990 00:00:00 GMT",
    ):
        response = send(
            live.url,
            "GET",
            f"/asset-object/{asset.asset_id}",
            b"",
            [("Range", "bytes=0-9"), ("If-Range", value)],
        )
        assert response.status == 200 and response.body == DATA, value


# --------------------------------------------------------------------------- If-Match
IF_MATCH_GARBAGE = [
    '"\xb2"',
    "\xb2",
    '"\xb9"',
    '"1", "2"',
    "W/",
    'W/""',
    '""',
    '"-1"',
    '"0x1"',
    '"1.0"',
    '"1 "',
    '"99999999999999999999"',
    "1e0",
    '"+1"',
    '"1"garbage',
    "null",
    '"\u0661"'.encode().decode("latin-1"),
    'W/W/"1"',
]


def test_if_match_garbage_is_a_400_and_changes_nothing(live, asset):
    entry = live.registry.register(
        {
            "asset_registry_id": "r",
            "asset_registry_name": "r",
            "asset_registry_public_url": "https://example.com",
        }
    )
    for value in IF_MATCH_GARBAGE:
        for method, path, body in (
            ("PUT", "/asset/m:1.0-a", b'{"asset_tags": ["changed"]}'),
            ("DELETE", "/asset/m:1.0-a", b""),
            ("PUT", "/asset_registry/r", b'{"asset_registry_tags": ["changed"]}'),
            ("DELETE", "/asset_registry/r", b""),
        ):
            response = send(live.url, method, path, body, [*JSON, ("If-Match", value)])
            assert response.status == 400, (value, method, path, response.body)
            error = json.loads(response.body)
            assert error["error_type"] == "InvalidInputError"
            assert error["error"].startswith("If-Match must be the revision")
    unchanged(live)
    assert live.registry.get("r") == entry
