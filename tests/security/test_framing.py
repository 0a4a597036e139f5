"""Finding 13: lenient HTTP/1.1 framing, the start of request smuggling behind a proxy.

After a request with both ``Content-Length`` and ``Transfer-Encoding: chunked``, or with a
line-folded ``Transfer-Encoding``, or with bare-LF line endings, ``assetstore serve`` kept
the connection and served the next pipelined request. RFC 9112 §6.1: close. Now each is a
400 and the connection is closed with nothing after it served. The tests talk to the real
``assetstore serve`` over raw sockets."""

from __future__ import annotations

import re
import socket

import h11
import pytest

from assetstore.http._strict_http import StrictConnection

NEXT = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
BODY = b'{"asset_name": "smuggled"}'
AMBIGUOUS = {
    "content-length-and-chunked": (
        b"POST /assets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n" % len(BODY)
        + BODY
        + b"\r\n0\r\n\r\n"
    ),
    "folded-transfer-encoding": (
        b"POST /assets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding:\r\n chunked\r\n\r\n" + b"%x\r\n" % len(BODY) + BODY + b"\r\n0\r\n\r\n"
    ),
    "folded-other-header": (b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: a\r\n\tb\r\n\r\n"),
    "bare-lf": (
        b"POST /assets HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\n"
        b"Content-Length: %d\n\n" % len(BODY) + BODY
    ),
    "bare-lf-blank-line": b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\n",
}


def exchange(url: str, data: bytes, *, answers: int = 2, timeout: float = 10) -> bytes:
    """Send ``data`` on one connection and read until the server closes it, ``answers``
    complete answers have come, or nothing more comes for a while."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        sock.settimeout(3)
        received = bytearray()
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if len(statuses(bytes(received))) >= answers and received.endswith(b"}"):
                    break
        except TimeoutError:
            pass
    return bytes(received)


def statuses(answer: bytes) -> list[int]:
    """The status of each answer in ``answer`` (a body need not end with a line break)."""
    return [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]


@pytest.mark.parametrize("case", sorted(AMBIGUOUS))
def test_ambiguous_framing_is_refused_and_the_connection_closed(secure_server, case):
    answer = exchange(secure_server.url, AMBIGUOUS[case] + NEXT)
    assert statuses(answer) == [400], answer[:500]
    assert b"connection: close" in answer.lower()
    assert b'"status":"ok"' not in answer  # the pipelined /health was never served


def test_pipelined_requests_are_still_served(secure_server):
    """The positive control: two well-formed requests on one connection get two answers."""
    answer = exchange(secure_server.url, NEXT + NEXT)
    assert statuses(answer) == [200, 200], answer[:500]


@pytest.mark.parametrize("case", sorted(AMBIGUOUS))
def test_the_strict_connection_refuses_before_h11_reads_on(case):
    """The same refusals at the h11 level, and in the state h11 expects after a refusal
    (so uvicorn answers 400 and closes)."""
    connection = StrictConnection(h11.SERVER)
    connection.receive_data(AMBIGUOUS[case] + NEXT)

    def read_all() -> None:
        while connection.next_event() is not h11.NEED_DATA:
            pass

    with pytest.raises(h11.RemoteProtocolError):
        read_all()
    assert connection.their_state is h11.ERROR


def test_the_strict_connection_reads_well_formed_requests():
    connection = StrictConnection(h11.SERVER)
    connection.receive_data(
        b"POST /assets HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}" + NEXT
    )
    assert isinstance(connection.next_event(), h11.Request)
    assert isinstance(connection.next_event(), h11.Data)
    assert isinstance(connection.next_event(), h11.EndOfMessage)
