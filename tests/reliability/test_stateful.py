"""Hypothesis drives a store and a plain dict model with the same random operations and
checks after every step that they agree.

Operations: upload, register, update (no ``expected_revision``, the current one, a stale
one), delete (the same three ways), get, read, query by tag, resolve (``latest``, an exact
version, ranges, with and without a tag), stage then publish or discard, and gc (with the
grace period while files are staged, ``older_than=0`` otherwise). Each operation may hit a
URI that is taken or missing. Invariants after every step: the same URIs, revisions, tags
and metadata; at the end, fsck clean and no orphan except the files still staged.

On the local store (files + TinyDB) and on S3 (moto over HTTP) + MongoDB (mongomock).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import uuid

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from assetstore import (
    AlreadyExistsError,
    AssetNotFoundError,
    InvalidInputError,
    RevisionMismatchError,
    open_store,
)

NAMES = ["m", "org/m"]
VERSIONS = ["1", "1.2", "1.10", "2", "10"]  # in ascending version order
VERSION_TAGS = ["a", "b"]
LABELS = ["x", "y", "z"]
#: resolve() specs and the versions each admits.
SPECS = {
    "latest": set(VERSIONS),
    "1.2": {"1.2"},
    ">=1.2,<10": {"1.2", "1.10", "2"},
    "^1": {"1", "1.2", "1.10"},
}

uris = st.tuples(st.sampled_from(NAMES), st.sampled_from(VERSIONS), st.sampled_from(VERSION_TAGS))
contents = st.binary(max_size=2000)
labels = st.lists(st.sampled_from(LABELS), unique=True, max_size=3)
metadata = st.dictionaries(st.sampled_from(["k", "v"]), st.integers(0, 2), max_size=2)
modes = st.sampled_from(["none", "current", "stale"])


def uri_of(parts):
    name, version, tag = parts
    return f"{name}:{version}-{tag}"


class StoreMachine(RuleBasedStateMachine):
    """Subclasses set ``open_store`` (returns a store and a cleanup callable)."""

    staged = Bundle("staged")
    runs = 0
    steps = 0

    def __init__(self) -> None:
        super().__init__()
        self.store, self._cleanup = self.open_store()
        self.model: dict[str, dict] = {}
        self.pending = 0
        type(self).runs += 1

    @staticmethod
    def open_store():
        raise NotImplementedError

    def teardown(self) -> None:
        try:
            report = self.store.fsck()
            assert report.ok, report
            assert len(report.orphans) == self.pending, report
        finally:
            self.store.close()
            self._cleanup()

    def step(self) -> None:
        type(self).steps += 1

    # -------------------------------------------------------------------- create
    def _created(self, asset, parts, data, tags, meta, source):
        uri = uri_of(parts)
        assert asset.asset_uri == uri and asset.revision == 1
        if data is not None:
            assert asset.file_size == len(data)
        self.model[uri] = {
            "data": data,
            "tags": tags,
            "meta": meta,
            "revision": 1,
            "source": source,
            "created": asset.created_at,
        }

    @rule(parts=uris, data=contents, tags=labels, meta=metadata)
    def upload(self, parts, data, tags, meta):
        self.step()
        name, version, tag = parts
        if uri_of(parts) in self.model:
            with pytest.raises(AlreadyExistsError):
                self.store.upload(data, name=name, version=version, tag=tag)
            return
        asset = self.store.upload(
            data, name=name, version=version, tag=tag, tags=tags, metadata=meta
        )
        self._created(asset, parts, data, tags, meta, "upload")

    @rule(parts=uris, tags=labels)
    def register(self, parts, tags):
        self.step()
        name, version, tag = parts
        record = {
            "asset_name": name,
            "asset_version": {"version": version, "tag": tag},
            "asset_public_url": "https://example.com/f",
            "asset_tags": tags,
        }
        if uri_of(parts) in self.model:
            with pytest.raises(AlreadyExistsError):
                self.store.register(record)
            return
        self._created(self.store.register(record), parts, None, tags, {}, "external")

    @rule(target=staged, data=contents)
    def stage(self, data):
        self.step()
        self.pending += 1
        return self.store.stage(data), data

    @rule(item=consumes(staged), parts=uris, tags=labels)
    def publish(self, item, parts, tags):
        self.step()
        staged, data = item
        self.pending -= 1
        name, version, tag = parts
        if uri_of(parts) in self.model:  # refused, and the staged file is discarded
            with pytest.raises(AlreadyExistsError):
                self.store.publish(staged, name=name, version=version, tag=tag)
            return
        asset = self.store.publish(staged, name=name, version=version, tag=tag, tags=tags)
        self._created(asset, parts, data, tags, {}, "upload")

    @rule(item=consumes(staged))
    def discard(self, item):
        self.step()
        self.pending -= 1
        self.store.discard(item[0])

    # -------------------------------------------------------------------- change
    def _revision(self, uri, mode):
        current = self.model[uri]["revision"] if uri in self.model else 1
        return {"none": None, "current": current, "stale": current - 1}[mode]

    @rule(parts=uris, tags=st.none() | labels, meta=st.none() | metadata, mode=modes)
    def update(self, parts, tags, meta, mode):
        self.step()
        uri = uri_of(parts)
        changes = {}
        if tags is not None:
            changes["asset_tags"] = tags
        if meta is not None:
            changes["asset_metadata"] = meta
        expected = self._revision(uri, mode)
        if uri not in self.model:
            with pytest.raises(AssetNotFoundError):
                self.store.update(uri, changes, expected_revision=expected)
            return
        if mode == "stale":
            with pytest.raises(RevisionMismatchError):
                self.store.update(uri, changes, expected_revision=expected)
            return
        entry = self.model[uri]
        new_tags = entry["tags"] if tags is None else tags
        new_meta = entry["meta"] if meta is None else meta
        if (new_tags, new_meta) != (entry["tags"], entry["meta"]):
            entry.update(tags=new_tags, meta=new_meta, revision=entry["revision"] + 1)
        asset = self.store.update(uri, changes, expected_revision=expected)
        assert asset.revision == entry["revision"]

    @rule(parts=uris, mode=modes)
    def delete(self, parts, mode):
        self.step()
        uri = uri_of(parts)
        expected = self._revision(uri, mode)
        if uri not in self.model:
            with pytest.raises(AssetNotFoundError):
                self.store.delete(uri, expected_revision=expected)
        elif mode == "stale":
            with pytest.raises(RevisionMismatchError):
                self.store.delete(uri, expected_revision=expected)
        else:
            self.store.delete(uri, expected_revision=expected)
            del self.model[uri]

    # ---------------------------------------------------------------------- read
    @rule(parts=uris)
    def get_and_read(self, parts):
        self.step()
        uri = uri_of(parts)
        if uri not in self.model:
            with pytest.raises(AssetNotFoundError):
                self.store.get(uri)
            return
        entry = self.model[uri]
        asset = self.store.get(uri)
        assert (asset.asset_tags, asset.asset_metadata, asset.revision) == (
            entry["tags"],
            entry["meta"],
            entry["revision"],
        )
        if entry["source"] == "upload":
            assert self.store.read_bytes(uri) == entry["data"]
            assert self.store.get_by_id(asset.asset_id).asset_uri == uri
        else:
            with pytest.raises(InvalidInputError):
                self.store.read_bytes(uri)

    @rule(label=st.sampled_from(LABELS))
    def query_by_tag(self, label):
        self.step()
        found = sorted(a.asset_uri for a in self.store.query({"asset_tags": label}))
        assert found == sorted(u for u, e in self.model.items() if label in e["tags"])
        assert self.store.count({"asset_tags": label}) == len(found)

    @rule(
        name=st.sampled_from(NAMES),
        spec=st.sampled_from(sorted(SPECS)),
        tag=st.none() | st.sampled_from(VERSION_TAGS),
    )
    def resolve(self, name, spec, tag):
        self.step()
        candidates = {
            u: e
            for u, e in self.model.items()
            if u.rsplit(":", 1)[0] == name
            and (tag is None or u.rsplit("-", 1)[1] == tag)
            and u.rsplit(":", 1)[1].rsplit("-", 1)[0] in SPECS[spec]
        }
        if not candidates:
            with pytest.raises(AssetNotFoundError):
                self.store.resolve(name, spec, tag=tag)
            return
        best = max(VERSIONS.index(u.rsplit(":", 1)[1].rsplit("-", 1)[0]) for u in candidates)
        at_best = {
            u: e
            for u, e in candidates.items()
            if u.rsplit(":", 1)[1].rsplit("-", 1)[0] == VERSIONS[best]
        }
        newest = max(e["created"] for e in at_best.values())
        allowed = {u for u, e in at_best.items() if e["created"] == newest}
        assert self.store.resolve(name, spec, tag=tag).asset_uri in allowed

    # ------------------------------------------------------------------ maintenance
    @precondition(lambda self: self.pending == 0)
    @rule()
    def gc_now(self):
        self.step()
        report = self.store.gc(older_than=0)
        assert report.removed == [], report  # every failed operation cleaned up after itself

    @rule()
    def gc_with_grace(self):
        self.step()
        report = self.store.gc()
        assert report.removed == [] and report.kept_recent == self.pending, report

    @invariant()
    def agrees_with_the_model(self):
        stored = {
            a.asset_uri: (a.revision, a.asset_tags, a.asset_metadata) for a in self.store.query()
        }
        assert stored == {u: (e["revision"], e["tags"], e["meta"]) for u, e in self.model.items()}


def run(machine, examples, steps):
    """About 20 s each on a 2-core machine: local operations are cheap, S3 ones are HTTP."""
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print(f"\n{machine.__name__}: {machine.runs} runs, {machine.steps} steps", file=sys.stderr)
    assert machine.runs >= examples


def test_local_store_agrees_with_a_dict():
    class LocalStore(StoreMachine):
        runs = steps = 0

        @staticmethod
        def open_store():
            root = tempfile.mkdtemp(prefix="assetstore-stateful-")
            return open_store(root), lambda: shutil.rmtree(root, ignore_errors=True)

    run(LocalStore, examples=100, steps=40)


def test_s3_mongo_store_agrees_with_a_dict(s3_options):
    import mongomock

    bucket = f"s3://bucket-stateful-{uuid.uuid4().hex[:8]}"

    class S3MongoStore(StoreMachine):
        runs = steps = 0

        @staticmethod
        def open_store():
            database = f"stateful_{uuid.uuid4().hex[:8]}"
            client = mongomock.MongoClient()
            store = open_store(
                f"{bucket}/{uuid.uuid4().hex[:8]}",
                metadata=f"mongodb://mongomock.invalid/{database}",
                mongo_client=client,
                **s3_options,
            )
            return store, client.close

    run(S3MongoStore, examples=25, steps=30)
