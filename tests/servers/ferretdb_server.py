"""Build (once, cached) and run the FerretDB test server of ``tests/servers/ferretdb/``.

FerretDB speaks MongoDB's wire protocol; embedded here with its SQLite backend it gives the
tests a real server reached through pymongo, without a MongoDB installation. The Go program
is built with the ordinary ``go build`` into a cache directory keyed by a hash of its
sources (``go.mod``, ``go.sum``, ``main.go``) and of the Go version, so only the first run on
a machine pays for the build (minutes with an empty Go module cache).

The cache is ``$ASSETSTORE_TEST_CACHE`` if set, else ``$XDG_CACHE_HOME/assetstore-tests``
(``~/.cache/assetstore-tests``). Concurrent test runs share it: a file lock lets one of them
build while the others wait, and the binary appears by an atomic rename.
"""

from __future__ import annotations

import hashlib
import os
import selectors
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

SOURCE_DIR = Path(__file__).parent / "ferretdb"
SOURCES = ("go.mod", "go.sum", "main.go")
BINARY = "ferretdb-test-server"
BUILD_TIMEOUT_S = 30 * 60  # a cold build downloads ~600 MB of modules and compiles SQLite
START_TIMEOUT_S = 60


class ServerError(RuntimeError):
    """The test server could not be built or started (the message says why)."""


def go_command() -> str | None:
    """The ``go`` executable on PATH, or None."""
    return shutil.which("go")


def cache_root() -> Path:
    """Where built binaries are kept, outside the repository."""
    explicit = os.environ.get("ASSETSTORE_TEST_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "assetstore-tests"


def source_key(go: str) -> str:
    """Hash of the Go sources and of the toolchain that builds them."""
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update(name.encode() + b"\0" + (SOURCE_DIR / name).read_bytes() + b"\0")
    toolchain = subprocess.run(
        [go, "env", "GOVERSION", "GOOS", "GOARCH"],
        capture_output=True,
        text=True,
        check=True,
        cwd=SOURCE_DIR,
    )
    digest.update(toolchain.stdout.encode())
    return digest.hexdigest()[:20]


def build(go: str, *, say: Callable[[str], None] = print) -> Path:
    """The server binary, built with ``go build`` unless the cache already holds it."""
    target_dir = cache_root() / "ferretdb" / source_key(go)
    binary = target_dir / BINARY
    if binary.exists():
        return binary
    target_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target_dir / "build.lock")):
        if binary.exists():  # another test run built it while we waited
            return binary
        say(f"building the FerretDB test server into {target_dir} (first time: minutes)")
        partial = target_dir / f"{BINARY}.{os.getpid()}.tmp"
        started = time.monotonic()
        try:
            result = subprocess.run(
                [go, "build", "-trimpath", "-buildvcs=false", "-o", str(partial), "."],
                cwd=SOURCE_DIR,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            partial.unlink(missing_ok=True)
            raise ServerError(f"go build did not finish in {BUILD_TIMEOUT_S} s") from exc
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            raise ServerError(
                f"go build of {SOURCE_DIR} failed (exit {result.returncode}):\n"
                f"{result.stderr[-4000:]}"
            )
        partial.replace(binary)
        say(f"built the FerretDB test server in {time.monotonic() - started:.0f} s")
    return binary


@dataclass
class RunningServer:
    """A started server: its process and the URL pymongo connects to."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        """``mongodb://127.0.0.1:<port>/`` (no database: callers append their own)."""
        return f"mongodb://127.0.0.1:{self.port}/"

    def stop(self, timeout: float = 15) -> None:
        """Close stdin (the server's signal to stop), then terminate, then kill."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def start(binary: Path, data_dir: Path) -> RunningServer:
    """Start the server on a free port of 127.0.0.1 with its SQLite files in ``data_dir``.

    The server stops by itself when this process dies (its stdin, a pipe from here, closes)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "server.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [str(binary), "-port", "0", "-dir", str(data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    line = _first_line(process, START_TIMEOUT_S)
    if not line.strip().isdigit():
        server = RunningServer(process, 0, log)
        server.stop(timeout=5)
        raise ServerError(
            f"{binary} did not report its port (got {line!r}, exit {process.returncode}); "
            f"its log:\n{log.read_text(errors='replace')[-4000:]}"
        )
    return RunningServer(process, int(line), log)


def _first_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    """The first line the process prints, or '' if it exits or stays silent too long."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        buffer = b""
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return ""
            chunk = os.read(process.stdout.fileno(), 256)
            if not chunk:
                return ""
            buffer += chunk
    return buffer.split(b"\n", 1)[0].decode(errors="replace")
