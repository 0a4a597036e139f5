"""Helpers of the hostile-input suite: raw HTTP (no client-side normalisation or escaping),
multipart bodies built byte by byte, a canary server on loopback, and the file-tree checks
that prove nothing was written where it should not be."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import live_server
from live_server import Canary

MiB = 1 << 20
TOKEN = "s3cr3t-security-token"


# --------------------------------------------------------------------------- raw HTTP
@dataclass
class RawResponse:
    """What came back on a raw connection: ``status`` 0 if the server closed it without
    answering; ``headers`` as (lower-case name, value) pairs, repeated names kept."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    sent: int = 0  # body bytes the server accepted before answering or closing

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name.lower()]


def host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _parse(data: bytes) -> tuple[int, list[tuple[str, str]], int] | None:
    """(status, headers, offset of the body) once the head is complete, else None."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = data[:end].decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return status, headers, end + 4


def raw_request(
    url: str,
    head: bytes,
    body: Iterable[bytes] = (),
    *,
    timeout: float = 30.0,
) -> RawResponse:
    """Send ``head`` (request line and headers, exactly these bytes) and then ``body`` piece
    by piece on a new connection, while reading the answer in another thread; stop sending
    as soon as an answer starts or the server closes. The answer's body is read up to its
    Content-Length (the service always sends one)."""
    sock = socket.create_connection(host_port(url), timeout=timeout)
    received = bytearray()
    answered = threading.Event()
    finished = threading.Event()

    def read() -> None:
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                received.extend(data)
                answered.set()
                parsed = _parse(bytes(received))
                if parsed is not None:
                    length = dict(parsed[1]).get("content-length")
                    if length is not None and len(received) >= parsed[2] + int(length):
                        break
        except OSError:
            pass
        finally:
            answered.set()
            finished.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    sent = 0
    try:
        sock.sendall(head)
        for piece in body:
            if answered.is_set():
                break
            sock.sendall(piece)
            sent += len(piece)
    except OSError:  # the server answered and closed while we were still sending
        pass
    finished.wait(timeout)
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    reader.join(5)
    parsed = _parse(bytes(received))
    if parsed is None:
        return RawResponse(0, [], bytes(received), sent)
    status, headers, start = parsed
    return RawResponse(status, headers, bytes(received[start:]), sent)


def request_head(
    method: str,
    url: str,
    path: str,
    headers: Iterable[tuple[str, str]] = (),
    *,
    length: int | None = None,
    chunked: bool = False,
) -> bytes:
    """The head of a request, with the path sent exactly as given (no normalisation)."""
    host, port = host_port(url)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    elif length is not None:
        lines.append(f"Content-Length: {length}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def send(
    url: str,
    method: str,
    path: str,
    body: bytes = b"",
    headers: Iterable[tuple[str, str]] = (),
    *,
    timeout: float = 30.0,
) -> RawResponse:
    """One raw request with a complete body."""
    head = request_head(method, url, path, headers, length=len(body))
    return raw_request(url, head, [body] if body else [], timeout=timeout)


def chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """``pieces`` in chunked transfer coding (no Content-Length: the size is unknown)."""
    for piece in pieces:
        if piece:
            yield b"%x\r\n" % len(piece) + piece + b"\r\n"
    yield b"0\r\n\r\n"


# --------------------------------------------------------------------------- multipart
BOUNDARY = "hostile-boundary-7f3a"


def part(
    name: str | bytes,
    data: bytes,
    *,
    filename: bytes | None = None,
    extra: bytes = b"",
    boundary: str = BOUNDARY,
) -> bytes:
    """One form part, byte for byte: ``filename`` is put between the quotes as it is."""
    name_bytes = name.encode() if isinstance(name, str) else name
    disposition = b'Content-Disposition: form-data; name="' + name_bytes + b'"'
    if filename is not None:
        disposition += b'; filename="' + filename + b'"'
    headers = disposition + b"\r\n" + (extra + b"\r\n" if extra else b"")
    return f"--{boundary}\r\n".encode() + headers + b"\r\n" + data + b"\r\n"


def end(boundary: str = BOUNDARY) -> bytes:
    return f"--{boundary}--\r\n".encode()


def form(*parts: bytes, boundary: str = BOUNDARY) -> bytes:
    return b"".join(parts) + end(boundary)


def upload_head(
    url: str,
    *,
    length: int | None = None,
    chunked: bool = False,
    boundary: str = BOUNDARY,
    token: str | None = None,
    path: str = "/upload_asset",
) -> bytes:
    headers = [("Content-Type", f"multipart/form-data; boundary={boundary}")]
    if token:
        headers.append(("Authorization", f"Bearer {token}"))
    return request_head("POST", url, path, headers, length=length, chunked=chunked)


def post_form(
    url: str, body: bytes, *, boundary: str = BOUNDARY, token: str | None = None
) -> RawResponse:
    return raw_request(
        url, upload_head(url, length=len(body), boundary=boundary, token=token), [body]
    )


# --------------------------------------------------------------------------- file trees
def snapshot(root: Path, *, exclude: Iterable[Path] = ()) -> dict[str, tuple[bool, int, int]]:
    """Every path under ``root`` (outside ``exclude``) with (is_dir, size, mtime_ns)."""
    skipped = [path.resolve() for path in exclude]
    found: dict[str, tuple[bool, int, int]] = {}
    for directory, dirs, files in os.walk(root):
        here = Path(directory).resolve()
        dirs[:] = [d for d in dirs if (here / d) not in skipped]
        for name in dirs + files:
            path = here / name
            stat = path.lstat()
            found[str(path.relative_to(root.resolve()))] = (
                path.is_dir(),
                0 if path.is_dir() else stat.st_size,
                stat.st_mtime_ns,
            )
    return found


_TOP = re.compile(r"(store\.json|\.tmp|objects|\.?(metadata|registry)\.json(\..*)?)")
_BLOB = re.compile(r"objects/([0-9a-f]{2})/(\1[0-9a-f]{30})")


def blobs(root: Path) -> set[str]:
    """The blob keys under a local store's root, after checking the root holds only what a
    store writes: ``store.json``, the metadata files, ``.tmp/`` and ``objects/xx/<uuid hex>``
    (names never become paths)."""
    if not root.exists():
        return set()
    for entry in root.iterdir():
        assert _TOP.fullmatch(entry.name), f"unexpected {entry} in the store's root"
    keys = set()
    for path in (root / "objects").rglob("*") if (root / "objects").exists() else ():
        key = path.relative_to(root).as_posix()
        if path.is_dir():
            assert re.fullmatch(r"objects/[0-9a-f]{2}", key), f"unexpected directory {key}"
        else:
            assert _BLOB.fullmatch(key), f"unexpected file {key}"
            keys.add(key)
    return keys


def staging(root: Path) -> list[Path]:
    """Files of uploads in progress (``.tmp/``)."""
    tmp = root / ".tmp"
    return [p for p in tmp.rglob("*") if p.is_file()] if tmp.exists() else []


def wait_until(condition: object, timeout: float = 10.0) -> bool:
    """Poll ``condition()`` until true (an aborted upload's worker finishes on its own)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return bool(condition())  # type: ignore[operator]


# --------------------------------------------------------------------------- canary
#: What the canary answers: a success that a health check and a federated search both accept.
CANARY_ANSWER = b'{"success": true, "data": [], "total": 0, "next_skip": null}'


def http_server(
    host: str = "127.0.0.1", location: str | None = None, port: int = 0
) -> contextlib.AbstractContextManager[Canary]:
    return live_server.http_server(host, location, port, body=CANARY_ANSWER)


# --------------------------------------------------------------------------- hostile peers
@dataclass
class Seen:
    """One request a :class:`HeaderCanary` received."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names


class HeaderCanary:
    """An HTTP server on 127.0.0.1 that records every request with its headers and answers
    like an assetstore service (a health check and a federated search both accept it)."""

    def __init__(self) -> None:
        import http.server

        seen: list[Seen] = []
        self.seen = seen

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                seen.append(
                    Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(CANARY_ANSWER)))
                self.end_headers()
                self.wfile.write(CANARY_ANSWER)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    def __enter__(self) -> HeaderCanary:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class _RawPeer:
    """A TCP peer on 127.0.0.1 that hands each accepted connection to ``_serve`` in its
    own thread, until the block it is used in ends."""

    def __init__(self, backlog: int) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=backlog)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()

    def __enter__(self) -> Self:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._accepted()
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _accepted(self) -> None:
        """Called for each connection before it is served."""

    def _serve(self, conn: socket.socket) -> None:
        raise NotImplementedError


class Dripper(_RawPeer):
    """A peer on 127.0.0.1 that accepts every connection and answers one byte every
    ``interval`` seconds (a status line, then an endless header), and counts the
    connections still open: a caller that gave up but kept its socket shows here."""

    def __init__(self, interval: float = 0.25) -> None:
        super().__init__(backlog=128)
        self.interval = interval
        self.accepted = 0
        self.open = 0
        self._lock = threading.Lock()

    def _accepted(self) -> None:
        with self._lock:
            self.accepted += 1
            self.open += 1

    def _serve(self, conn: socket.socket) -> None:  # drip
        import select

        answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Drip: "
        try:
            position = 0
            while not self._stop.is_set():
                readable, _, _ = select.select([conn], [], [], self.interval)
                if readable and not conn.recv(65536):
                    return  # the caller closed its end
                byte = answer[position : position + 1] or b"a"
                conn.sendall(byte)
                position += 1
        except OSError:
            return
        finally:
            conn.close()
            with self._lock:
                self.open -= 1


class Flood(_RawPeer):
    """A peer on 127.0.0.1 that answers every request 200 with a JSON body of ``size``
    bytes (its length declared, or not: then the body ends when the connection does), sent
    as fast as the caller reads it, and records how much it managed to send."""

    def __init__(self, size: int, *, declare: bool = True) -> None:
        super().__init__(backlog=32)
        self.declare = declare
        self.size = size
        self.sent: list[int] = []

    def _serve(self, conn: socket.socket) -> None:  # flood
        sent = 0
        try:
            conn.settimeout(10)
            conn.recv(65536)  # the request (small)
            length = f"Content-Length: {self.size}" if self.declare else "Connection: close"
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}\r\n\r\n"
            conn.sendall(head.encode())
            block = b'{"success": true, "data": ["' + b"x" * (MiB - 32)
            while sent < self.size:
                piece = block[: self.size - sent]
                conn.sendall(piece)
                sent += len(piece)
        except OSError:
            pass
        finally:
            self.sent.append(sent)
            conn.close()
