"""Live servers for the HTTP tests (imported by conftest.py and the test modules).

* ``serve(store, registry, settings)`` runs the app under uvicorn on 127.0.0.1 (a free port)
  in a background thread and yields its base URL; ``serve_app(app)`` does so for an app.
* ``run_cli_server(workdir, *args)`` runs ``assetstore serve`` as a real subprocess.
* ``http_server(host)`` is a canary: an HTTP server that records every request it gets.
* ``serve_both(root)`` serves both services on a local store and registry under ``root``;
  ``fresh_live(app, url, root)`` swaps such a server onto a new store and registry.

To run the HTTP conformance suites on another backing store (S3 + MongoDB...), serve it::

    with serve(my_store, my_registry) as url, open_store(url) as client: ...
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from assetstore import open_registry, open_store
from assetstore.contract import AssetStore, Registry
from assetstore.http.app import create_app
from assetstore.settings import ServiceSettings

TOKEN = "s3cr3t-test-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve(
    store: AssetStore | None = None,
    registry: Registry | None = None,
    settings: ServiceSettings | None = None,
) -> Iterator[str]:
    """Serve ``store`` and/or ``registry`` on 127.0.0.1 until the block ends; yields the URL."""
    with serve_app(create_app(store, registry, settings or ServiceSettings())) as url:
        yield url


@contextlib.contextmanager
def serve_app(app: FastAPI) -> Iterator[str]:
    """Serve an application on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP
    # (with proto 0 every keep-alive request waits ~40 ms for a delayed ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5, http="h11"
    )  # as `assetstore serve`
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"uvicorn-{port}"
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@dataclass
class CliServer:
    """A running ``assetstore serve`` subprocess."""

    url: str
    process: subprocess.Popen[bytes]
    workdir: Path


@contextlib.contextmanager
def run_cli_server(
    workdir: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[CliServer]:
    """``assetstore serve --port <free> ARGS`` in ``workdir`` (so the store is the embedded
    default ``./assetstore-data``), stopped at the end."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ASSETSTORE_")}
    environment.update(env or {})
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assetstore.cli",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
            *args,
        ],
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=environment,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                log_text = (workdir / "server.log").read_text()
                raise RuntimeError(f"assetstore serve exited: {log_text}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("assetstore serve did not start")
            time.sleep(0.1)
        yield CliServer(url, process, workdir)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@dataclass
class Live:
    """A running in-thread server and what it serves (the backing store and registry are
    fresh for each test; ``set_settings`` changes the service's settings for one test)."""

    url: str
    app: FastAPI
    store: AssetStore
    registry: Registry
    root: Path

    def set_settings(self, **values: object) -> ServiceSettings:
        settings = ServiceSettings(**values)  # type: ignore[arg-type]
        self.app.state.settings = settings
        return settings


@contextlib.contextmanager
def serve_both(root: Path) -> Iterator[tuple[FastAPI, str]]:
    """Both services, in a thread, on a local store and registry under ``root``."""
    with open_store(root / "store") as store, open_registry(root / "registry") as registry:
        app = create_app(store, registry, ServiceSettings())
        with serve_app(app) as url:
            yield app, url


@contextlib.contextmanager
def fresh_live(app: FastAPI, url: str, root: Path) -> Iterator[Live]:
    """The server of ``app`` swapped onto a new store and registry under ``root``, with
    default settings."""
    with open_store(root / "store") as store, open_registry(root / "registry") as registry:
        app.state.store, app.state.registry = store, registry
        app.state.settings = ServiceSettings()
        yield Live(url, app, store, registry, root)


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str]
    location: str | None = None
    body: bytes = b""

    def do_GET(self) -> None:
        self.hits.append(self.path)
        if self.location:
            self.send_response(302)
            self.send_header("Location", self.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_POST = do_GET  # a federated search POSTs its query

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Canary:
    """An HTTP server that records every request it gets."""

    host: str
    port: int
    hits: list[str] = field(default_factory=list)


@contextlib.contextmanager
def http_server(
    host: str = "127.0.0.1",
    location: str | None = None,
    port: int = 0,
    *,
    body: bytes = b'{"success": true}',
) -> Iterator[Canary]:
    """A canary on ``host``: it answers ``body`` (200), or redirects to ``location``."""
    hits: list[str] = []
    handler = type("Handler", (_Recorder,), {"hits": hits, "location": location, "body": body})
    server_class = ThreadingHTTPServer
    if ":" in host:
        server_class = type("V6Server", (ThreadingHTTPServer,), {"address_family": socket.AF_INET6})
    server = server_class((host, port), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield Canary(host, server.server_address[1], hits)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
