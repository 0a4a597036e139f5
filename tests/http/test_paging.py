"""``POST /assets`` and ``POST /asset_registries``: every match without ``limit`` (streamed,
never cut short), pages continued by cursor (keyset paging), and the operator's hard cap as
an explicit error. Plus the client's paging under churn (issue 11, item 6)."""

from __future__ import annotations

import threading

import httpx
import pytest
from live_server import serve

from assetstore import open_registry, open_store
from assetstore.errors import BackendUnavailableError, TooManyResultsError
from assetstore.http.client import HttpAssetStore
from assetstore.settings import ServiceSettings


def externals(count, prefix="a", **extra):
    return [
        {
            "asset_name": f"{prefix}{i:05d}",
            "asset_version": {"version": "1.0", "tag": "x"},
            "asset_tags": ["t"],
            **extra,
        }
        for i in range(count)
    ]


def uris(answer):
    return [a["asset_uri"] for a in answer["data"]]


def test_without_limit_every_match_comes_back(live):
    """1,005 matches: the original service returned all of them; so do we (we used to
    answer 1,000 with total 1005)."""
    live.store.register_many(externals(1005))
    answer = httpx.post(f"{live.url}/assets", json={"asset_tags": "t"}).json()
    assert answer["success"] is True
    assert (answer["count"], answer["total"], answer["next_cursor"]) == (1005, 1005, None)
    assert len(set(uris(answer))) == 1005
    with open_store(live.url) as client:
        assert len(client.query({"asset_tags": "t"})) == 1005


def test_registry_without_limit_every_match_comes_back(live):
    for i in range(1005):
        live.registry.register(
            {"asset_registry_name": f"r{i}", "asset_registry_public_url": f"https://r{i}.example"}
        )
    answer = httpx.post(f"{live.url}/asset_registries", json={}).json()
    assert (answer["count"], answer["total"], answer["next_cursor"]) == (1005, 1005, None)
    with open_registry(live.url) as client:
        assert len(client.query()) == 1005


@pytest.mark.parametrize(
    "sort",
    [
        None,  # the unique key: pushed down as a filter
        "asset_name:desc",  # a string field of every record: pushed down
        "asset_metadata.rank,asset_name:desc",  # mixed types and arrays: compared in Python
        "created_at:desc",
    ],
)
def test_cursor_pages_are_the_whole_answer_in_order(live, sort):
    ranks = [3, "b", None, [2, 9], 3.5, {"x": 1}, [], True, "a", 3]
    live.store.register_many(
        [
            {**doc, "asset_metadata": {} if i % 7 == 0 else {"rank": ranks[i % len(ranks)]}}
            for i, doc in enumerate(externals(23))
        ]
    )
    params = {"sort": sort} if sort else {}
    whole = httpx.post(f"{live.url}/assets", params=params, json={}).json()
    assert whole["count"] == 23
    seen, cursor, pages = [], None, 0
    while True:
        page_params = {**params, "limit": 4, **({"cursor": cursor} if cursor else {})}
        page = httpx.post(f"{live.url}/assets", params=page_params, json={}).json()
        assert page["success"] is True and page["total"] == 23, page
        seen += uris(page)
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == uris(whole)
    assert pages == 6


def test_a_cursor_is_bound_to_its_query(live):
    live.store.register_many(externals(5))
    first = httpx.post(f"{live.url}/assets?limit=2", json={}).json()
    cursor = first["next_cursor"]
    other_filter = httpx.post(f"{live.url}/assets?limit=2&cursor={cursor}", json={"a": 1})
    other_sort = httpx.post(f"{live.url}/assets?limit=2&sort=asset_id&cursor={cursor}", json={})
    forged = httpx.post(f"{live.url}/assets?limit=2&cursor=bm90LWEtY3Vyc29y", json={})
    for answer in (other_filter, other_sort, forged):
        assert answer.status_code == 400, answer.text
        assert answer.json()["error_type"] == "InvalidQueryError"
    assert "same filter" in other_filter.json()["error"]


def test_the_hard_cap_is_an_error_that_says_how_to_page(live):
    live.set_settings(max_results=10)
    live.store.register_many(externals(11))
    live.registry.register(
        {"asset_registry_name": "r", "asset_registry_public_url": "https://r.example"}
    )
    for path in ("/assets", "/asset_registries"):
        over = httpx.post(f"{live.url}{path}?limit=11", json={})
        assert over.status_code == 400
        assert over.json()["error_type"] == "TooManyResultsError"
        assert "?limit=10" in over.json()["error"] and "cursor" in over.json()["error"]
    everything = httpx.post(f"{live.url}/assets", json={})
    assert everything.status_code == 400 and "matches more" in everything.json()["error"]
    within = httpx.post(f"{live.url}/asset_registries", json={}).json()  # 1 entry, under the cap
    assert within["count"] == 1
    with open_store(live.url) as client:  # the client learns the cap and pages within it
        assert len(client.query()) == 11
        with pytest.raises(TooManyResultsError):
            client._http.json("POST", "/assets", body={}, params={"limit": 11})


class _ChurnBetweenPages:
    """Wraps a client's connection: after one page of a query, deletes assets spread over
    the whole order (before and after the position the client has reached); after the
    next, uploads them again; and so on."""

    def __init__(self, client: HttpAssetStore, store, churned: list[str]) -> None:
        self._json = client._http.json
        self._store = store
        self._churned = churned
        self._deleted: list = []
        client._http.json = self  # type: ignore[method-assign]

    def __call__(self, method, path, **kwargs):
        answer = self._json(method, path, **kwargs)
        if path == "/assets" and kwargs.get("params", {}).get("limit") != 0:
            if self._deleted:
                for asset in self._deleted:
                    self._store.register({**asset.model_dump(), "asset_uri": ""})
                self._deleted = []
            else:
                for uri in self._churned:
                    self._deleted.append(self._store.get(uri))
                    self._store.delete(uri)
        return answer


@pytest.mark.parametrize("sort", [None, [("asset_name", -1)]])
def test_client_paging_under_churn_misses_and_repeats_nothing(live, sort):
    """Deletes and re-uploads between pages shifted offset pages: untouched assets were
    missed and URIs came twice. With cursors, every untouched asset comes exactly once."""
    live.set_settings(max_results=10)
    live.store.register_many(externals(60))
    names = [f"a{i:05d}" for i in range(60)]
    churned = [f"{n}:1.0-x" for n in names[::7]]  # spread over every page
    with open_store(live.url) as client:
        _ChurnBetweenPages(client, live.store, churned)
        found = [a.asset_uri for a in client.query(sort=sort)]
    assert len(found) == len(set(found)), "a URI came twice"
    untouched = {f"{n}:1.0-x" for n in names} - set(churned)
    assert untouched <= set(found), f"missed {sorted(untouched - set(found))}"


def test_client_paging_while_another_client_churns(live):
    """The replay's set-up, small: one client deletes and re-uploads while another pages
    through everything, again and again (bounded in count, not in time)."""
    live.set_settings(max_results=25)
    live.store.register_many(externals(107))
    churned = [f"a{i:05d}:1.0-x" for i in range(0, 107, 5)]
    untouched = {f"a{i:05d}:1.0-x" for i in range(107)} - set(churned)
    stop = threading.Event()

    def churn() -> None:
        with open_store(live.url) as writer:
            while not stop.is_set():
                for uri in churned:
                    asset = writer.get(uri)
                    writer.delete(uri)
                    writer.register({**asset.model_dump(), "asset_uri": ""})

    worker = threading.Thread(target=churn)
    worker.start()
    problems = []
    try:
        with open_store(live.url) as reader:
            for _ in range(15):
                found = [a.asset_uri for a in reader.query()]
                if len(found) != len(set(found)) or not untouched <= set(found):
                    problems.append(sorted(untouched - set(found)))
    finally:
        stop.set()
        worker.join(60)
    assert problems == []


class _SlowStore:
    """A store whose query results come from a generator the test controls."""

    def __init__(self, store, count: int, *, fail_after: int | None = None) -> None:
        self._store = store
        self.count_ = count
        self.fail_after = fail_after
        self.released = threading.Event()
        self.produced = 0
        self.assets_db_id = store.assets_db_id
        self._template = store.register(externals(1)[0])

    def iter_query(self, filter=None, *, sort=None, all_stores=False):
        def results():
            for i in range(self.count_):
                if self.fail_after is not None and i == self.fail_after:
                    raise BackendUnavailableError("the database went away")
                if i == self.count_ // 2:
                    self.released.wait(30)
                self.produced += 1
                yield self._template.model_copy(
                    update={"asset_uri": f"x{i:06d}:1.0-x", "asset_id": f"{i:032x}"}
                )

        return results()

    def count(self, filter=None, *, all_stores=False):
        return self.count_


def test_an_answer_without_limit_is_streamed_as_it_is_read(tmp_path):
    """The first bytes of the answer leave while the store still has results to give: the
    service does not gather the answer in memory first."""
    with open_store(tmp_path / "s") as real:
        slow = _SlowStore(real, 6000)
        with (
            serve(slow, None, ServiceSettings()) as url,  # type: ignore[arg-type]
            httpx.stream("POST", f"{url}/assets", json={}, timeout=60) as response,
        ):
            assert response.status_code == 200
            assert "content-length" not in response.headers
            chunks = response.iter_bytes()
            first = next(chunks)
            produced_before_release = slow.produced
            slow.released.set()
            body = first + b"".join(chunks)
    assert produced_before_release <= 3000  # the rest was still to come
    assert body.count(b'"asset_uri"') == 6000


def test_an_error_while_streaming_cuts_the_answer(tmp_path):
    """A backend failure after the answer started cannot become an error status: the
    connection is cut, so no client can parse a short answer as a whole one."""
    with open_store(tmp_path / "s") as real:
        slow = _SlowStore(real, 6000, fail_after=2500)
        slow.released.set()
        with serve(slow, None, ServiceSettings()) as url:  # type: ignore[arg-type]
            with pytest.raises(httpx.RemoteProtocolError):
                httpx.post(f"{url}/assets", json={}, timeout=60).json()
            with open_store(url) as client, pytest.raises(BackendUnavailableError):
                client._http.json("POST", "/assets", body={})
