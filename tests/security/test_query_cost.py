"""Finding 2: anonymous CPU exhaustion through regular expressions RE2 accepts.

``"(?:.?){1000}" * 16 + "!"`` with ``$options: "i"`` runs in linear time, at ~150 us per
character: 500 such clauses against a store of 5 assets took 39 s of CPU, and 42 such
requests took every worker thread. Now: a cost budget refuses such a filter before it runs
(the summed RE2 program sizes of its patterns), a time limit stops any query that still
runs long (``query_time_limit``, a 400 naming it), and queries run a bounded number at a
time so ``/health`` and simple reads keep answering."""

from __future__ import annotations

import concurrent.futures
import json
import re
import socket
import time

import httpx
import pytest

from assetstore import open_store
from assetstore._regex import compile_regex
from assetstore.errors import InvalidQueryError, QueryTimeoutError
from assetstore.query import MAX_REGEX_COST, compile_filter, time_limit

#: The reported pattern (program size 144,005 with case folding).
ATTACK = "(?:.?){1000}" * 16 + "!"
#: Allowed by the budget (program size ~9,000) but slow on long text: about 1-8 us per
#: character when RE2's DFA gives up on it.
SLOW = "(?:.?){1000}"
#: A string field long enough that one search of SLOW takes a while.
LONG_TEXT = "a" * 200_000


def slow_filter() -> dict[str, object]:
    return {"asset_metadata.text": {"$regex": SLOW, "$options": "i"}}


def long_assets(count: int) -> list[dict[str, object]]:
    return [
        {
            "asset_name": f"long{index}",
            "asset_version": {"version": "1", "tag": "a"},
            "asset_metadata": {"text": LONG_TEXT},
            "asset_public_url": "https://example.com/x",
        }
        for index in range(count)
    ]


# --------------------------------------------------------------------------- the budget
def test_the_reported_pattern_is_refused_before_it_runs():
    with pytest.raises(InvalidQueryError, match="max_regex_cost"):
        compile_filter({"asset_name": {"$regex": ATTACK, "$options": "i"}})


def test_the_reported_request_is_a_400_naming_the_limit(live, http):
    """The 121 KB body of 500 clauses, against a store of 5 assets: refused with a 400
    naming the budget (it used to run for 39 s and answer 200)."""
    for index in range(5):
        live.store.upload(b"x", name=f"a{index}", version="1", tag="t")
    body = {"$and": [{"asset_name": {"$regex": ATTACK, "$options": "i"}}] * 500}
    response = http.post(f"{live.url}/assets", content=json.dumps(body), timeout=120)
    assert response.status_code == 400, response.text[:300]
    error = response.json()
    assert error["error_type"] == "InvalidQueryError"
    assert "max_regex_cost" in error["error"]


def test_many_cheap_clauses_add_up():
    """The cost is per clause: one pattern passes, the same pattern in enough clauses to
    pass the budget does not, also when hidden in $in, $all or $not."""
    pattern = "(?:ab|cd|ef)[0-9]{1,40}"
    one = {"asset_name": {"$regex": pattern}}
    compile_filter(one)
    clauses = MAX_REGEX_COST // compile_regex(pattern, "").cost + 1
    with pytest.raises(InvalidQueryError, match="max_regex_cost"):
        compile_filter({"$or": [one] * clauses})
    regex = re.compile(pattern)
    for hidden in (
        {"asset_name": {"$in": [regex] * clauses}},
        {"asset_tags": {"$all": [regex] * clauses}},
        {"$and": [{"asset_name": {"$not": regex}}] * clauses},
    ):
        with pytest.raises(InvalidQueryError, match="max_regex_cost"):
            compile_filter(hidden)


@pytest.mark.parametrize(
    "pattern",
    [
        "^org/resnet",
        "resnet$",
        "(?i)^[a-z0-9._-]+@example\\.com$",
        "^(alpha|beta|gamma|delta|epsilon|zeta|eta|theta|iota|kappa)-[0-9]+(\\.[0-9]+)*$",
        "\\bimage\\b",
    ],
)
def test_ordinary_patterns_stay_within_the_budget(pattern):
    compile_filter({"$or": [{"asset_name": {"$regex": pattern, "$options": "i"}}] * 10})


# --------------------------------------------------------------------------- the time limit
@pytest.mark.parametrize("location", ["local", "memory"])
def test_a_query_over_its_time_limit_stops(tmp_path, location):
    """In-process engines (TinyDB, memory) check the clock while evaluating: a query and a
    count that would run for seconds raise QueryTimeoutError instead."""
    url = str(tmp_path / "store") if location == "local" else f"memory://cost-{tmp_path.name}"
    with open_store(url) as store:
        store.register_many(long_assets(20))
        with time_limit(0.05), pytest.raises(QueryTimeoutError, match=r"time limit of 0\.05 s"):
            store.query(slow_filter())
        with time_limit(0.05), pytest.raises(QueryTimeoutError):
            store.count(slow_filter())
        # Without a limit, and for a cheap filter within one, the answers are whole.
        assert store.count({"asset_metadata.text": {"$regex": "^a"}}) == 20
        with time_limit(30):
            assert len(store.query({"asset_name": {"$regex": "^long1"}})) == 11


@pytest.mark.parametrize("path", ["/assets", "/assets/export"])
def test_a_query_over_its_time_limit_is_a_400_naming_the_limit(live, http, path):
    """The spec's query and the streamed export (sync's listing) are both bounded."""
    live.set_settings(query_time_limit=0.2)
    live.store.register_many(long_assets(20))
    response = http.post(f"{live.url}{path}", json=slow_filter(), timeout=60)
    assert response.status_code == 400, response.text[:300]
    error = response.json()
    assert error["error_type"] == "QueryTimeoutError"
    assert "query_time_limit" in error["error"]
    registry = http.post(
        f"{live.url}/asset_registries", json={"asset_registry_name": {"$regex": "^x"}}
    )
    assert registry.status_code == 200  # a cheap query is unaffected


def busy_filter() -> dict[str, object]:
    """No regex, nothing refused: 1,000 alternatives tried on every document, a few
    hundred microseconds each (seconds for 20,000 documents)."""
    return {"$or": [{"asset_metadata.n": -index} for index in range(1, 1001)]}


def test_health_and_reads_answer_during_a_query_flood(live, tmp_path):
    """45 slow queries at once (more than the 40 worker threads) with two query workers:
    each ends at its time limit (400) or, having waited its turn for too long, is told when
    to come back (503 + Retry-After); meanwhile /health and GET /asset answer, before the
    flood is over."""
    live.set_settings(query_time_limit=1, query_workers=2, queue_timeout=1)
    with open_store(f"memory://flood-{tmp_path.name}") as store:
        store.register_many(
            {
                "asset_name": f"n{index}",
                "asset_version": {"version": "1", "tag": "a"},
                "asset_metadata": {"n": index},
            }
            for index in range(20_000)
        )
        asset = store.get("n7:1-a")
        live.app.state.store = store
        with concurrent.futures.ThreadPoolExecutor(45) as pool:
            flood = [
                pool.submit(httpx.post, f"{live.url}/assets", json=busy_filter(), timeout=60)
                for _ in range(45)
            ]
            health = httpx.get(f"{live.url}/health", timeout=2)
            read = httpx.get(f"{live.url}/asset/{asset.asset_uri}", timeout=2)
            in_flight = sum(not future.done() for future in flood)
            answers = [future.result() for future in flood]
    assert health.status_code == 200 and read.status_code == 200
    assert in_flight > 0, "the flood ended before the probes: it proves nothing"
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {400, 503} and 400 in statuses, statuses
    for answer in answers:
        kind = answer.json()["error_type"]
        assert kind == ("QueryTimeoutError" if answer.status_code == 400 else "ServiceBusyError")
        if answer.status_code == 503:
            assert int(answer.headers["Retry-After"]) >= 1


def test_a_slow_reader_holds_no_query_worker_and_is_not_cut(live, tmp_path):
    """One query worker; a client that asks for a long streamed answer and then reads
    nothing for longer than the time limit: meanwhile another query is answered (the slow
    reader gave its place back while the server waited on it), and when it finally reads,
    its answer is whole (waiting for a client is not evaluation time)."""
    live.set_settings(query_time_limit=1, query_workers=1, queue_timeout=2)
    with open_store(f"memory://slow-reader-{tmp_path.name}") as store:
        store.register_many(
            {
                "asset_name": f"n{index}",
                "asset_version": {"version": "1", "tag": "a"},
                "asset_metadata": {"pad": "p" * 200},
            }
            for index in range(30_000)
        )
        live.app.state.store = store
        host, port = live.url.removeprefix("http://").rsplit(":", 1)
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect((host, int(port)))
        slow.sendall(
            f"POST /assets HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            "Content-Length: 2\r\nConnection: close\r\n\r\n{}".encode()
        )
        try:
            time.sleep(1.5)  # the server fills the socket and waits on this reader
            other = httpx.post(f"{live.url}/assets?limit=1", json={}, timeout=10)
            assert other.status_code == 200, other.text
            time.sleep(1)
            received = bytearray()
            slow.settimeout(30)
            while chunk := slow.recv(1 << 20):
                received += chunk
        finally:
            slow.close()
    body = bytes(received).split(b"\r\n\r\n", 1)[1]
    answer = json.loads(_dechunk(body))
    assert len(answer["data"]) == 30_000 and answer["next_cursor"] is None


def _dechunk(body: bytes) -> bytes:
    """The payload of a chunked HTTP body."""
    out, position = bytearray(), 0
    while True:
        end = body.index(b"\r\n", position)
        size = int(body[position:end], 16)
        if size == 0:
            return bytes(out)
        out += body[end + 2 : end + 2 + size]
        position = end + 2 + size + 2
