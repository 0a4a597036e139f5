"""Random SIGKILLs of a process that publishes, updates and deletes in a loop.

Each round forks a writer (``crashkit.loop_main``) that works on the store until the test
SIGKILLs it at a random moment. The writer prints every operation before it starts
(``B P uri``) and after the call returned (``P uri``), flushed. After each kill the test
checks that:

* the metadata file parses, fsck finds no missing or corrupt file;
* every publish, update and delete that returned before the kill is there: the asset with
  its exact bytes (read back and verified), its last acknowledged update, or its absence;
* the one operation in flight at the kill happened entirely or not at all;
* no asset exists that the writer did not publish.

Every tenth round and at the end, ``gc(older_than=0)`` must leave fsck clean with no
orphans and no temp file. The rounds run on the local store (files + TinyDB) and, fewer,
on S3 + TinyDB (the writer talks to the test's moto server over HTTP, 64 KiB multipart
parts, so kills land in multipart uploads).

CI runs 30 rounds (6 on S3). ``ASSETSTORE_KILL_LOOPS=200`` runs 200 kills on the local
store (and 200 // 5 = 40 on S3)::

    ASSETSTORE_KILL_LOOPS=200 python -m pytest tests/reliability/test_kill_loop.py -s
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest
from crashkit import (
    loop_size,
    metadata_file,
    open_spec,
    payload,
    pending_uploads,
    verify_sound,
)

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("ASSETSTORE_KILL_LOOPS") or 30)
S3_KILLS = max(6, KILLS // 5)
#: The writer runs for a random time in [0, MAX_RUN) seconds before it is killed.
MAX_RUN = 0.3


def parse(out: str) -> tuple[list[list[str]], list[str] | None]:
    """The acknowledged operations, in order, and the one in flight (None if none)."""
    acked: list[list[str]] = []
    in_flight = None
    complete = out[: out.rfind("\n") + 1]  # a line cut by the kill is not a message
    for line in complete.splitlines():
        words = line.split()
        if words[0] == "ready":
            continue
        if words[0] == "B":
            in_flight = words[1:]
        else:
            assert in_flight == words, f"acknowledged {words} but began {in_flight}"
            acked.append(words)
            in_flight = None
    return acked, in_flight


def loop_assets(store) -> dict[str, int]:
    return {a.asset_uri: a.asset_metadata["n"] for a in store.query({"asset_metadata.loop": True})}


def check_bytes(store, uri: str) -> None:
    assert store.read_bytes(uri) == payload(uri, loop_size(uri)), uri


def kill_rounds(zygote, spec: dict, rounds: int, tmp_path: Path) -> Counter:
    rng = random.Random(int(os.environ.get("ASSETSTORE_KILL_SEED") or 0) or None)
    stats: Counter = Counter()
    model: dict[str, int] = {}  # uri -> last acknowledged n, as the writers saw it
    path = metadata_file(spec)
    seen: set[str] = set()  # leftovers already counted
    with open_spec(spec) as store:
        for round_ in range(rounds):
            out = tmp_path / f"round{round_}.out"
            err = tmp_path / f"round{round_}.err"
            pid = zygote.spawn(
                ["loop", json.dumps(spec), str(rng.randrange(1 << 30)), f"k{round_}"], out, err
            )
            while not out.exists() or not out.read_text().startswith("ready"):
                time.sleep(0.002)
                if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                    code = zygote.wait(pid)
                    pytest.fail(f"the writer ended before it started ({code}): {err.read_text()}")
            time.sleep(rng.uniform(0, MAX_RUN))
            os.kill(pid, signal.SIGKILL)
            code = zygote.wait(pid)
            assert code == -signal.SIGKILL, f"the writer ended by itself: {err.read_text()}"
            stats["kills"] += 1

            acked, in_flight = parse(out.read_text())
            touched = set()
            for op, uri, *n in acked:
                stats[f"acknowledged {op}"] += 1
                touched.add(uri)
                if op == "P":
                    model[uri] = 0
                elif op == "U":
                    model[uri] = int(n[0])
                else:
                    del model[uri]

            if path is not None and path.exists():
                json.loads(path.read_bytes())
                temps = {p.name for p in path.parent.glob(f".{path.name}.*.tmp")}
                stats["kills inside a metadata write (temp file left)"] += bool(temps - seen)
                seen |= temps
            if spec["kind"] == "local":
                blob_tmp = Path(spec["root"]) / ".tmp"
                temps = {p.name for p in blob_tmp.iterdir()} if blob_tmp.exists() else set()
                stats["kills inside a blob write (temp blob left)"] += bool(temps - seen)
            else:
                temps = {u["UploadId"] for u in pending_uploads(store)}
                stats["kills inside a multipart upload (left pending)"] += bool(temps - seen)
            seen |= temps
            actual = loop_assets(store)
            if in_flight is not None:
                op, uri, *n = in_flight
                touched.add(uri)
                if op == "P":
                    happened = uri in actual
                    if happened:
                        assert actual[uri] == 0
                        model[uri] = 0
                elif op == "U":
                    assert actual[uri] in (model[uri], int(n[0])), (uri, actual[uri], n)
                    happened = actual[uri] != model[uri]
                    model[uri] = actual[uri]
                else:
                    happened = uri not in actual
                    if happened:
                        del model[uri]
                stats[f"in flight {op}: {'done' if happened else 'not done'}"] += 1
            else:
                stats["killed between operations"] += 1
            assert actual == model, "the store differs from what the writers were told"

            for uri in touched & set(model):
                check_bytes(store, uri)
            for uri in rng.sample(sorted(model), min(5, len(model))):
                check_bytes(store, uri)
            report = store.fsck(verify_checksums=False)
            assert report.missing == [] and report.corrupt == [], report
            if round_ % 10 == 9 or round_ == rounds - 1:
                removed = verify_sound(store, spec).removed
                stats["leftovers removed by gc"] += len(removed)
        stats["assets at the end"] = len(model)
    return stats


def report(name: str, stats: Counter) -> None:
    lines = "\n".join(f"  {key}: {value}" for key, value in sorted(stats.items()))
    print(f"\n{name}:\n{lines}", file=sys.stderr)


def test_random_sigkills_local_store(zygote, tmp_path, local_spec):
    stats = kill_rounds(zygote, local_spec, KILLS, tmp_path)
    report("SIGKILL loop, local store", stats)
    assert stats["kills"] == KILLS


def test_random_sigkills_s3_tinydb(zygote, tmp_path, s3_tinydb_spec):
    stats = kill_rounds(zygote, s3_tinydb_spec, S3_KILLS, tmp_path)
    report("SIGKILL loop, S3 + TinyDB", stats)
    assert stats["kills"] == S3_KILLS
