"""Servers the benchmarks talk to, each in its own process so that its memory never counts
against the client being measured: ``assetstore serve``, moto's S3 and FerretDB.

FerretDB is built and started exactly as the test suite does it, by its helper
``tests/servers/ferretdb_server.py`` (imported from there: it needs no pytest): ``go build``
of ``tests/servers/ferretdb`` once, cached under ``~/.cache/assetstore-tests/ferretdb/``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import psutil

from ._internals import CLI_MODULE
from .log import log
from .paths import REPO

#: The test suite's FerretDB helper, and the Go program it builds.
FERRETDB_HELPER = REPO / "tests" / "servers" / "ferretdb_server.py"
FERRETDB_GO_MOD = REPO / "tests" / "servers" / "ferretdb" / "go.mod"


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def process_server(
    argv: list[str], port: int, env: dict[str, str] | None = None, what: str = "the server"
) -> Iterator[tuple[str, psutil.Process]]:
    """``argv`` in its own process, serving HTTP on ``port`` of the loopback interface: yields
    its URL (once ``/health`` answers 200) and its process; stops it at the end."""
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{what} exited: {process.stderr.read().decode()}")  # type: ignore[union-attr]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"{what} did not start")
            time.sleep(0.1)
        yield url, psutil.Process(process.pid)
    finally:
        process.terminate()
        process.wait(30)


@contextlib.contextmanager
def assetstore_server(root: Path) -> Iterator[tuple[str, psutil.Process]]:
    """``assetstore serve`` on the local store at ``root``; yields its URL and process."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSETSTORE_")}
    argv = [
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
    ]
    with process_server(argv, port, env) as served:
        yield served


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


class ServerUnavailable(RuntimeError):
    """A server the benchmark needs cannot be had on this machine (the message says why)."""


def _ferretdb_helper() -> ModuleType:
    """The test suite's helper, imported from its file (``tests`` is no package)."""
    name = "_assetstore_tests_ferretdb_server"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, FERRETDB_HELPER)
    if spec is None or spec.loader is None:
        raise ServerUnavailable(f"{FERRETDB_HELPER} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def ferretdb_version() -> str:
    """The FerretDB version the Go program requires (its go.mod), e.g. ``v1.24.2``."""
    found = re.search(r"github.com/FerretDB/FerretDB (v\S+)", FERRETDB_GO_MOD.read_text())
    return found.group(1) if found else "unknown"


def ferretdb_binary() -> Path:
    """The FerretDB server, built once (cached); ServerUnavailable without ``go``."""
    helper = _ferretdb_helper()
    go = helper.go_command()
    if go is None:
        raise ServerUnavailable(
            "FerretDB is built with Go: install Go 1.26+ (the go command on PATH)"
        )
    try:
        return Path(helper.build(go, say=lambda message: log(f"  ferretdb: {message}")))
    except helper.ServerError as exc:
        raise ServerUnavailable(str(exc)) from exc


@contextlib.contextmanager
def ferretdb_server(data_dir: Path) -> Iterator[tuple[str, psutil.Process]]:
    """A FerretDB server (SQLite files in ``data_dir``) on a free port of 127.0.0.1; yields
    its URL (``mongodb://127.0.0.1:PORT/``, no database) and its process."""
    helper = _ferretdb_helper()
    binary = ferretdb_binary()
    try:
        server: Any = helper.start(binary, data_dir)
    except helper.ServerError as exc:
        raise ServerUnavailable(str(exc)) from exc
    try:
        yield server.url, psutil.Process(server.process.pid)
    finally:
        server.stop()
