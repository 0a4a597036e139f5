"""Oversize and malformed uploads: refused with 413 / 400 / 422 as the body streams in,
never buffered whole, and nothing is left behind (no asset, no blob, no staging file, nothing
for ``gc`` to find). The memory check runs on the real ``assetstore serve`` process."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from seckit import (
    BOUNDARY,
    TOKEN,
    MiB,
    chunked,
    end,
    form,
    part,
    post_form,
    raw_request,
    request_head,
    staging,
    upload_head,
    wait_until,
)
from seckit import blobs as blob_keys

from assetstore.testing.rss import PeakRss

META = json.dumps({"asset_name": "m", "asset_version": {"version": "1", "tag": "a"}}).encode()
BLOCK = bytes(range(256)) * 4096  # 1 MiB


def megabytes(count: int) -> Iterator[bytes]:
    for _ in range(count):
        yield BLOCK


def assert_nothing_left(live) -> None:
    root = live.root / "store"
    assert wait_until(lambda: staging(root) == []), staging(root)
    assert live.store.count() == 0
    live.store.gc(older_than=0)
    assert live.store.fsck().orphans == []
    assert blob_keys(root) == set()
    assert staging(root) == []


# --------------------------------------------------------------------------- size limits
def test_declared_length_over_the_limit_is_refused_before_the_body(live):
    live.set_settings(max_upload_bytes=MiB)
    for length in (3 * MiB, 10**15, 2**63 - 1):
        # only the headers are sent: the answer cannot have waited for the promised body
        response = raw_request(live.url, upload_head(live.url, length=length), timeout=10)
        assert response.status == 413, response.body
        assert json.loads(response.body)["error_type"] == "PayloadTooLargeError"
    assert_nothing_left(live)


@pytest.mark.parametrize("order", ["metadata-first", "file-first"])
def test_chunked_body_growing_past_the_limit(live, order):
    live.set_settings(max_upload_bytes=MiB)
    meta_part = part("asset_metadata", META)
    file_head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="asset"; filename="big.bin"\r\n\r\n'
    ).encode()

    def body() -> Iterator[bytes]:
        if order == "metadata-first":
            yield meta_part
        yield file_head
        yield from megabytes(64)  # never ends before the limit

    response = raw_request(live.url, upload_head(live.url, chunked=True), chunked(body()))
    assert response.status == 413, response.body
    assert "upload limit" in json.loads(response.body)["error"]
    assert response.sent < 32 * MiB  # refused while streaming, not at the end
    assert_nothing_left(live)


@pytest.mark.parametrize("where", ["preamble", "epilogue", "between parts"])
def test_chunked_body_growing_outside_the_parts(live, where):
    """Bytes around the parts count too: an endless epilogue after a complete form (or
    garbage where the form should start) does not keep the server reading for ever."""
    live.set_settings(max_upload_bytes=MiB)
    complete = form(part("asset_metadata", META), part("asset", b"data", filename=b"f"))
    pieces = {
        "preamble": [b"\r\n" * 1000, *megabytes(64)],
        "epilogue": [complete, *megabytes(64)],
        "between parts": [part("asset_metadata", META), b"junk " * 1000, *megabytes(64)],
    }[where]
    response = raw_request(live.url, upload_head(live.url, chunked=True), chunked(pieces))
    # garbage before the first boundary is malformed; junk after a part is that part's data
    # (over the field limit); after the closing boundary only the body's limit stops it
    assert response.status == {"preamble": 422, "epilogue": 413, "between parts": 413}[where]
    assert response.sent < 32 * MiB
    assert_nothing_left(live)


def test_ten_thousand_tiny_parts(live):
    many = b"".join(part(f"x{i}", b"v") for i in range(10_000))
    response = post_form(
        live.url,
        many + part("asset_metadata", META) + part("asset", b"data", filename=b"f") + end(),
    )
    assert response.status == 413, response.body
    assert "more than 1000 parts" in json.loads(response.body)["error"]
    assert_nothing_left(live)
    # a few unknown fields are still ignored, as a browser form may send them
    few = b"".join(part(f"x{i}", b"v") for i in range(50))
    accepted = post_form(
        live.url, few + part("asset_metadata", META) + part("asset", b"data", filename=b"f") + end()
    )
    assert accepted.status == 201, accepted.body
    assert live.store.read_bytes("m:1-a") == b"data"


# --------------------------------------------------------------------------- malformed forms
FILE = part("asset", b"file bytes " * 1000, filename=b"f.bin")
MALFORMED = {
    # name: (body, content type or None for the usual one, status, part of the message)
    "other boundary in body": (
        form(part("asset_metadata", META), FILE, boundary="other"),
        None,
        422,
        "ended before its closing boundary",
    ),
    "no boundary": (
        form(part("asset_metadata", META), FILE),
        "multipart/form-data",
        422,
        "multipart/form-data",
    ),
    "not multipart": (  # no parts at all: a 400, as the original service answered
        form(part("asset_metadata", META), FILE),
        "application/json",
        400,
        "No file part",
    ),
    "empty body": (b"", None, 422, "ended before its closing boundary"),
    "truncated in the file": (
        part("asset_metadata", META) + FILE[:-200],
        None,
        422,
        "ended before its closing boundary",
    ),
    "truncated in headers": (
        part("asset_metadata", META) + FILE[:40],
        None,
        422,
        "ended before its closing boundary",
    ),
    "no closing boundary": (
        part("asset_metadata", META) + FILE,
        None,
        422,
        "ended before its closing boundary",
    ),
    "garbage": (b"\x00\xff" * 5000, None, 422, "malformed multipart body"),
    "LF line ends": (
        form(part("asset_metadata", META), FILE).replace(b"\r\n", b"\n"),
        None,
        422,
        "malformed multipart body",
    ),
    "missing asset part": (form(part("asset_metadata", META)), None, 400, "No file part"),
    "missing metadata": (form(FILE), None, 400, "missing form field"),
    "two asset parts": (
        form(FILE, FILE, part("asset_metadata", META)),
        None,
        422,
        "more than one 'asset'",
    ),
    "two asset parts, metadata first": (
        form(part("asset_metadata", META), FILE, FILE),
        None,
        422,
        "more than one 'asset'",
    ),
    "two metadata fields": (
        form(part("asset_metadata", META), FILE, part("asset_metadata", META)),
        None,
        422,
        "more than one",
    ),
    "metadata not JSON": (
        form(FILE, part("asset_metadata", b"{'asset_name': 'm'")),
        None,
        422,
        "not valid JSON",
    ),
    "metadata an array": (
        form(FILE, part("asset_metadata", b"[1, 2]")),
        None,
        422,
        "must be a JSON object",
    ),
    "metadata null": (
        form(FILE, part("asset_metadata", b"null")),
        None,
        422,
        "must be a JSON object",
    ),
    "metadata a string": (
        form(part("asset_metadata", b'"m:1-a"'), FILE),
        None,
        422,
        "must be a JSON object",
    ),
    "metadata 1 MB": (
        form(part("asset_metadata", b'{"x": "' + b"a" * MiB + b'"}'), FILE),
        None,
        413,
        "exceeds",
    ),
    "metadata 5000 deep": (
        form(part("asset_metadata", b'{"a": ' * 5000 + b"1" + b"}" * 5000), FILE),
        None,
        400,
        "nested too deeply",
    ),
    "asset_metadata 40 deep": (
        form(
            FILE,
            part(
                "asset_metadata",
                json.dumps(
                    {
                        "asset_name": "m",
                        "asset_version": {"version": "1", "tag": "a"},
                        "asset_metadata": json.loads('{"a": ' * 40 + "1" + "}" * 40),
                    }
                ).encode(),
            ),
        ),
        None,
        400,
        "nested deeper",
    ),
    "asset_metadata with $ keys": (
        form(
            FILE,
            part(
                "asset_metadata",
                json.dumps(
                    {
                        "asset_name": "m",
                        "asset_version": {"version": "1", "tag": "a"},
                        "asset_metadata": {"$where": "1"},
                    }
                ).encode(),
            ),
        ),
        None,
        400,
        "keys may not",
    ),
    "asset_version not an object": (
        form(
            FILE,
            part(
                "asset_metadata", json.dumps({"asset_name": "m", "asset_version": "1-a"}).encode()
            ),
        ),
        None,
        422,
        "asset_version",
    ),
    "5 KB part header": (
        form(part("asset_metadata", META), part("asset", b"x", filename=b"f" * 5000)),
        None,
        422,
        "Maximum header size",
    ),
    "20 part headers": (
        form(
            part("asset_metadata", META),
            part(
                "asset", b"x", filename=b"f", extra=b"\r\n".join(b"X-%d: v" % i for i in range(20))
            ),
        ),
        None,
        422,
        "Maximum header count",
    ),
    "2 MB ignored field": (
        form(part("comment", b"c" * (2 * MiB)), part("asset_metadata", META), FILE),
        None,
        413,
        "too large",
    ),
    "part without a name": (
        form(part(b"", b"x"), part("asset_metadata", META)),
        None,
        400,
        "No file part",
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_multipart(live, case):
    body, content_type, status, message = MALFORMED[case]
    headers = [("Content-Type", content_type or f"multipart/form-data; boundary={BOUNDARY}")]
    response = raw_request(
        live.url, request_head("POST", live.url, "/upload_asset", headers, length=len(body)), [body]
    )
    assert response.status == status, response.body[:300]
    error = json.loads(response.body)
    assert error["success"] is False
    assert message in error["error"], error
    assert "\n" not in error["error"] and "Traceback" not in error["error"]
    assert_nothing_left(live)


# --------------------------------------------------------------------------- the real server
def test_big_hostile_bodies_keep_server_memory_flat(secure_server, http):
    """On ``assetstore serve`` (128 MiB limit): 512 MiB offered without Content-Length, a
    100 MiB file behind a refused name (read and dropped), a 64 MiB file followed by a second
    file part, and 100 GiB declared. The server's RSS stays far below any of these bodies,
    and afterwards nothing is stored and ``gc(older_than=0)`` finds no orphan."""
    url = secure_server.url
    data = secure_server.workdir / "assetstore-data"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    total_before = http.post(f"{url}/assets?limit=0", json={}).json()["total"]
    keys_before = blob_keys(data)
    file_head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="asset"; filename="big.bin"\r\n\r\n'
    ).encode()
    bad_meta = json.dumps(
        {"asset_name": "../../escape", "asset_version": {"version": "1", "tag": "a"}}
    ).encode()
    with PeakRss(secure_server.process.pid) as rss:
        grown = raw_request(
            url,
            upload_head(url, chunked=True, token=TOKEN),
            chunked(
                [
                    part("asset_metadata", META.replace(b'"m"', b'"rss-grow"')),
                    file_head,
                    *megabytes(512),
                ]
            ),
        )
        drained = raw_request(
            url,
            upload_head(url, chunked=True, token=TOKEN),
            chunked([part("asset_metadata", bad_meta), file_head, *megabytes(100), b"\r\n", end()]),
        )
        doubled = raw_request(
            url,
            upload_head(url, chunked=True, token=TOKEN),
            chunked(
                [
                    file_head,
                    *megabytes(64),
                    b"\r\n",
                    file_head,
                    b"x\r\n",
                    part("asset_metadata", META.replace(b'"m"', b'"rss-twice"')),
                    end(),
                ]
            ),
        )
        declared = raw_request(url, upload_head(url, length=100 << 30, token=TOKEN), timeout=10)
    assert grown.status == 413, grown.body
    assert 128 * MiB <= grown.sent < 512 * MiB
    assert drained.status == 400, drained.body
    assert json.loads(drained.body)["error_type"] == "InvalidNameError"
    assert drained.sent >= 100 * MiB  # read to the end (a clean answer), never kept
    assert doubled.status == 422, doubled.body
    assert declared.status == 413
    growth = rss.growth
    assert growth < 48 * MiB, f"server RSS grew by {growth / MiB:.0f} MiB"

    assert wait_until(lambda: staging(data) == [])
    assert http.post(f"{url}/assets?limit=0", json={}).json()["total"] == total_before
    gc = http.post(f"{url}/admin/gc?older_than=0", headers=auth)
    assert gc.status_code == 200, gc.text
    fsck = http.post(f"{url}/admin/fsck", headers=auth).json()["data"]
    assert fsck["orphans"] == [] and fsck["ok"]
    assert blob_keys(data) == keys_before
