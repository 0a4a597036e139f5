"""Finding 10: uploads could be stalled, and queued uploads filled the memory.

16 uploads trickling a byte a second held every upload worker (an honest upload got no
answer in 25 s), and 100 queued 8 MiB uploads grew the server from 56 to 666 MiB. Now an
upload that goes idle, or holds a worker without feeding it, gets a 408 and gives the
worker back; an upload that finds every worker (or the memory they may use) taken gets a
503 with Retry-After at once, and nothing is queued in memory. Batch uploads
(``POST /batch/upload``) are uploads under the same limits."""

from __future__ import annotations

import concurrent.futures
import json
import threading
import time
from collections.abc import Iterator

import pytest
from live_server import run_cli_server
from seckit import (
    MiB,
    RawResponse,
    chunked,
    end,
    part,
    post_form,
    raw_request,
    staging,
    upload_head,
    wait_until,
)

from assetstore.testing.rss import PeakRss


def metadata(name: str) -> bytes:
    return part(
        "asset_metadata",
        json.dumps({"asset_name": name, "asset_version": {"version": "1", "tag": "a"}}).encode(),
    )


FILE_HEAD = (
    b'--hostile-boundary-7f3a\r\nContent-Disposition: form-data; name="asset"; filename="f"\r\n\r\n'
)


def trickled(name: str, seconds: float, interval: float = 0.1) -> Iterator[bytes]:
    """A form whose file comes one byte per ``interval`` for up to ``seconds``."""
    yield metadata(name) + FILE_HEAD
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        time.sleep(interval)
        yield b"x"
    yield b"\r\n" + end()


def stalled(name: str, seconds: float) -> Iterator[bytes]:
    """A form that sends part of its file, then nothing for ``seconds``."""
    yield metadata(name) + FILE_HEAD + b"y" * 100_000
    time.sleep(seconds)
    yield b"\r\n" + end()


def send(
    url: str, pieces: Iterator[bytes], timeout: float = 60, path: str = "/upload_asset"
) -> RawResponse:
    head = upload_head(url, chunked=True, path=path)
    return raw_request(url, head, chunked(pieces), timeout=timeout)


def manifest(*names: str) -> bytes:
    """The manifest field of a batch upload of one file per name."""
    items = [{"asset_name": name, "asset_version": {"version": "1", "tag": "a"}} for name in names]
    return part("manifest", json.dumps(items).encode())


BATCH_FILE_HEAD = b'--hostile-boundary-7f3a\r\nContent-Disposition: form-data; name="file"\r\n\r\n'


def trickled_batch(names: list[str], seconds: float, interval: float = 0.1) -> Iterator[bytes]:
    """A batch whose first file is whole and whose second comes a byte per ``interval``."""
    yield manifest(*names) + part("file", b"first")
    yield BATCH_FILE_HEAD
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        time.sleep(interval)
        yield b"x"
    yield b"\r\n" + end()


def honest(url: str, name: str, size: int = 1 * MiB) -> RawResponse:
    body = metadata(name) + part("asset", b"z" * size, filename=b"h.bin") + end()
    return post_form(url, body)


def assert_nothing_kept(live, *names: str) -> None:
    assert wait_until(lambda: staging(live.root / "store") == [])
    for name in names:
        assert live.store.query({"asset_name": name}) == []


def test_an_upload_that_goes_silent_gets_a_408(live):
    live.set_settings(upload_idle_timeout=1)
    answer = send(live.url, stalled("silent", 20))
    assert answer.status == 408, answer.body
    assert json.loads(answer.body)["error_type"] == "RequestTimeoutError"
    assert answer.header("connection") == "close"
    assert_nothing_kept(live, "silent")


def test_a_trickling_upload_loses_its_worker(live):
    """A byte every 0.1 s is never idle, but never feeds the worker 64 KiB either."""
    live.set_settings(upload_idle_timeout=1)
    answer = send(live.url, trickled("trickle", 30))
    assert answer.status == 408, answer.body
    assert "upload_idle_timeout" in json.loads(answer.body)["error"]
    assert_nothing_kept(live, "trickle")


@pytest.mark.parametrize("stall", ["silent", "trickle"])
def test_a_batch_upload_that_stalls_gets_a_408(live, stall):
    """A batch is an upload under the same limits: one that goes silent, or trickles, loses
    its worker, and none of its files is kept (the first was whole)."""
    live.set_settings(upload_idle_timeout=1)

    def silent() -> Iterator[bytes]:
        yield manifest("b0", "b1") + part("file", b"first") + BATCH_FILE_HEAD + b"y" * 100
        time.sleep(20)
        yield b"\r\n" + end()

    pieces = silent() if stall == "silent" else trickled_batch(["b0", "b1"], 30)
    answer = send(live.url, pieces, path="/batch/upload")
    assert answer.status == 408, answer.body
    assert json.loads(answer.body)["error_type"] == "RequestTimeoutError"
    assert_nothing_kept(live, "b0", "b1")
    assert live.app.state.upload_limits.streaming == 0
    assert live.app.state.upload_limits.held == 0


def test_batch_uploads_share_the_upload_workers(live):
    """Two workers held by trickling batches: an upload and a batch are told to retry at
    once (503), and go through once the tricklers are cut off."""
    live.set_settings(upload_workers=2, upload_idle_timeout=2)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        tricklers = [
            pool.submit(
                send, live.url, trickled_batch([f"t{i}a", f"t{i}b"], 30), 60, "/batch/upload"
            )
            for i in range(2)
        ]
        assert wait_until(lambda: live.app.state.upload_limits.streaming == 2, 10)
        refused = honest(live.url, "honest")
        assert refused.status == 503, refused.body
        batch = manifest("h0") + part("file", b"h") + end()
        refused_batch = raw_request(
            live.url, upload_head(live.url, length=len(batch), path="/batch/upload"), [batch]
        )
        assert refused_batch.status == 503, refused_batch.body
        assert int(refused_batch.header("retry-after")) >= 1
        assert [t.result().status for t in tricklers] == [408, 408]
    accepted = raw_request(
        live.url, upload_head(live.url, length=len(batch), path="/batch/upload"), [batch]
    )
    assert accepted.status == 201, accepted.body
    assert live.store.read_bytes("h0:1-a") == b"h"
    assert live.app.state.upload_limits.streaming == 0
    assert live.app.state.upload_limits.held == 0
    assert_nothing_kept(live, "t0a", "t0b", "t1a", "t1b")


def test_busy_workers_answer_503_then_free_up(live):
    """Two workers, two tricklers holding them: an honest upload is told to retry (503 +
    Retry-After) at once; once the tricklers have been cut off, it goes through."""
    live.set_settings(upload_workers=2, upload_idle_timeout=2)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        tricklers = [pool.submit(send, live.url, trickled(f"t{i}", 30)) for i in range(2)]
        assert wait_until(lambda: live.app.state.upload_limits.streaming == 2, 10)
        refused = honest(live.url, "honest")
        assert refused.status == 503, refused.body
        assert int(refused.header("retry-after")) >= 1
        assert json.loads(refused.body)["error_type"] == "ServiceBusyError"
        assert [t.result().status for t in tricklers] == [408, 408]
    accepted = honest(live.url, "honest")
    assert accepted.status == 201, accepted.body
    assert live.app.state.upload_limits.streaming == 0
    assert live.app.state.upload_limits.held == 0
    assert_nothing_kept(live, "t0", "t1")


def test_queued_uploads_do_not_fill_the_memory(tmp_path):
    """``assetstore serve`` with 2 upload workers and 16 MiB of upload buffers, both held by
    tricklers: 100 uploads of 8 MiB each get a 503 at once, and the server's memory stays
    flat (it once grew by 610 MiB)."""
    env = {
        "ASSETSTORE_UPLOAD_WORKERS": "2",
        "ASSETSTORE_UPLOAD_BUFFER_BYTES": str(16 * MiB),
        "ASSETSTORE_UPLOAD_IDLE_TIMEOUT": "30",
    }
    with run_cli_server(tmp_path, env=env) as server:
        url = server.url
        stop = threading.Event()

        def trickle(name: str) -> RawResponse:
            def pieces() -> Iterator[bytes]:
                yield metadata(name) + FILE_HEAD + b"w" * (2 * MiB)  # two batches: busy
                while not stop.is_set():
                    time.sleep(0.1)
                    yield b"x"
                yield b"\r\n" + end()

            return send(url, pieces())

        def flood(index: int) -> RawResponse:
            body = metadata(f"f{index}") + part("asset", b"v" * (8 * MiB), filename=b"f") + end()
            return post_form(url, body)

        with concurrent.futures.ThreadPoolExecutor(2) as holders:
            held = [holders.submit(trickle, f"hold{i}") for i in range(2)]
            time.sleep(1)  # the two take their workers (the 503s below show they have)
            with (
                PeakRss(server.process.pid) as rss,
                concurrent.futures.ThreadPoolExecutor(25) as pool,
            ):
                answers = list(pool.map(flood, range(100)))
            stop.set()
            assert [h.result().status for h in held] == [201, 201]
    assert {answer.status for answer in answers} == {503}, {a.status for a in answers}
    assert all(int(answer.header("retry-after")) >= 1 for answer in answers)
    assert rss.growth < 64 * MiB, f"server RSS grew by {rss.growth / MiB:.0f} MiB"


@pytest.mark.parametrize("size", [0, 1, 1 << 20, (1 << 20) + 7])
def test_ordinary_uploads_are_unaffected(live, size):
    answer = honest(live.url, f"ok{size}", size)
    assert answer.status == 201, answer.body
    assert live.store.read_bytes(f"ok{size}:1-a") == b"z" * size
