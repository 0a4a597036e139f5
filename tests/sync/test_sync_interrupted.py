"""An interrupted sync leaves no partial asset, and running it again completes it: the
process killed (SIGKILL) in the middle of a large file and in the middle of a batch, stopped
with Ctrl-C, and a source whose connection drops. A large file continues where it stopped:
the source is asked for the rest only (an HTTP ``Range``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from live_server import serve

import assetstore
from assetstore import BackendUnavailableError, open_store

MiB = 1 << 20


class Throttled:
    """Makes a served store's files slow to read (``delay`` seconds per ``step`` bytes, and
    per file opened), and records the offset of every read of a file."""

    def __init__(self, store, *, delay: float, step: int = 256 * 1024, per_file: float = 0.0):
        self.store = store
        self.delay = delay
        self.step = step
        self.per_file = per_file
        self.starts: list[int] = []
        self.on = True
        self._open_asset = store.open_asset
        store.open_asset = self.open_asset

    def open_asset(self, asset, *, start=0, end=None):
        self.starts.append(start)
        reader = self._open_asset(asset, start=start, end=end)
        if not self.on:
            return reader
        time.sleep(self.per_file)
        return _SlowReader(reader, self)


class _SlowReader:
    def __init__(self, raw, throttle: Throttled):
        self._raw = raw
        self._throttle = throttle

    def read(self, size=-1):
        if self._throttle.on:
            time.sleep(self._throttle.delay)
            size = self._throttle.step if size < 0 else min(size, self._throttle.step)
        return self._raw.read(size)

    def close(self):
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def start_sync(source: str, destination: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSETSTORE_")}
    return subprocess.Popen(
        [sys.executable, "-m", "assetstore.cli", "sync", source, str(destination), "-q", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def partial_size(destination: Path) -> int:
    partials = list((destination / ".tmp").glob("resume-*"))
    return partials[0].stat().st_size if partials else 0


def count(destination: Path) -> int:
    with open_store(destination) as store:
        return store.count()


@pytest.mark.slow
def test_killed_in_the_middle_of_a_file_then_resumed_from_where_it_stopped(tmp_path):
    data = os.urandom(40 * MiB)
    with open_store(tmp_path / "src") as source:
        source.upload(data, name="big", version="1", tag="t")
        throttle = Throttled(source, delay=0.02)
        destination = tmp_path / "dst"
        with serve(source) as url:
            process = start_sync(url, destination, "--jobs", "1")
            try:
                wait_for(lambda: partial_size(destination) >= 8 * MiB)
            finally:
                process.kill()
                process.wait()
            kept = partial_size(destination)
            assert process.returncode == -signal.SIGKILL
            with open_store(destination) as store:  # nothing partial is visible
                assert store.count() == 0
                assert store.fsck().ok

            throttle.on = False
            throttle.starts.clear()
            report = assetstore.sync(url, destination)

        assert report.copied == 1
        assert throttle.starts == [kept]  # only the rest was asked for
        assert report.bytes == len(data) - kept
        with open_store(destination) as store:
            assert store.read_bytes("big:1-t") == data
            assert store.fsck().ok
        assert partial_size(destination) == 0


@pytest.mark.slow
def test_killed_in_the_middle_of_a_batch_leaves_whole_assets_then_completes(tmp_path):
    total = 1200  # three batches of at most 500
    with open_store(tmp_path / "src") as source:
        source.upload_many(
            {"source": os.urandom(1024), "name": f"m{i:04}", "version": "1", "tag": "t"}
            for i in range(total)
        )
        Throttled(source, delay=0, per_file=0.004)
        destination = tmp_path / "dst"
        with serve(source) as url:
            process = start_sync(url, destination, "--jobs", "1")
            try:
                wait_for(lambda: destination.exists() and count(destination) > 0)
            finally:
                process.kill()
                process.wait()
            done = count(destination)
            assert 0 < done < total
            with open_store(destination) as store:
                assert store.fsck().ok  # every asset there is whole
                for asset in store.query():
                    assert store.read_bytes(asset.asset_uri) == source.read_bytes(asset.asset_uri)

            report = assetstore.sync(url, destination)

        assert (report.copied, report.skipped, report.failed) == (total - done, done, 0)
        with open_store(destination) as store:
            assert store.count() == total
            assert store.fsck().ok


@pytest.mark.slow
def test_ctrl_c_stops_with_nothing_partial(tmp_path):
    with open_store(tmp_path / "src") as source:
        source.upload(os.urandom(24 * MiB), name="big", version="1", tag="t")
        source.upload_many(
            {"source": os.urandom(100), "name": f"s{i}", "version": "1", "tag": "t"}
            for i in range(50)
        )
        throttle = Throttled(source, delay=0.02)
        destination = tmp_path / "dst"
        with serve(source) as url:
            process = start_sync(url, destination, "--jobs", "2")
            try:
                wait_for(lambda: partial_size(destination) > 0)
                process.send_signal(signal.SIGINT)
                _, stderr = process.communicate(timeout=60)
            finally:
                process.kill()
            assert process.returncode == 130
            assert b"interrupted" in stderr
            assert b"Traceback" not in stderr
            with open_store(destination) as store:
                assert store.fsck().ok
                assert "big:1-t" not in {a.asset_uri for a in store.query()}
            throttle.on = False
            report = assetstore.sync(url, destination)
        assert report.failed == 0
        with open_store(destination) as store:
            assert store.count() == 51


def test_a_dropped_connection_is_retried_and_the_file_resumes(tmp_path):
    """The source breaks off after 10 MiB: the transfer is tried again, continuing after
    what the destination kept."""
    data = os.urandom(20 * MiB)
    with open_store(tmp_path / "src") as source, open_store(tmp_path / "dst") as destination:
        source.upload(data, name="big", version="1", tag="t")
        starts: list[int] = []
        original = source.open_asset
        broke = threading.Event()

        def flaky(asset, *, start=0, end=None):
            starts.append(start)
            reader = original(asset, start=start, end=end)
            return reader if broke.is_set() else _Breaking(reader, 10 * MiB, broke)

        source.open_asset = flaky
        report = assetstore.sync(source, destination)
        assert report.copied == 1
        assert starts[0] == 0 and starts[1] >= 8 * MiB
        assert destination.read_bytes("big:1-t") == data


class _Breaking:
    def __init__(self, raw, after: int, broke: threading.Event):
        self._raw = raw
        self._left = after
        self._broke = broke

    def read(self, size=-1):
        if self._left <= 0:
            self._broke.set()
            raise BackendUnavailableError("the connection dropped")
        data = self._raw.read(min(size, self._left) if size > 0 else self._left)
        self._left -= len(data)
        return data

    def close(self):
        self._raw.close()
