"""Findings 7 and 9: work on hostile input that grew faster than the input.

* ``Range: bytes=0-`` followed by 16,000 spaces and ``x`` took 0.65 s in a quadratic regex,
  on the event loop: three such requests pushed ``/health`` from 5 ms to 1.7 s.
* 110,000 tags in a 766 KB form field cost 43.6 s of CPU before the 400 (a list scan per
  tag).

The tests give each call a deadline far above what linear work needs and far below what
the old quadratic work took (minutes to hours at these sizes): the outcome is whether an
answer came before it."""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing

import httpx
import pytest
from seckit import BOUNDARY, end, part

from assetstore import open_registry, open_store
from assetstore._validation import MAX_TAGS, check_tags
from assetstore.errors import InvalidInputError
from assetstore.http._downloads import parse_range

#: Seconds any of these calls may take here; the quadratic versions needed far more.
DEADLINE = 10


def within_deadline(function, *args):
    """``function(*args)``, which must return (or raise) within :data:`DEADLINE`. It runs
    in a forked child that is killed at the deadline: a runaway call (one holding the GIL,
    as ``re`` does) fails the test then, instead of holding the whole run."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def call() -> None:
        try:
            sender.send(("value", function(*args)))
        except BaseException as exc:
            sender.send(("error", exc))

    child = context.Process(target=call, daemon=True)
    child.start()
    try:
        if not receiver.poll(DEADLINE):
            pytest.fail(f"{function.__name__} did not answer within {DEADLINE} s")
        kind, value = receiver.recv()
    finally:
        child.kill()
        child.join()
    if kind == "error":
        raise value
    return value


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-" + " " * 1_000_000 + "x",
        "bytes=" + " " * 1_000_000 + "-" + " " * 1_000_000 + "x",
        "bytes=" + "0" * 1_000_000 + "-",
        "bytes=0-1" + "\t" * 1_000_000 + ",",
    ],
    ids=["blanks-after-dash", "blanks-both-sides", "long-number", "tabs"],
)
def test_hostile_range_headers_are_ignored_at_once(header):
    assert within_deadline(parse_range, header, 1000) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 10)),
        ("bytes = 5 - ", (5, 100)),
        ("bytes=-10", (90, 100)),
        ("BYTES=\t1-1", (1, 2)),
        ("bytes=0-9,20-29", None),
        ("bytes=9-0", None),
        ("bytes=1-2-3", None),
        ("bytes=\u0661-\u0662", None),  # ARABIC-INDIC digits: isdigit(), not ASCII
        ("items=0-9", None),
    ],
)
def test_ranges_still_mean_what_they_say(header, expected):
    assert parse_range(header, 100) == expected


def test_the_reported_range_over_http_gets_the_whole_file(live):
    asset = live.store.upload(b"0123456789", name="r", version="1", tag="t")
    hostile = "bytes=0-" + " " * 16_000 + "x"
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        answers = list(
            pool.map(
                lambda _: httpx.get(
                    f"{live.url}/asset-object/{asset.asset_id}",
                    headers={"Range": hostile},
                    timeout=DEADLINE,
                ),
                range(3),
            )
        )
    for answer in answers:
        assert answer.status_code == 200 and answer.content == b"0123456789"


def test_a_hundred_thousand_tags_are_refused_before_they_are_checked():
    tags = [f"tag{index}" for index in range(110_000)]
    with pytest.raises(InvalidInputError, match=f"more than {MAX_TAGS} tags"):
        within_deadline(check_tags, tags, "asset_tags")
    with pytest.raises(InvalidInputError, match=f"more than {MAX_TAGS} tags"):
        within_deadline(check_tags, iter(tags), "asset_tags")  # no len(): counted as read
    assert check_tags(["a", "b", "a"] * 300, "asset_tags") == ["a", "b"]  # 900 entries


def test_the_reported_upload_with_110000_tags_is_a_fast_400(live):
    """The 766 KB form field of the report: a 400 before the deadline, nothing stored."""
    metadata = {
        "asset_name": "tags",
        "asset_version": {"version": "1", "tag": "a"},
        "asset_tags": [f"{index:x}" for index in range(110_000)],
    }
    field = json.dumps(metadata, separators=(",", ":")).encode()
    assert len(field) < 1 << 20  # under max_form_field_bytes: the tags are what is checked
    body = part("asset_metadata", field) + part("asset", b"x", filename=b"x.bin") + end()
    response = httpx.post(
        f"{live.url}/upload_asset",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        timeout=DEADLINE,
    )
    assert response.status_code == 400, response.text
    assert f"more than {MAX_TAGS} tags" in response.json()["error"]
    assert live.store.count() == 0


def test_registries_and_library_calls_share_the_limit(tmp_path):
    tags = [f"t{index}" for index in range(50_000)]
    with open_store(tmp_path / "store") as store, pytest.raises(InvalidInputError, match="more"):
        within_deadline(
            store.register,
            {
                "asset_name": "x",
                "asset_version": {"version": "1", "tag": "a"},
                "asset_tags": tags,
            },
        )
    with (
        open_registry(tmp_path / "registry") as registry,
        pytest.raises(InvalidInputError, match="more"),
    ):
        within_deadline(
            registry.register,
            {
                "asset_registry_name": "x",
                "asset_registry_public_url": "https://e.x",
                "asset_registry_tags": tags,
            },
        )
