"""Fault injection for the reliability tests, and the child processes they kill.

Imported by the tests; the children run :func:`main` with one of these commands, forked by
a zygote process (``Zygote``: the imports are paid once, not by each of hundreds of
children) or, for ``race``, started as a plain subprocess::

    python crashkit.py crash '<store spec>' OP POINT   # dies (exit 77) at POINT during OP
    python crashkit.py loop  '<store spec>' SEED PREFIX [OWNER]  # works until SIGKILLed
    python crashkit.py write '<store spec>' WORKER THREADS UPLOADS INCREMENTS START_FILE
    python crashkit.py claim '<store spec>' WORKER COUNT START_FILE
    python crashkit.py race  '<store spec>' URI
    python crashkit.py identity '<store spec>' START_FILE
    python crashkit.py fsize '<store spec>' OP LIMIT   # OP under RLIMIT_FSIZE
    python crashkit.py zygote   # forks the children above on request (see Zygote)

A *store spec* is a JSON object: ``{"kind": "local", "root": ...}``,
``{"kind": "s3", "bucket_url": ..., "endpoint": ..., "metadata": <TinyDB path or mongodb URL>}``
or ``{"kind": "http", "url": ...}`` (a served store).

A *point* names one instant inside publish, update or delete. Points are found by watching
the system calls the store makes (``os.write``/``os.fsync``/``os.replace``/``os.link`` on a
file recognised by its path in ``/proc/self/fd``), the S3 requests it sends, and the MongoDB
document-store calls, so they keep working when the code around them is reorganised; a
point that is never reached fails the test ("never reached") instead of passing silently.

At the point, the injector either ends the process at once with ``os._exit`` (no cleanup,
no ``finally``: what a crash or SIGKILL does) or, in-process (mongomock cannot be shared
with a child), raises :class:`Crash`, a ``BaseException``, and from then on makes every
S3 and MongoDB call of the process raise it too, so no cleanup handler can reach the
backends either.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

DIED = 77
#: Multipart part size in the tests (moto's minimum is lowered by the ``small_parts`` fixture;
#: real S3 requires 5 MiB).
TEST_PART_SIZE = 64 << 10
S3_CREDENTIALS = {"key": "testing", "secret": "testing", "region": "us-east-1"}
METADATA_TMP = re.compile(r"/\.[^/]+\.json\.[0-9a-f]{32}\.tmp$")


class Crash(BaseException):
    """A simulated crash inside this process (a BaseException: ``except Exception`` in the
    library cannot swallow it)."""


# --------------------------------------------------------------------------- payloads
def payload(label: str, size: int) -> bytes:
    """Deterministic bytes for ``label``: parent and child agree without talking."""
    seed = hashlib.sha256(label.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def loop_size(uri: str) -> int:
    """The size of a kill-loop asset: mostly small, one in eight 1-2 MiB (a long blob
    write, so kills land inside it too)."""
    h = int.from_bytes(hashlib.sha256(uri.encode()).digest()[:4], "big")
    return (1 << 20) + h % (1 << 20) if h % 8 == 0 else h % (64 << 10)


# ------------------------------------------------------------------------- opening
def open_spec(spec: dict[str, Any], *, mongo_client: Any = None) -> Any:
    """Open the store a spec describes (the same way in the parent and in the children)."""
    from assetstore import open_store

    if spec["kind"] == "local":
        return open_store(spec["root"])
    if spec["kind"] == "http":
        return open_store(spec["url"])
    return open_store(
        spec["bucket_url"],
        metadata=spec["metadata"],
        endpoint_url=spec["endpoint"],
        create_bucket=True,
        part_size=spec.get("part_size", TEST_PART_SIZE),
        mongo_client=mongo_client,
        **S3_CREDENTIALS,
    )


def fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


# ------------------------------------------------------------------------ injector
class Injector:
    """Installs one fault point; ``action`` is ``"exit"`` (child) or ``"raise"`` (in-process).

    ``patch(obj, name, value)`` sets an attribute (``monkeypatch.setattr`` in-process, so
    the test undoes it; plain ``setattr`` in a child that dies anyway)."""

    def __init__(self, action: str, patch: Callable[[Any, str, Any], None] = setattr) -> None:
        assert action in ("exit", "raise")
        self.action = action
        self.patch = patch
        self.dead = False
        self.fired = False

    def fire(self) -> None:
        self.fired = True
        if self.action == "exit":
            sys.stdout.flush()
            os._exit(DIED)
        self.dead = True
        raise Crash

    def check_alive(self) -> None:
        if self.dead:
            raise Crash

    # -- generic wrappers ---------------------------------------------------------
    def around(
        self,
        owner: Any,
        name: str,
        *,
        when: str = "before",
        match: Callable[..., bool] = lambda *a, **k: True,
        nth: int = 1,
    ) -> None:
        """Fire before or after the ``nth`` call of ``owner.name`` that ``match`` accepts."""
        real = getattr(owner, name)
        seen = [0]

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if match(*args, **kwargs):
                seen[0] += 1
                if seen[0] == nth:
                    if when == "before":
                        self.fire()
                    result = real(*args, **kwargs)
                    self.fire()
                    return result
            return real(*args, **kwargs)

        self.patch(owner, name, wrapper)

    def kill_io_after_death(self) -> None:
        """In-process mode: once crashed, every S3 and MongoDB call raises Crash."""
        from assetstore.backends.mongo import MongoDocumentStore
        from assetstore.backends.s3 import S3BlobStore, _MultipartUpload

        for owner, names in (
            (S3BlobStore, ("write", "open", "size", "delete", "list_blobs", "remove_incomplete")),
            (_MultipartUpload, ("_call",)),
            (
                MongoDocumentStore,
                ("insert", "insert_many", "get", "find_one", "find", "count", "replace", "delete"),
            ),
        ):
            for name in names:
                real = getattr(owner, name)

                def guarded(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
                    self.check_alive()
                    return _real(*args, **kwargs)

                self.patch(owner, name, guarded)

    # -- the points ------------------------------------------------------------------
    def install(self, point: str) -> None:
        """Arm ``point`` (see POINTS)."""
        if self.action == "raise":
            self.kill_io_after_death()
        family, _, step = point.partition(":")
        getattr(self, f"_{family}")(step)

    def _meta(self, step: str) -> None:
        """Inside AtomicJSONStorage.write (the TinyDB metadata file)."""

        def is_tmp(path: Any) -> bool:
            return bool(METADATA_TMP.search(os.fspath(path)))

        def is_metadata(path: Any) -> bool:
            return os.fspath(path).endswith(".json") and not is_tmp(path)

        if step == "before-temp-open":  # the lock is held, nothing written yet
            self.around(os, "open", match=lambda path, *a, **k: is_tmp(path))
        elif step == "mid-temp-write":  # half the new file written to the temp file
            real_write = os.write

            def write(fd: int, data: Any) -> int:
                if is_tmp(fd_path(fd)):
                    view = memoryview(data)
                    real_write(fd, view[: max(1, len(view) // 2)])
                    self.fire()
                return real_write(fd, data)

            self.patch(os, "write", write)
        elif step == "before-temp-fsync":  # written, not yet fsynced
            self.around(os, "fsync", match=lambda fd: is_tmp(fd_path(fd)))
        elif step == "before-replace":  # fsynced, not yet renamed over the old file
            self.around(os, "replace", match=lambda src, dst, *a, **k: is_metadata(dst))
        elif step == "after-replace":  # renamed, directory not yet fsynced
            self.around(
                os, "replace", when="after", match=lambda src, dst, *a, **k: is_metadata(dst)
            )
        elif step == "after-dir-fsync":  # fully durable, the call has not returned yet
            self._after_dir_fsync("replace", lambda src, dst: is_metadata(dst))
        else:
            raise ValueError(step)

    def _after_dir_fsync(self, name: str, moves: Callable[[Any, Any], bool]) -> None:
        """Fire after the fsync of the directory into which ``os.<name>(src, dst)`` (replace
        or link) put a file for which ``moves(src, dst)`` holds."""
        directory: list[str | None] = [None]
        real = getattr(os, name)

        def call(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            real(src, dst, *args, **kwargs)
            if moves(src, dst):
                directory[0] = os.path.dirname(os.path.realpath(dst))

        self.patch(os, name, call)
        self.around(
            os,
            "fsync",
            when="after",
            match=lambda fd: directory[0] is not None and fd_path(fd) == directory[0],
        )

    def _source(self, step: str) -> None:
        """The upload's own source dies while the blob is being written (see run_op)."""
        if step != "mid-stream":
            raise ValueError(step)

    def _journal(self, step: str) -> None:
        """Inside Journal.append (the commit point of a change to a TinyDB store)."""

        def is_journal(fd: int) -> bool:
            return fd_path(fd).endswith(".json.journal")

        if step == "mid-append":  # half the record written: a torn tail
            real_write = os.write

            def write(fd: int, data: Any) -> int:
                if is_journal(fd):
                    view = memoryview(data)
                    real_write(fd, view[: max(1, len(view) // 2)])
                    self.fire()
                return real_write(fd, data)

            self.patch(os, "write", write)
        elif step == "before-fsync":  # the whole record written, not yet fsynced
            self.around(os, "fsync", match=lambda fd: is_journal(fd))
        elif step == "after-fsync":  # durable; the call has not returned yet
            self.around(os, "fsync", when="after", match=lambda fd: is_journal(fd))
        else:
            raise ValueError(step)

    def _blob(self, step: str) -> None:
        """Inside LocalBlobStore.write / delete."""

        def in_tmp(path: Any) -> bool:
            return "/.tmp/" in os.fspath(path)

        if step == "before-fsync":  # the temp file is written, not fsynced
            self.around(os, "fsync", match=lambda fd: in_tmp(fd_path(fd)))
        elif step == "after-link":  # linked under its key; the temp name still exists
            self.around(os, "link", when="after", match=lambda src, dst, *a, **k: in_tmp(src))
        elif step == "after-second-link":  # a batch: two files in place, more to come
            self.around(
                os, "link", when="after", nth=2, match=lambda src, dst, *a, **k: in_tmp(src)
            )
        elif step == "before-link":
            self.around(os, "link", match=lambda src, dst, *a, **k: in_tmp(src))
        elif step == "after-dir-fsync":  # the blob is durable, no metadata yet
            self._after_dir_fsync("link", lambda src, dst: in_tmp(src))
        elif step == "before-delete":  # metadata deleted, blob not yet
            from assetstore.backends.fsspec_blobs import LocalBlobStore

            self.around(LocalBlobStore, "delete")
        else:
            raise ValueError(step)

    def _s3(self, step: str) -> None:
        """Inside S3BlobStore.write (requests of the multipart upload) or delete."""
        from assetstore.backends.s3 import S3BlobStore, _MultipartUpload

        def request(method: str, when: str) -> None:
            real = _MultipartUpload._call
            seen = [0]

            def call(upload: Any, name: str, **kwargs: Any) -> Any:
                if name != method:
                    return real(upload, name, **kwargs)
                seen[0] += 1
                if seen[0] != 1:
                    return real(upload, name, **kwargs)
                if when == "before":
                    self.fire()
                future = real(upload, name, **kwargs)
                future.result()
                self.fire()

            self.patch(_MultipartUpload, "_call", call)

        if step == "mid-stream":
            return  # the op's source fires (see run_op)
        if step == "before-delete":
            self.around(S3BlobStore, "delete")
            return
        where, _, method = step.partition("-")
        methods = {
            "create": "create_multipart_upload",
            "first-part": "upload_part",
            "complete": "complete_multipart_upload",
            "put": "put_object",
        }
        request(methods[method], where)

    def _mongo(self, step: str) -> None:
        """Around the MongoDB document-store calls (commit points of a publish, update,
        delete)."""
        from assetstore.backends.mongo import MongoDocumentStore

        when, _, method = step.partition("-")
        self.around(MongoDocumentStore, method, when=when)

    def _store(self, step: str) -> None:
        """Between the two halves of stage + publish."""
        from assetstore._store import Store

        assert step == "after-stage"
        self.around(Store, "publish")


# ---------------------------------------------------------------------- crash ops
#: Asset contents of the crash scenarios.
OLD = b"old asset bytes"
BYSTANDER = b"bystander"
NEW_SIZE = 300 << 10  # several 64 KiB parts on S3
NEW = payload("new:1-a", NEW_SIZE)
SMALL = payload("small", 1000)
BATCH = 3  # assets of a publish-batch (upload_many)


class DiesMidStream:
    """A source that delivers two chunks, then dies (fires the injector)."""

    def __init__(self, injector: Injector) -> None:
        self.injector = injector
        self.calls = 0

    def read(self, n: int = -1) -> bytes:
        self.calls += 1
        if self.calls > 2:
            self.injector.fire()
        return b"x" * (96 << 10)


def prepare(store: Any) -> None:
    """The store every crash scenario starts from."""
    store.upload(OLD, name="old", version="1", tag="a", tags=["t"])
    store.upload(BYSTANDER, name="other", version="1", tag="a")


def run_op(store: Any, op: str, point: str, injector: Injector) -> None:
    """Perform ``op``; the armed point interrupts it."""
    if op == "publish":
        source = DiesMidStream(injector) if point.endswith("mid-stream") else NEW
        store.upload(source, name="new", version="1", tag="a", tags=["n"])
    elif op == "publish-small":
        store.upload(SMALL, name="new", version="1", tag="a", tags=["n"])
    elif op == "stage-publish":
        staged = store.stage(NEW, filename="new.bin")
        store.publish(staged, name="new", version="1", tag="a", tags=["n"])
    elif op == "publish-batch":
        store.upload_many(
            [
                {
                    "source": payload(f"batch{i}", NEW_SIZE),
                    "name": f"batch{i}",
                    "version": "1",
                    "tag": "a",
                }
                for i in range(BATCH)
            ]
        )
    elif op == "update":
        store.update("old:1-a", {"asset_tags": ["changed"], "asset_metadata": {"v": 2}})
    elif op == "delete":
        store.delete("old:1-a")
    elif op == "register":
        store.register(
            {
                "asset_name": "ext",
                "asset_version": {"version": "1", "tag": "a"},
                "asset_public_url": "https://example.com/ext.bin",
            }
        )
    else:
        raise ValueError(op)


def committed(op: str, point: str) -> bool:
    """Whether ``op`` interrupted at ``point`` has passed its commit point (the metadata
    write): then its effect must be visible, else it must not be."""
    # The journal append commits a change to a TinyDB store: once its record is written
    # whole, the next reader sees it (a process crash keeps the page cache). The meta:*
    # points lie inside the checkpoint that follows the append, so after the commit.
    after_commit = point.startswith("meta:") or point in (
        "journal:before-fsync",
        "journal:after-fsync",
        "mongo:after-insert",
        "mongo:after-insert_many",
        "mongo:after-replace",
        "mongo:after-delete",
    )
    return after_commit or (op == "delete" and point in ("blob:before-delete", "s3:before-delete"))


def check_outcome(store: Any, op: str, done: bool) -> None:
    """The scenario's own effect is all there (``done``) or not there at all."""
    from assetstore import AssetNotFoundError

    def absent(uri: str) -> None:
        try:
            store.get(uri)
        except AssetNotFoundError:
            return
        raise AssertionError(f"{uri} exists after a crash before its commit point")

    if op in ("publish", "stage-publish", "publish-small"):
        if done:
            expected = SMALL if op == "publish-small" else NEW
            assert store.read_bytes("new:1-a") == expected
            assert store.get("new:1-a").asset_tags == ["n"]
        else:
            absent("new:1-a")
    if op == "publish-batch":
        for i in range(BATCH):
            if done:
                assert store.read_bytes(f"batch{i}:1-a") == payload(f"batch{i}", NEW_SIZE)
            else:
                absent(f"batch{i}:1-a")
    if op == "register":
        if done:
            assert store.get("ext:1-a").asset_source == "external"
        else:
            absent("ext:1-a")
    if op == "delete" and done:
        absent("old:1-a")
    else:
        old = store.get("old:1-a")
        assert store.read_bytes("old:1-a") == OLD
        changed = op == "update" and done
        assert old.asset_tags == (["changed"] if changed else ["t"])
        assert old.revision == (2 if changed else 1)
    assert store.read_bytes("other:1-a") == BYSTANDER


def crash_main(spec: dict[str, Any], op: str, point: str) -> None:
    """Die at ``point`` during ``op`` (``open``: while opening a new store)."""
    if spec.get("checkpoint_every_write"):
        # The TinyDB file is then rewritten after each journal append: the only way the
        # meta:* points (inside that rewrite) are reached by a single operation.
        os.environ["ASSETSTORE_CHECKPOINT_BYTES"] = "0"
    if op == "open":
        Injector("exit").install(point)
        open_spec(spec)
    else:
        store = open_spec(spec)
        injector = Injector("exit")
        injector.install(point)
        run_op(store, op, point, injector)
    print(f"the point {point} was never reached during {op}", file=sys.stderr)
    sys.exit(1)


# -------------------------------------------------------------------- verification
def metadata_file(spec: dict[str, Any]) -> Path | None:
    """The TinyDB metadata file of a spec (None for MongoDB)."""
    if spec["kind"] == "local":
        return Path(spec["root"]) / "metadata.json"
    metadata = spec["metadata"]
    return None if metadata.startswith("mongodb") else Path(metadata)


def pending_uploads(store: Any) -> list[dict[str, Any]]:
    """Multipart uploads in progress under an S3 store's bucket."""
    blobs = store._blobs
    return blobs.fs.call_s3("list_multipart_uploads", Bucket=blobs.bucket).get("Uploads", [])


def verify_sound(store: Any, spec: dict[str, Any]) -> Any:
    """What a store must look like after any crash or fault: the metadata parses, and after
    ``gc(older_than=0)`` fsck is clean (every asset's file present, with its size and
    sha256) with no orphans, no temp file and no pending multipart upload left; the store
    still takes writes (no lock left held). Returns the gc report."""
    path = metadata_file(spec)
    if path is not None and path.exists():
        data = json.loads(path.read_bytes())
        assert isinstance(data, dict) and isinstance(data.get("assets", {}), dict)
    report = store.gc(older_than=0)
    fsck = store.fsck()
    assert fsck.ok, fsck
    assert fsck.orphans == [], fsck
    if spec["kind"] == "local":
        tmp = Path(spec["root"]) / ".tmp"
        assert not tmp.exists() or list(tmp.iterdir()) == []
    else:
        assert pending_uploads(store) == []
    if path is not None:
        assert list(path.parent.glob(f".{path.name}.*.tmp")) == []
    probe = store.upload(b"probe", name="probe-after-fault", version="1", tag="a")
    store.delete(probe.asset_uri)
    return report


# ---------------------------------------------------------------------- corruption
def flip_bit(path: Path, bit: int) -> None:
    """Flip one bit of a file in place (bit 0 is the lowest bit of the first byte), as a
    failing disk or a cosmic ray would: same size, same name."""
    data = bytearray(path.read_bytes())
    data[bit // 8] ^= 1 << (bit % 8)
    with open(path, "r+b") as file:
        file.write(data)


def rewrite_metadata(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Change a TinyDB metadata file as another program would: parse it, ``edit`` the
    object, write it back without the store's seal (an edit the seal cannot catch)."""
    data = json.loads(path.read_bytes())
    data.pop("_integrity", None)
    edit(data)
    path.write_text(json.dumps(data))


def blocked_on_flock(path: Path) -> bool:
    """Whether some process or thread is waiting for a ``flock`` on the file ``path``
    (a ``->`` line of /proc/locks naming its inode)."""
    inode = os.stat(path).st_ino
    with open("/proc/locks") as locks:
        return any("->" in line and f":{inode} " in line for line in locks)


# ----------------------------------------------------------------------- kill loop
def loop_main(spec: dict[str, Any], seed: int, prefix: str, owner: str = "") -> None:
    """Publish, update and delete until killed. Protocol on stdout, one line each, flushed:
    ``ready``; then ``B <op> <uri> [n]`` before a call and ``<op> <uri> [n]`` after it
    returned (op: P publish, U update, D delete). With ``owner``, only the loop assets of
    that owner are touched (several writers, one owner each, can share a store)."""
    store = open_spec(spec)
    rng = random.Random(seed)
    print("ready", flush=True)
    mine_filter: dict[str, Any] = {"asset_metadata.loop": True}
    stamp: dict[str, Any] = {"loop": True}
    if owner:
        mine_filter["asset_metadata.owner"] = owner
        stamp["owner"] = owner
    mine = [a.asset_uri for a in store.query(mine_filter)]
    i = 0
    while True:
        r = rng.random()
        if r < 0.55 or len(mine) < 3:
            uri = f"{prefix}-{i}:1-a"
            i += 1
            data = payload(uri, loop_size(uri))
            print(f"B P {uri}", flush=True)
            fields = {"name": uri.split(":")[0], "version": "1", "tag": "a"}
            if rng.random() < 0.2:
                staged = store.stage(data)
                store.publish(staged, **fields, metadata={**stamp, "n": 0})
            else:
                store.upload(data, **fields, metadata={**stamp, "n": 0})
            print(f"P {uri}", flush=True)
            mine.append(uri)
        elif r < 0.8:
            uri = rng.choice(mine)
            current = store.get(uri)
            n = current.asset_metadata["n"] + 1
            print(f"B U {uri} {n}", flush=True)
            store.update(
                uri, {"asset_metadata": {**stamp, "n": n}}, expected_revision=current.revision
            )
            print(f"U {uri} {n}", flush=True)
        else:
            uri = mine.pop(rng.randrange(len(mine)))
            print(f"B D {uri}", flush=True)
            store.delete(uri)
            print(f"D {uri}", flush=True)


def parse_protocol(out: str) -> tuple[list[list[str]], list[str] | None]:
    """A loop writer's acknowledged operations, in order, and the one in flight (None if
    none); a line cut by a kill is not a message."""
    acked: list[list[str]] = []
    in_flight = None
    complete = out[: out.rfind("\n") + 1]
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


class Ledger:
    """The external ledger of what loop writers were told: for each asset, the ``n`` of
    its last acknowledged change, or its absence after an acknowledged delete; plus the
    operations in flight when a writer was killed (each happened entirely or not at all:
    :meth:`reconcile` decides which, from what the store shows)."""

    def __init__(self) -> None:
        self.model: dict[str, int] = {}
        self.in_flight: dict[str, list[str]] = {}
        self.acknowledged = 0

    def add(self, out: str) -> None:
        """One writer's output, in the order the writers of one owner ran."""
        acked, in_flight = parse_protocol(out)
        for op, uri, *n in acked:
            self.acknowledged += 1
            self.in_flight.pop(uri, None)  # a later acknowledged change settles it
            if op == "P":
                self.model[uri] = 0
            elif op == "U":
                self.model[uri] = int(n[0])
            else:
                self.model.pop(uri, None)
        if in_flight is not None:
            self.in_flight[in_flight[1]] = in_flight

    def reconcile(self, actual: dict[str, int]) -> list[str]:
        """Settle the operations in flight against ``actual`` (uri -> n as the store shows
        it), then return every contradiction between the ledger and the store."""
        problems = []
        for op, uri, *n in self.in_flight.values():
            if op == "P" and uri in actual:
                self.model[uri] = 0
            elif op == "U" and uri in self.model and actual.get(uri) == int(n[0]):
                self.model[uri] = int(n[0])
            elif op == "D" and uri not in actual:
                self.model.pop(uri, None)
        self.in_flight.clear()
        for uri, n in self.model.items():
            if uri not in actual:
                problems.append(f"acknowledged {uri} (n={n}) is gone")
            elif actual[uri] != n:
                problems.append(f"{uri} shows n={actual[uri]}, acknowledged n={n}")
        problems += [f"{uri} was never acknowledged" for uri in actual if uri not in self.model]
        return problems


# --------------------------------------------------------------- concurrent writers
COUNTER = "counter:1-a"


def increment(store: Any, times: int) -> int:
    """Add 1 to the counter asset ``times`` times with compare-and-swap; returns how many
    attempts lost a race and were retried."""
    from assetstore import RevisionMismatchError

    retries = 0
    for _ in range(times):
        while True:
            current = store.get(COUNTER)
            n = current.asset_metadata["n"] + 1
            try:
                store.update(
                    COUNTER, {"asset_metadata": {"n": n}}, expected_revision=current.revision
                )
                break
            except RevisionMismatchError:
                retries += 1
    return retries


def publish_series(store: Any, worker: str, count: int) -> None:
    """Publish ``worker/a0`` .. ``worker/a{count-1}`` (contents from :func:`payload`)."""
    for i in range(count):
        uri = f"{worker}/a{i}:1-a"
        store.upload(
            payload(uri, 100 + i),
            name=f"{worker}/a{i}",
            version="1",
            tag="a",
            metadata={"worker": worker, "i": i},
        )


def wait_for(path: Path) -> None:
    """A start line for several processes: wait until ``path`` exists."""
    while not path.exists():
        time.sleep(0.002)


def write_main(
    spec: dict[str, Any], worker: str, threads: int, uploads: int, increments: int, start: str
) -> None:
    """``threads`` threads each upload ``uploads`` assets and add ``increments`` to the
    counter, once the file ``start`` exists; prints the number of CAS retries."""
    store = open_spec(spec)
    wait_for(Path(start))
    retries = [0] * threads
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            publish_series(store, f"{worker}t{t}", uploads)
            retries[t] = increment(store, increments)
        except BaseException as exc:  # reported below, the parent fails the test
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        raise errors[0]
    print(f"retries {sum(retries)}", flush=True)


def claim_main(spec: dict[str, Any], worker: str, count: int, start: str) -> None:
    """Try to publish the same ``count`` URIs as the other workers; print ``won URI`` or
    ``lost URI`` for each."""
    from assetstore import AlreadyExistsError

    store = open_spec(spec)
    wait_for(Path(start))
    for i in range(count):
        uri = f"claimed{i}:1-a"
        try:
            store.upload(
                payload(f"{uri}/{worker}", 1000 + i),
                name=f"claimed{i}",
                version="1",
                tag="a",
                metadata={"worker": worker},
            )
            print(f"won {uri}", flush=True)
        except AlreadyExistsError:
            print(f"lost {uri}", flush=True)


def identity_main(spec: dict[str, Any], start: str) -> None:
    """Open a (new) store once ``start`` exists and print its id."""
    wait_for(Path(start))
    print(open_spec(spec).assets_db_id, flush=True)


def fsize_main(spec: dict[str, Any], op: str, limit: int) -> None:
    """Run ``op`` under a file-size limit (``RLIMIT_FSIZE``): the kernel fails the write that
    would cross it with EFBIG, partway through, like a disk that fills up. Prints the
    exception's type and errno (or ``ok``)."""
    import resource
    import signal

    store = open_spec(spec)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    try:
        if op == "publish-large":
            store.upload(payload("large", 4 * limit), name="large", version="1", tag="a")
        elif op == "register-large-metadata":
            store.register(
                {
                    "asset_name": "ext",
                    "asset_version": {"version": "1", "tag": "a"},
                    "asset_metadata": {"pad": "x" * (limit + limit // 4)},
                }
            )
        else:
            raise ValueError(op)
    except OSError as exc:
        print(type(exc).__name__, exc.errno, flush=True)
    else:
        print("ok", flush=True)


def race_main(spec: dict[str, Any], uri: str) -> None:
    """Race another process for one revision. For each line ``update R`` or ``delete R``
    from stdin: check the revision and prepare the change, print ``at-cas`` when about to
    write, wait for ``go``, then write; print ``won`` or ``lost <error>``."""
    from assetstore import AssetNotFoundError, RevisionMismatchError

    store = open_spec(spec)
    documents = store._documents
    gate = {"real_replace": documents.replace, "real_delete": documents.delete}

    def hold(real: Callable[..., bool]) -> Callable[..., bool]:
        def held(*args: Any, **kwargs: Any) -> bool:
            print("at-cas", flush=True)
            assert sys.stdin.readline().strip() == "go"
            return real(*args, **kwargs)

        return held

    documents.replace = hold(gate["real_replace"])
    documents.delete = hold(gate["real_delete"])
    print("ready", flush=True)
    while line := sys.stdin.readline():
        action, revision = line.split()
        try:
            if action == "update":
                store.update(
                    uri,
                    {"asset_metadata": {"by": os.getpid(), "at": int(revision)}},
                    expected_revision=int(revision),
                )
            else:
                store.delete(uri, expected_revision=int(revision))
            print("won", flush=True)
        except (RevisionMismatchError, AssetNotFoundError) as exc:
            print(f"lost {type(exc).__name__}", flush=True)


# --------------------------------------------------------------------------- zygote
def zygote_main() -> None:
    """A process that has imported everything once and forks a fresh child per request, so
    the hundreds of children that crash or are killed do not each pay the imports.

    Requests on stdin, one JSON line each: ``{"spawn": argv, "out": path, "err": path}``
    answers the child's pid (the child runs ``main(argv)`` with stdout and stderr in those
    files and stdin on /dev/null); ``{"wait": pid}`` answers its exit code (negative: the
    signal that ended it), like ``subprocess``."""
    import traceback

    assert threading.active_count() == 1, "the zygote must not run threads before forking"
    print("ready", flush=True)
    while line := sys.stdin.readline():
        request = json.loads(line)
        if "wait" in request:
            _, status = os.waitpid(request["wait"], 0)
            print(os.waitstatus_to_exitcode(status), flush=True)
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        zygote = os.getpid()
        pid = os.fork()
        if pid:
            print(pid, flush=True)
            continue
        code = 1
        try:
            _die_with(zygote)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            for fd, path in ((1, request["out"]), (2, request["err"])):
                target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(target, fd)
                os.close(target)
            random.seed()
            main(request["spawn"])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)


def _die_with(parent: int) -> None:
    """Make the kernel kill this child when ``parent`` (the zygote) ends: a writer that
    loops until it is killed must not outlive a test that failed before killing it (the
    zygote ends when the test process closes its stdin)."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it ended before the line above
        os._exit(1)


class Zygote:
    """The test's handle on a zygote process (see :func:`zygote_main`)."""

    def __init__(self) -> None:
        import subprocess

        self._proc = subprocess.Popen(
            [sys.executable, KIT, "zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lock = threading.Lock()
        assert self._readline() == "ready"

    def _readline(self) -> str:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the zygote died")
        return line.strip()

    def _ask(self, request: dict[str, Any]) -> int:
        assert self._proc.stdin is not None
        with self._lock:
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
            return int(self._readline())

    def spawn(self, argv: list[str], out: Path, err: Path) -> int:
        """Start ``crashkit.main(argv)`` in a fresh child; its pid."""
        return self._ask({"spawn": argv, "out": str(out), "err": str(err)})

    def wait(self, pid: int) -> int:
        """Wait for the child to end; its exit code (``-9`` for SIGKILL)."""
        return self._ask({"wait": pid})

    def run(self, argv: list[str], directory: Path) -> tuple[int, str, str]:
        """Run a child to its end: (exit code, stdout, stderr)."""
        name = f"child-{uuid.uuid4().hex}"
        out, err = directory / f"{name}.out", directory / f"{name}.err"
        code = self.wait(self.spawn(argv, out, err))
        return code, out.read_text(), err.read_text()

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=60)


def main(argv: list[str]) -> None:
    command = argv[0]
    spec = json.loads(argv[1]) if len(argv) > 1 else {}
    if command == "crash":
        crash_main(spec, argv[2], argv[3])
    elif command == "loop":
        loop_main(spec, int(argv[2]), argv[3], *argv[4:5])
    elif command == "write":
        write_main(spec, argv[2], int(argv[3]), int(argv[4]), int(argv[5]), argv[6])
    elif command == "claim":
        claim_main(spec, argv[2], int(argv[3]), argv[4])
    elif command == "fsize":
        fsize_main(spec, argv[2], int(argv[3]))
    elif command == "identity":
        identity_main(spec, argv[2])
    elif command == "race":
        race_main(spec, argv[2])
    elif command == "zygote":
        zygote_main()
    else:
        raise SystemExit(f"unknown command {command}")


KIT = str(Path(__file__).resolve())

if __name__ == "__main__":
    main(sys.argv[1:])
