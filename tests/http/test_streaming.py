"""Uploads stream through the service with flat memory; limits and disconnects leave
nothing behind."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import time
from pathlib import Path

import httpx
import pytest

from assetstore import open_store
from assetstore.errors import AlreadyExistsError, PayloadTooLargeError
from assetstore.testing.rss import PeakRss

MiB = 1 << 20


class Generated(io.RawIOBase):
    """``size`` bytes made on the fly (never held whole), hashed as they are read; not
    seekable, so the client sends them with chunked transfer encoding."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.left = size
        self.block = bytes(range(256)) * 4096  # 1 MiB
        self.sha256 = hashlib.sha256()
        self.counter = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if not self.left:
            return 0
        count = min(len(buffer), self.left, len(self.block))
        self.counter += 1
        data = (
            self.counter.to_bytes(8, "big") + self.block[8:count]
            if count > 8
            else self.block[:count]
        )
        buffer[:count] = data
        self.sha256.update(data)
        self.left -= count
        return count


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


def test_large_upload_keeps_server_memory_flat(cli_server):
    size = 200 * MiB
    source = Generated(size)
    with (
        PeakRss(cli_server.process.pid, interval=0.02) as rss,
        open_store(cli_server.url) as client,
    ):
        asset = client.upload(source, name="big", version="1", tag="stream", filename="big.bin")
        assert asset.file_size == size
        assert asset.sha256 == source.sha256.hexdigest()
        # and back, streamed and verified on the way
        digest, total = hashlib.sha256(), 0
        with client.open(asset.asset_uri) as reader:
            while chunk := reader.read(MiB):
                digest.update(chunk)
                total += len(chunk)
        assert (total, digest.hexdigest()) == (size, asset.sha256)
    growth = rss.growth
    assert growth < 60 * MiB, f"server RSS grew by {growth / MiB:.0f} MiB for a 200 MiB upload"


def test_size_limit(live):
    live.set_settings(max_upload_bytes=MiB)
    objects = live.root / "store" / "objects"
    with open_store(live.url) as client:
        with pytest.raises(PayloadTooLargeError):  # known size: refused from Content-Length
            client.upload(b"x" * (64 * MiB), name="big", version="1", tag="a")
        with pytest.raises(PayloadTooLargeError):  # streamed: refused when the limit passes
            client.upload(Generated(3 * MiB), name="big", version="1", tag="a")
        assert client.upload(b"x" * MiB, name="fits", version="1", tag="a").file_size == MiB
        assert client.count() == 1
    assert len(files_under(objects)) == 1
    assert files_under(live.root / "store" / ".tmp") == []
    assert live.store.fsck().orphans == []


def test_curl_order_and_client_order(live):
    """The metadata may come after the file (curl's order) or before it (the client's)."""
    meta = json.dumps({"asset_name": "late", "asset_version": {"version": "1", "tag": "a"}})
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="asset"; filename="a.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\nfile first\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="asset_metadata"\r\n\r\n'
        f"{meta}\r\n--{boundary}--\r\n"
    ).encode()
    response = httpx.post(
        f"{live.url}/upload_asset",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"]["asset_file_info"]["file_type"] == "text/plain"
    assert live.store.read_bytes("late:1-a") == b"file first"


def test_taken_uri_refused_before_the_file_is_stored(live):
    with open_store(live.url) as client:
        client.upload(b"first", name="t", version="1", tag="a")
        with pytest.raises(AlreadyExistsError):
            client.upload(Generated(8 * MiB), name="t", version="1", tag="a")
    assert live.store.read_bytes("t:1-a") == b"first"
    assert len(files_under(live.root / "store" / "objects")) == 1
    assert files_under(live.root / "store" / ".tmp") == []


def test_disconnect_mid_upload_leaves_nothing(live):
    host, port = live.url.removeprefix("http://").split(":")
    meta = json.dumps({"asset_name": "cut", "asset_version": {"version": "1", "tag": "a"}})
    boundary = "cutcut"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="asset_metadata"\r\n\r\n'
        f'{meta}\r\n--{boundary}\r\nContent-Disposition: form-data; name="asset"; '
        f'filename="c.bin"\r\n\r\n'
    ).encode()
    request = (
        f"POST /upload_asset HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(head) + 50 * MiB}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(request + head)
        for _ in range(6):  # 6 MiB of the promised 50, then the client goes away
            sock.sendall(b"z" * MiB)
        time.sleep(0.3)  # let the server stage part of it
    deadline = time.monotonic() + 10
    while files_under(live.root / "store" / ".tmp") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert files_under(live.root / "store" / ".tmp") == []
    with open_store(live.url) as client:
        assert client.count() == 0
        client.gc(older_than=0)
        assert client.fsck().orphans == []
    assert files_under(live.root / "store" / "objects") == []
