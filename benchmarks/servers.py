"""Servers the benchmarks talk to, each in its own process so that its memory never counts
against the client being measured: ``assetstore serve`` and moto's S3."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil

from ._internals import CLI_MODULE


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def assetstore_server(root: Path) -> Iterator[tuple[str, psutil.Process]]:
    """``assetstore serve`` on the local store at ``root``; yields its URL and process."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSETSTORE_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            CLI_MODULE,
            "--store",
            str(root),
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--max-upload-mb",
            "1000000",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server exited: {process.stderr.read().decode()}")  # type: ignore[union-attr]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.1)
        yield url, psutil.Process(process.pid)
    finally:
        process.terminate()
        process.wait(30)


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's S3 server (it keeps objects in RAM); yields its endpoint URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("moto server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
