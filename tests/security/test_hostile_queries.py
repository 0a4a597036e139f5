"""Hostile filters through every query endpoint: server-side code anywhere in the filter,
1,000-deep nesting, a 10,000-element ``$in``, a 1 MB body and a catastrophic-backtracking
regex. Each gets a prompt, definite answer, and the server keeps answering other requests
while they are sent (checked on the real ``assetstore serve`` subprocess).

What the code gives, and why:

* ``$where``/``$function``/``$accumulator`` anywhere: 400 ``InvalidQueryError`` from the one
  validation pass (``query._check_limits``), before anything runs.
* 1,000-deep nesting: 400 ``InvalidQueryError``, either from ``max_depth=100`` or, when the
  JSON itself is deeper than the parser's 1,024 levels (``$and`` nesting doubles the depth),
  from the body reader (that case was a 422 "not valid JSON" before: it is valid JSON).
* ``$in`` with 10,000 values: 400 (``max_nodes=10_000`` counts every operator and operand);
  9,000 values still run, and correctly.
* a 1 MB body: 413, from Content-Length before reading, or while reading a chunked body.
* ``(a+)+$`` on 40 characters: 200 with the right answer, at once. Regexes run on RE2, whose
  time is linear in the subject, so a pattern cannot make a worker backtrack for ever; refusing
  it would be wrong (it is a valid pattern with a well-defined answer). Patterns that need a
  backtracking engine (backreferences, lookaround) are refused with 400 instead.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from seckit import TOKEN, MiB, chunked, raw_request, request_head

from assetstore import open_store

QUERY_ENDPOINTS = ["/assets", "/asset_registries"]

CODE = {
    "$where": "sleep(100000) || true",
    "$function": {"body": "function() { while (true) {} }", "args": [], "lang": "js"},
    "$accumulator": {"init": "function() {}", "accumulate": "", "merge": "", "lang": "js"},
}


def forbidden_filters() -> list[dict]:
    filters = []
    for op, arg in CODE.items():
        filters += [
            {op: arg},
            {"asset_name": "x", op: arg},
            {"$and": [{"asset_name": "x"}, {op: arg}]},
            {"$or": [{"asset_name": "x"}, {op: arg}]},
            {"$nor": [{op: arg}]},
            {"$and": [{"$or": [{"$nor": [{"$and": [{op: arg}]}]}]}]},
            {"asset_tags": {"$elemMatch": {op: arg}}},
            {"asset_file_info": {"$elemMatch": {"$and": [{op: arg}]}}},
            {"asset_name": {"$not": {op: arg}}},
            {"asset_name": {op: arg}},
            {"asset_metadata": {"$in": [{op: arg}]}},  # a literal document: still refused
            {"$expr": {op: arg}},
        ]
    return filters


def deep_bodies() -> dict[str, str]:
    n = 1000
    return {
        "$and chain": '{"$and": [' * n + '{"a": 1}' + "]}" * n,
        "$or chain": '{"$or": [' * n + '{"a": 1}' + "]}" * n,
        "sub-documents": '{"a": ' * n + "1" + "}" * n,
        "$not chain": '{"a": ' + '{"$not": ' * n + '{"$eq": 1}' + "}" * n + "}",
        "$elemMatch chain": '{"a": ' + '{"$elemMatch": ' * n + '{"b": 1}' + "}" * n + "}",
        "nested arrays": '{"a": {"$in": [' + "[" * n + "]" * n + "]}}",
        "100,000 levels": "[" * 100_000 + "]" * 100_000,
    }


def post(http: httpx.Client, url: str, path: str, body: bytes | str) -> httpx.Response:
    return http.post(f"{url}{path}", content=body, headers={"Content-Type": "application/json"})


# --------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("path", QUERY_ENDPOINTS)
def test_server_side_code_is_refused_anywhere(live, path, http):
    live.store.upload(b"x", name="x", version="1", tag="a")
    for filter in forbidden_filters():
        response = post(http, live.url, path, json.dumps(filter))
        assert response.status_code == 400, (filter, response.text)
        body = response.json()
        assert body["error_type"] == "InvalidQueryError", body
        assert "forbidden" in body["error"] or "not supported" in body["error"]


def test_server_side_code_is_refused_in_federated_search(live, canary, http):
    live.registry.register(
        {
            "asset_registry_id": "target",
            "asset_registry_name": "t",
            "asset_registry_public_url": f"http://127.0.0.1:{canary.port}",
        }
    )
    live.set_settings(allow_private_health_checks=True)  # the canary would be reachable
    for filter in forbidden_filters():
        for body in ({"filter": filter}, {"filter": {}, "registries": filter}):
            response = http.post(f"{live.url}/asset_registries/search", json=body)
            assert response.status_code == 400, (body, response.text)
            assert response.json()["error_type"] == "InvalidQueryError"
    assert canary.hits == []  # refused before any store was asked


@pytest.mark.parametrize("path", [*QUERY_ENDPOINTS, "/asset_registries/search"])
def test_thousand_deep_filters_are_a_fast_400(live, path, http):
    for shape, text in deep_bodies().items():
        body = f'{{"filter": {text}}}' if path.endswith("search") else text
        response = post(http, live.url, path, body)
        assert response.status_code == 400, (shape, response.status_code, response.text[:200])
        error = response.json()
        assert error["error_type"] in ("InvalidQueryError", "InvalidInputError"), error
        if not path.endswith("search"):
            assert error["error_type"] == "InvalidQueryError"
        assert "deep" in error["error"], error


def test_ten_thousand_element_in_is_refused_and_nine_thousand_runs(live, http):
    live.store.upload(b"x", name="needle", version="1", tag="a")
    live.store.upload(b"x", name="hay", version="1", tag="a")
    values = [f"v{i}" for i in range(10_000)]
    refused = post(http, live.url, "/assets", json.dumps({"asset_name": {"$in": values}}))
    assert refused.status_code == 400
    assert "max_nodes" in refused.json()["error"]
    allowed = post(
        http, live.url, "/assets", json.dumps({"asset_name": {"$in": [*values[:8_999], "needle"]}})
    )
    assert allowed.status_code == 200
    assert [a["asset_uri"] for a in allowed.json()["data"]] == ["needle:1-a"]


def test_megabyte_body_is_413_declared_or_chunked(live):
    body = json.dumps({"asset_name": {"$in": ["x" * 1000] * 1100}}).encode()
    assert len(body) > MiB
    for path in [*QUERY_ENDPOINTS, "/asset_registries/search", "/asset"]:
        declared = raw_request(
            live.url,
            request_head(
                "POST", live.url, path, [("Content-Type", "application/json")], length=len(body)
            ),
        )
        # answered from Content-Length alone: not one byte of the body was sent
        assert declared.status == 413, (path, declared.body)
        assert declared.sent == 0
        streamed = raw_request(
            live.url,
            request_head(
                "POST", live.url, path, [("Content-Type", "application/json")], chunked=True
            ),
            chunked(body[i : i + 65536] for i in range(0, len(body), 65536)),
        )
        assert streamed.status == 413, (path, streamed.body)
        assert json.loads(streamed.body)["error_type"] == "PayloadTooLargeError"
    assert live.store.count() == 0


def test_catastrophic_regex_gets_a_fast_correct_answer(live, http):
    live.store.upload(b"x", name="evil", version="1", tag="a", metadata={"v": "a" * 39 + "!"})
    live.store.upload(b"x", name="plain", version="1", tag="a", metadata={"v": "a" * 40})
    cases = {
        "(a+)+$": ["plain:1-a"],
        "^(a|aa)+$": ["plain:1-a"],
        "(a*)*b": [],
        "^(a|a?)+!$": ["evil:1-a"],
        "(.*a){20}": ["evil:1-a", "plain:1-a"],
    }
    for pattern, expected in cases.items():
        response = post(
            http,
            live.url,
            "/assets?sort=asset_name",
            json.dumps({"asset_metadata.v": {"$regex": pattern}}),
        )
        assert response.status_code == 200, (pattern, response.text)
        assert [a["asset_uri"] for a in response.json()["data"]] == expected, pattern
        negated = post(
            http,
            live.url,
            "/assets?sort=asset_name",
            json.dumps({"asset_metadata.v": {"$not": {"$regex": pattern}}}),
        )
        assert [a["asset_uri"] for a in negated.json()["data"]] == sorted(
            {"evil:1-a", "plain:1-a"} - set(expected)
        ), pattern
    for pattern in ("(a+)\\1", "(?=a)a", "(?<=a)b", "(?>a+)", "a++", "((a{100}){100}){100}"):
        response = post(
            http, live.url, "/assets", json.dumps({"asset_metadata.v": {"$regex": pattern}})
        )
        assert response.status_code == 400, pattern
        assert response.json()["error_type"] == "InvalidQueryError"


# --------------------------------------------------------------------------- no hung worker
def _hostile_requests(url: str) -> list[tuple[str, bytes | str, int]]:
    """(path, body, expected status): every kind above, three times over."""
    big = json.dumps({"asset_name": {"$in": ["x" * 1000] * 1000}})
    deep = deep_bodies()
    kinds = [
        ("/assets", json.dumps({"$and": [{"$or": [{"$where": CODE["$where"]}]}]}), 400),
        ("/asset_registries", json.dumps({"$nor": [{"$function": CODE["$function"]}]}), 400),
        ("/assets", deep["$and chain"], 400),
        ("/assets", deep["sub-documents"], 400),
        ("/assets", deep["100,000 levels"], 400),
        ("/assets", json.dumps({"asset_name": {"$in": [str(i) for i in range(10_000)]}}), 400),
        ("/assets", big, 413),
        ("/assets", json.dumps({"asset_metadata.v": {"$regex": "(a+)+$"}}), 200),
        (
            "/asset_registries/search",
            json.dumps({"filter": {"asset_metadata.v": {"$regex": "(a+)+$"}}}),
            200,
        ),
    ]
    return kinds * 3


def test_server_keeps_answering_while_attacked(secure_server, http):
    """All the hostile queries at once, against the real server process, while a probe asks
    /health over and over: every probe is answered (generously: within 5 s each), every
    hostile request gets its definite answer, and the server is fine afterwards."""
    url = secure_server.url
    with open_store(url, token=TOKEN) as client:
        for name, value in (("redos-evil", "a" * 39 + "!"), ("redos-plain", "a" * 40)):
            client.upload(b"x", name=name, version="1", tag="a", metadata={"v": value})
    probes: list[float] = []
    failures: list[str] = []
    stop = threading.Event()

    def probe() -> None:
        with httpx.Client(timeout=5) as session:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    status = session.get(f"{url}/health").status_code
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                probes.append(time.monotonic() - started)
                if status != 200:
                    failures.append(f"health answered {status}")
                time.sleep(0.02)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    try:
        requests = _hostile_requests(url)
        with ThreadPoolExecutor(len(requests)) as pool:
            answers = list(pool.map(lambda r: post(http, url, r[0], r[1]), requests))
    finally:
        time.sleep(0.2)
        stop.set()
        prober.join(10)
    for (path, _, expected), answer in zip(requests, answers, strict=True):
        assert answer.status_code == expected, (path, answer.text[:200])
        if path == "/assets" and expected == 200:
            assert [a["asset_uri"] for a in answer.json()["data"]] == ["redos-plain:1-a"]
    assert failures == []
    assert probes, "the health probe never got an answer"
    assert max(probes) < 5
    # and afterwards, as if nothing had happened
    after = http.post(f"{url}/assets", json={"asset_name": "redos-plain"}, timeout=5)
    assert after.status_code == 200 and after.json()["total"] == 1
