"""The behaviour every :class:`~assetstore.contract.AssetStore` must show.

Subclass :class:`AssetStoreConformance` in a test module and provide a ``store`` fixture that
returns a new, empty store::

    class TestMyStore(AssetStoreConformance):
        @pytest.fixture
        def store(self, tmp_path):
            return open_store(tmp_path)
"""

from __future__ import annotations

import hashlib
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from assetstore.contract import AssetStore
from assetstore.errors import (
    AlreadyExistsError,
    AssetNotFoundError,
    InvalidInputError,
    InvalidNameError,
    InvalidQueryError,
    ReadOnlyFieldError,
    RevisionMismatchError,
)
from assetstore.models import Upload

PAYLOAD = b"weights " * 1000


def _upload(
    store: AssetStore,
    name: str = "org/model",
    version: str = "1.0",
    tag: str = "stable",
    data: bytes = PAYLOAD,
    **kwargs: Any,
) -> Any:
    return store.upload(data, name=name, version=version, tag=tag, **kwargs)


class AssetStoreConformance:
    """Behaviour shared by every asset store. Subclasses provide the ``store`` fixture."""

    @pytest.fixture
    def store(self) -> AssetStore:
        raise NotImplementedError("provide a `store` fixture returning an empty AssetStore")

    # ---------------------------------------------------------------- upload
    def test_upload_records_identity_and_file_info(self, store: AssetStore) -> None:
        asset = _upload(
            store, metadata={"framework": "pytorch"}, tags=["image"], filename="model.pt"
        )
        assert asset.asset_uri == "org/model:1.0-stable"
        assert asset.asset_name == "org/model"
        assert asset.asset_version == {"version": "1.0", "tag": "stable"}
        assert len(asset.asset_id) == 32
        assert asset.assets_db_id == store.assets_db_id
        assert asset.asset_source == "upload"
        assert asset.revision == 1
        assert asset.created_at == asset.updated_at != ""
        info = asset.asset_file_info
        assert info["file_size"] == len(PAYLOAD)
        assert info["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
        assert info["filename"] == "model.pt"
        assert asset.asset_public_url
        assert store.get(asset.asset_uri) == asset
        assert store.get_by_id(asset.asset_id) == asset

    def test_upload_from_path_keeps_file_name_and_type(
        self, store: AssetStore, tmp_path: Path
    ) -> None:
        path = tmp_path / "policy.json"
        path.write_bytes(b'{"allow": true}')
        asset = store.upload(path, name="policy", version="2", tag="prod")
        assert asset.asset_file_info["filename"] == "policy.json"
        assert asset.asset_file_info["file_type"] == "application/json"
        assert store.read_bytes(asset.asset_uri) == b'{"allow": true}'

    def test_upload_streams_a_file_object(self, store: AssetStore) -> None:
        data = bytes(range(256)) * 20_000  # 5 MB: several chunks
        asset = store.upload(io.BytesIO(data), name="big", version="1", tag="x")
        assert asset.file_size == len(data)
        assert store.read_bytes(asset.asset_uri) == data

    def test_empty_file(self, store: AssetStore) -> None:
        asset = _upload(store, data=b"")
        assert asset.file_size == 0
        assert store.read_bytes(asset.asset_uri) == b""

    @pytest.mark.parametrize(
        ("name", "version", "tag"),
        [
            ("", "1.0", "a"),
            ("m", "", "a"),
            ("m", "1.0", ""),
            ("../etc", "1", "a"),
            ("a/../b", "1", "a"),
            ("/abs", "1", "a"),
            ("a\x00b", "1", "a"),
            ("a#b", "1", "a"),
            ("a?b", "1", "a"),
            ("a\\b", "1", "a"),
            ("a:b", "1", "a"),
            ("x" * 201, "1", "a"),
            ("m", "1/2", "a"),
            ("m", "1", "a-b"),
            ("m", "1 0", "a"),
        ],
    )
    def test_bad_names_are_refused_and_change_nothing(
        self, store: AssetStore, name: str, version: str, tag: str
    ) -> None:
        with pytest.raises(InvalidNameError):
            store.upload(b"x", name=name, version=version, tag=tag)
        assert store.count() == 0

    def test_taken_uri_is_refused_and_first_asset_kept(self, store: AssetStore) -> None:
        first = _upload(store)
        with pytest.raises(AlreadyExistsError):
            _upload(store, data=b"other bytes")
        assert store.read_bytes(first.asset_uri) == PAYLOAD
        assert store.count() == 1

    @pytest.mark.parametrize(
        "metadata",
        [
            "not an object",
            ["a"],
            {"$set": 1},
            {"a.b": 1},
            {"when": object()},
        ],
    )
    def test_invalid_metadata_is_refused(self, store: AssetStore, metadata: Any) -> None:
        with pytest.raises(InvalidInputError):
            _upload(store, metadata=metadata)
        assert store.count() == 0

    def test_tags_must_be_strings(self, store: AssetStore) -> None:
        with pytest.raises(InvalidInputError):
            _upload(store, tags="image")
        with pytest.raises(InvalidInputError):
            _upload(store, tags=["ok", 3])
        assert _upload(store, tags=["a", "b", "a"]).asset_tags == ["a", "b"]

    def test_same_name_many_versions_and_tags(self, store: AssetStore) -> None:
        for version in ("1.0", "2.0"):
            for tag in ("a", "b"):
                _upload(store, version=version, tag=tag)
        assert store.count({"asset_name": "org/model"}) == 4

    def test_names_may_have_spaces_and_namespaces(self, store: AssetStore) -> None:
        asset = _upload(store, name="Sample Asset")
        assert store.get("Sample Asset:1.0-stable") == asset
        nested = _upload(store, name="org/team/model")
        assert store.get("org/team/model:1.0-stable") == nested

    # --------------------------------------------------------------- staging
    def test_stage_then_publish(self, store: AssetStore) -> None:
        staged = store.stage(io.BytesIO(PAYLOAD), filename="late.bin")
        assert staged.size == len(PAYLOAD)
        assert store.count() == 0
        asset = store.publish(staged, name="late", version="1", tag="a", tags=["x"])
        assert asset.asset_file_info["filename"] == "late.bin"
        assert asset.sha256 == staged.sha256
        assert store.read_bytes(asset.asset_uri) == PAYLOAD
        assert store.fsck().orphans == []

    def test_staged_file_is_discarded_on_bad_publish_or_request(self, store: AssetStore) -> None:
        _upload(store, name="taken")
        for bad in ("taken", "../x"):
            staged = store.stage(PAYLOAD)
            with pytest.raises((AlreadyExistsError, InvalidNameError)):
                store.publish(staged, name=bad, version="1.0", tag="stable")
        store.discard(store.stage(PAYLOAD))
        assert store.count() == 1
        assert store.fsck().orphans == []

    # ----------------------------------------------------------------- batches
    #: Whether a failing batch leaves nothing behind (a remote store may apply items one by
    #: one and stop at the first error).
    atomic_batches = True

    def test_upload_many(self, store: AssetStore, tmp_path: Path) -> None:
        path = tmp_path / "f.bin"
        path.write_bytes(b"from a path")
        assets = store.upload_many(
            [
                {"source": b"one", "name": "bulk", "version": "1", "tag": "a", "tags": ["b"]},
                Upload(source=path, name="bulk", version="2", tag="a", metadata={"k": 1}),
                {"source": io.BytesIO(b"three"), "name": "other", "version": "1", "tag": "a"},
            ]
        )
        assert [a.asset_uri for a in assets] == ["bulk:1-a", "bulk:2-a", "other:1-a"]
        assert store.read_bytes("bulk:2-a") == b"from a path"
        assert store.get("bulk:2-a").asset_file_info["filename"] == "f.bin"
        assert store.count() == 3
        assert store.resolve("bulk").version == "2"

    @pytest.mark.parametrize(
        "bad",
        [
            {"source": b"x", "name": "../bad", "version": "1", "tag": "a"},
            {"source": b"x", "name": "taken", "version": "1", "tag": "a"},
            {"source": b"x", "name": "bulk", "version": "1", "tag": "a"},
            {"source": b"x", "name": "ok", "version": "1", "tag": "a", "metadata": {"$x": 1}},
            {"source": b"x", "name": "ok", "version": "1", "tag": "a", "colour": "red"},
        ],
    )
    def test_failed_upload_many_adds_nothing(self, store: AssetStore, bad: dict[str, Any]) -> None:
        _upload(store, name="taken", version="1", tag="a")
        batch = [{"source": b"first", "name": "bulk", "version": "1", "tag": "a"}, bad]
        with pytest.raises(ValueError):  # noqa: PT011 - each case raises its own ValueError
            store.upload_many(batch)
        if self.atomic_batches:
            assert store.count() == 1
            assert store.fsck().orphans == []

    def test_register_many(self, store: AssetStore) -> None:
        records = store.register_many(
            [
                {
                    "asset_name": f"ext{i}",
                    "asset_version": {"version": "1", "tag": "a"},
                    "asset_public_url": f"https://example.com/{i}",
                }
                for i in range(5)
            ]
        )
        assert len({r.asset_id for r in records}) == 5
        assert store.count({"asset_source": "external"}) == 5
        with pytest.raises(AlreadyExistsError):
            store.register_many(
                [
                    {"asset_name": "new", "asset_version": {"version": "1", "tag": "a"}},
                    {"asset_name": "ext3", "asset_version": {"version": "1", "tag": "a"}},
                ]
            )
        if self.atomic_batches:
            assert store.count() == 5

    # -------------------------------------------------------------- register
    def test_register_external_asset(self, store: AssetStore) -> None:
        asset = store.register(
            {
                "asset_name": "Sample Asset",
                "asset_version": {"version": "1.0", "tag": "initial"},
                "asset_metadata": {"description": "Sample asset for testing"},
                "asset_tags": ["test", "sample"],
                "asset_public_url": "https://example.com/files/sample.bin",
                "asset_id": "ignored",
            }
        )
        assert asset.asset_uri == "Sample Asset:1.0-initial"
        assert asset.asset_source == "external"
        assert asset.asset_id != "ignored"
        assert asset.asset_public_url == "https://example.com/files/sample.bin"
        assert store.get(asset.asset_uri) == asset
        with pytest.raises(InvalidInputError):
            store.open(asset.asset_uri)

    def test_register_without_url_is_allowed(self, store: AssetStore) -> None:
        asset = store.register({"asset_name": "n", "asset_version": {"version": "1", "tag": "t"}})
        assert asset.asset_public_url == ""

    @pytest.mark.parametrize(
        "fields",
        [
            {"asset_name": "n"},
            {"asset_name": "n", "asset_version": {"version": "1"}},
            {
                "asset_name": "n",
                "asset_version": {"version": "1", "tag": "t"},
                "asset_public_url": "not a url",
            },
            {
                "asset_name": "n",
                "asset_version": {"version": "1", "tag": "t"},
                "asset_uri": "other:1-t",
            },
            {"asset_name": "n", "asset_version": "1.0"},
        ],
    )
    def test_register_refuses_incomplete_or_inconsistent(
        self, store: AssetStore, fields: dict[str, Any]
    ) -> None:
        with pytest.raises(InvalidInputError):
            store.register(fields)
        assert store.count() == 0

    def test_register_taken_uri(self, store: AssetStore) -> None:
        _upload(store)
        with pytest.raises(AlreadyExistsError):
            store.register(
                {"asset_name": "org/model", "asset_version": {"version": "1.0", "tag": "stable"}}
            )

    # ------------------------------------------------------------------ read
    def test_missing_asset(self, store: AssetStore) -> None:
        with pytest.raises(AssetNotFoundError) as caught:
            store.get("nope:1-a")
        assert isinstance(caught.value, LookupError)
        with pytest.raises(LookupError):
            store.get_by_id("0" * 32)
        with pytest.raises(LookupError):
            store.read_bytes("nope:1-a")

    def test_open_streams_and_ranges(self, store: AssetStore) -> None:
        data = bytes(range(256)) * 100
        asset = _upload(store, data=data)
        with store.open(asset.asset_uri) as reader:
            assert reader.read(10) == data[:10]
            assert reader.read() == data[10:]
        with store.open(asset.asset_uri, start=100, end=300) as reader:
            assert reader.read() == data[100:300]
        with store.open(asset.asset_uri, start=len(data) - 5) as reader:
            assert reader.read() == data[-5:]
        with pytest.raises(InvalidInputError):
            store.open(asset.asset_uri, start=10, end=len(data) + 1)
        with pytest.raises(InvalidInputError):
            store.open(asset.asset_uri, start=20, end=10)
        with store.open_asset(asset, start=100, end=300) as reader:
            assert reader.read() == data[100:300]
        with store.open_asset(asset) as reader:
            assert reader.read() == data

    def test_download_to_directory_and_path(self, store: AssetStore, tmp_path: Path) -> None:
        asset = _upload(store, filename="weights.bin")
        out = tmp_path / "downloads"
        out.mkdir()
        into_dir = store.download(asset.asset_uri, out)
        assert into_dir == out / "weights.bin"
        assert into_dir.read_bytes() == PAYLOAD
        named = store.download(asset.asset_uri, out / "copy.bin")
        assert named.read_bytes() == PAYLOAD
        assert sorted(p.name for p in out.iterdir()) == ["copy.bin", "weights.bin"]

    def test_download_reports_progress(self, store: AssetStore, tmp_path: Path) -> None:
        asset = _upload(store)
        seen: list[int] = []
        store.download(asset.asset_uri, tmp_path / "f", progress=seen.append)
        assert sum(seen) == len(PAYLOAD)

    # ----------------------------------------------------------------- query
    def _catalog(self, store: AssetStore) -> None:
        _upload(
            store,
            name="resnet",
            version="1.0",
            tag="a",
            tags=["image", "cnn"],
            metadata={"framework": "pytorch", "params": 25},
        )
        _upload(
            store,
            name="resnet",
            version="1.5",
            tag="a",
            tags=["image"],
            metadata={"framework": "tensorflow", "params": 25},
        )
        _upload(
            store,
            name="bert",
            version="0.9",
            tag="b",
            tags=["text"],
            metadata={"framework": "pytorch", "params": 110},
        )
        store.register(
            {
                "asset_name": "policy",
                "asset_version": {"version": "3", "tag": "p"},
                "asset_tags": ["policy"],
                "asset_metadata": {"type": "rego"},
            }
        )

    def test_query_like_the_specification(self, store: AssetStore) -> None:
        self._catalog(store)
        found = store.query(
            {
                "asset_tags": {"$in": ["image", "text"]},
                "asset_metadata.framework": "pytorch",
                "asset_version.version": {"$gte": "0.9"},
            }
        )
        assert sorted(a.asset_uri for a in found) == ["bert:0.9-b", "resnet:1.0-a"]
        assert [a.asset_uri for a in store.query({"asset_tags": "policy"})] == ["policy:3-p"]
        assert store.query({"asset_metadata.params": {"$gt": 100}})[0].asset_name == "bert"

    def test_query_sort_skip_limit_count(self, store: AssetStore) -> None:
        self._catalog(store)
        ordered = store.query(sort=[("asset_name", 1), ("asset_version.version", -1)])
        assert [a.asset_uri for a in ordered] == [
            "bert:0.9-b",
            "policy:3-p",
            "resnet:1.5-a",
            "resnet:1.0-a",
        ]
        page = store.query(sort={"asset_name": 1, "asset_version.version": -1}, skip=1, limit=2)
        assert [a.asset_uri for a in page] == ["policy:3-p", "resnet:1.5-a"]
        assert store.count() == 4
        assert store.count({"asset_source": "upload"}) == 3
        assert store.query({"asset_name": "none"}) == []

    def test_returned_assets_belong_to_the_caller(self, store: AssetStore) -> None:
        metadata = {"author": {"name": "A"}, "langs": ["en"]}
        _upload(store, metadata=metadata, tags=["t"])
        for asset in (
            store.get("org/model:1.0-stable"),
            store.query({"asset_tags": "t"})[0],
            store.resolve("org/model"),
        ):
            asset.asset_metadata["author"]["name"] = "changed"
            asset.asset_metadata["langs"].append("fr")
            asset.asset_tags.append("changed")
            asset.asset_version["tag"] = "changed"
        again = store.query({"asset_tags": "t"})[0]
        assert again.asset_metadata == metadata
        assert again.asset_tags == ["t"]
        assert store.get("org/model:1.0-stable") == again

    @pytest.mark.parametrize(
        "bad",
        [
            {"$where": "this.a == 1"},
            {"a": {"$bogus": 1}},
            {"$or": {"a": 1}},
            {"$and": [{"a": {"$function": {}}}]},
            {"a": {"$regex": "("}},
        ],
    )
    def test_bad_queries_are_refused(self, store: AssetStore, bad: dict[str, Any]) -> None:
        with pytest.raises(InvalidQueryError) as caught:
            store.query(bad)
        assert isinstance(caught.value, ValueError)

    # ---------------------------------------------------------------- update
    def test_update_metadata_and_tags(self, store: AssetStore) -> None:
        asset = _upload(store, metadata={"a": 1}, tags=["x"])
        updated = store.update(
            asset.asset_uri,
            {"asset_metadata": {"description": "new"}, "asset_tags": ["updated", "sample"]},
        )
        assert updated.asset_metadata == {"description": "new"}
        assert updated.asset_tags == ["updated", "sample"]
        assert updated.revision == 2
        assert updated.updated_at >= asset.updated_at
        assert updated.created_at == asset.created_at
        assert store.get(asset.asset_uri) == updated
        assert store.read_bytes(asset.asset_uri) == PAYLOAD

    def test_update_with_stale_revision_is_refused(self, store: AssetStore) -> None:
        asset = _upload(store)
        store.update(asset.asset_uri, {"asset_tags": ["first"]}, expected_revision=1)
        with pytest.raises(RevisionMismatchError):
            store.update(asset.asset_uri, {"asset_tags": ["second"]}, expected_revision=1)
        assert store.get(asset.asset_uri).asset_tags == ["first"]

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("asset_name", "other"),
            ("asset_version", {"version": "9", "tag": "x"}),
            ("asset_id", "f" * 32),
            ("asset_uri", "x:1-a"),
            ("revision", 7),
            ("asset_public_url", "https://elsewhere/x"),
            ("asset_file_info", {"sha256": "0" * 64}),
        ],
    )
    def test_identity_fields_are_read_only(self, store: AssetStore, field: str, value: Any) -> None:
        asset = _upload(store)
        with pytest.raises(ReadOnlyFieldError):
            store.update(asset.asset_uri, {field: value})
        assert store.get(asset.asset_uri) == asset

    def test_update_accepts_unchanged_identity_and_noop(self, store: AssetStore) -> None:
        asset = _upload(store, tags=["a"])
        same = store.update(asset.asset_uri, asset.model_dump())
        assert same.revision == 1
        assert store.update(asset.asset_uri, {"asset_tags": ["a"]}).revision == 1

    def test_update_unknown_field_and_bad_value(self, store: AssetStore) -> None:
        asset = _upload(store)
        with pytest.raises(InvalidInputError):
            store.update(asset.asset_uri, {"colour": "red"})
        with pytest.raises(InvalidInputError):
            store.update(asset.asset_uri, {"asset_metadata": ["not", "an", "object"]})
        assert store.get(asset.asset_uri).revision == 1

    def test_update_never_creates(self, store: AssetStore) -> None:
        with pytest.raises(AssetNotFoundError):
            store.update("ghost:1-a", {"asset_tags": ["x"]})
        assert store.count() == 0

    def test_external_asset_may_move(self, store: AssetStore) -> None:
        asset = store.register(
            {
                "asset_name": "ext",
                "asset_version": {"version": "1", "tag": "a"},
                "asset_public_url": "https://a.example/x",
            }
        )
        moved = store.update(asset.asset_uri, {"asset_public_url": "https://b.example/x"})
        assert moved.asset_public_url == "https://b.example/x"

    # ---------------------------------------------------------------- delete
    def test_delete(self, store: AssetStore) -> None:
        asset = _upload(store)
        store.delete(asset.asset_uri)
        with pytest.raises(AssetNotFoundError):
            store.get(asset.asset_uri)
        with pytest.raises(AssetNotFoundError):
            store.delete(asset.asset_uri)
        assert store.fsck().orphans == []
        again = _upload(store, data=b"second life")
        assert store.read_bytes(again.asset_uri) == b"second life"

    def test_delete_with_stale_revision_is_refused(self, store: AssetStore) -> None:
        asset = _upload(store)
        store.update(asset.asset_uri, {"asset_tags": ["t"]})
        with pytest.raises(RevisionMismatchError):
            store.delete(asset.asset_uri, expected_revision=1)
        store.delete(asset.asset_uri, expected_revision=2)
        assert store.count() == 0

    # --------------------------------------------------------------- resolve
    def test_resolve_orders_versions_numerically(self, store: AssetStore) -> None:
        for version in ("1.0", "9.0", "10.0", "11.0rc1"):
            _upload(store, name="m", version=version, tag="a")
        assert store.resolve("m").version == "10.0"
        assert store.resolve("m", ">=1,<10").version == "9.0"
        assert store.resolve("m", "^9").version == "9.0"
        assert store.resolve("m", "1.0").version == "1.0"
        with pytest.raises(AssetNotFoundError):
            store.resolve("m", ">=20")
        with pytest.raises(AssetNotFoundError):
            store.resolve("absent")

    def test_resolve_by_tag(self, store: AssetStore) -> None:
        _upload(store, name="m", version="1.0", tag="prod")
        _upload(store, name="m", version="2.0", tag="dev")
        assert store.resolve("m", tag="prod").version == "1.0"
        assert store.resolve("m").asset_uri == "m:2.0-dev"

    # ------------------------------------------------------------ maintenance
    def test_fsck_and_gc_on_a_healthy_store(self, store: AssetStore) -> None:
        self._catalog(store)
        report = store.fsck()
        assert report.ok
        assert report.checked == 3
        assert report.orphans == []
        assert store.gc(older_than=0).removed == []
        assert store.count() == 4

    # ----------------------------------------------------------- concurrency
    def test_one_winner_when_threads_race_for_a_uri(self, store: AssetStore) -> None:
        barrier = threading.Barrier(16)

        def create(i: int) -> str:
            barrier.wait()
            try:
                store.upload(f"writer {i}".encode(), name="race", version="1", tag="a")
            except AlreadyExistsError:
                return "taken"
            return "won"

        with ThreadPoolExecutor(16) as pool:
            outcomes = list(pool.map(create, range(16)))
        assert outcomes.count("won") == 1
        assert outcomes.count("taken") == 15
        assert store.read_bytes("race:1-a").startswith(b"writer ")
        assert store.count() == 1

    def test_concurrent_updates_lose_nothing(self, store: AssetStore) -> None:
        asset = _upload(store, metadata={})
        barrier = threading.Barrier(8)

        def bump(i: int) -> None:
            barrier.wait()
            store.update(asset.asset_uri, {"asset_tags": [f"t{i}"]})

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(bump, range(8)))
        final = store.get(asset.asset_uri)
        assert final.revision == 1 + 8

    def test_an_index_changes_no_answer(self, store: AssetStore) -> None:
        for i in range(6):
            _upload(store, name=f"idx/m{i}", metadata={"dataset": f"d{i % 3}", "n": i % 2})
        question = {"asset_metadata.dataset": {"$in": ["d1", "d2"]}, "asset_metadata.n": 1}
        before = [a.asset_uri for a in store.query(question, sort=[("asset_name", 1)])]
        store.create_index("asset_metadata.dataset")
        store.create_index("asset_metadata.dataset")  # idempotent
        after = [a.asset_uri for a in store.query(question, sort=[("asset_name", 1)])]
        assert after == before == ["idx/m1:1.0-stable", "idx/m5:1.0-stable"]
        _upload(store, name="idx/late", metadata={"dataset": "d1", "n": 1})
        assert store.count({"asset_metadata.dataset": "d1"}) == 3
        with pytest.raises(InvalidInputError):
            store.create_index("asset_metadata..x")


__all__ = ["AssetStoreConformance"]
