"""Offline bundles: an export and an import keep every asset's identity; the archive is one
self-describing tar; every kind of damage is reported with its member, what the manifest
expected and what the bundle holds, and nothing becomes visible; a re-import copies
nothing; conflicts are handled as by sync."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import orjson
import pytest

from assetstore import AlreadyExistsError, DamagedBundleError, open_store
from assetstore._bundle import MANIFEST, export_bundle, import_bundle

MiB = 1 << 20


@pytest.fixture
def source(tmp_path):
    with open_store(tmp_path / "source") as store:
        for i in range(4):
            store.upload(
                os.urandom(2000 + i),
                name=f"org/m{i}",
                version="1.0",
                tag="stable",
                metadata={"i": i},
                tags=["image"],
            )
        store.upload(os.urandom(3 * MiB), name="org/big", version="2", tag="x")
        store.register(
            {
                "asset_name": "org/policy",
                "asset_version": {"version": "1", "tag": "prod"},
                "asset_public_url": "https://example.com/p.rego",
            }
        )
        yield store


def members(path: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(path) as tar:
        return tar.getmembers()


def rewrite(bundle: Path, damaged: Path, change) -> None:
    """Copy ``bundle`` to ``damaged`` with ``change(name, data)`` applied to each member
    (it returns the new data, or None to leave the member out)."""
    with tarfile.open(bundle) as tar, tarfile.open(damaged, "w", format=tarfile.PAX_FORMAT) as out:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()
            new = change(member.name, data)
            if new is None:
                continue
            member.size = len(new)
            out.addfile(member, io.BytesIO(new))


def test_export_then_import_keeps_every_asset(source, tmp_path):
    bundle = tmp_path / "assets.tar"
    header = export_bundle(source, bundle)
    assert (header["assets"], header["files"]) == (6, 5)
    names = [m.name for m in members(bundle)]
    assert names[0] == MANIFEST
    assert sorted(names[1:]) == sorted(f"files/{a.asset_id}" for a in source.query() if a.sha256)

    with open_store(tmp_path / "target") as target:
        report = import_bundle(target, bundle)
        assert (report.copied, report.skipped, report.failed) == (6, 0, 0)
        for original in source.query():
            copy = target.get(original.asset_uri)
            assert copy.asset_id == original.asset_id
            assert copy.created_at == original.created_at
            assert copy.asset_file_info == original.asset_file_info
            assert copy.assets_db_id == target.assets_db_id
            assert copy.asset_origin["assets_db_id"] == source.assets_db_id
            assert copy.asset_origin["copied_from"]["via"] == "bundle"
            if original.sha256:
                assert target.read_bytes(copy.asset_uri) == source.read_bytes(copy.asset_uri)
        again = import_bundle(target, bundle)
        assert (again.copied, again.skipped, again.bytes) == (0, 6, 0)


def test_the_filter_and_gzip(source, tmp_path):
    bundle = tmp_path / "images.tar.gz"
    export_bundle(source, bundle, {"asset_tags": "image"})
    with open(bundle, "rb") as file:
        assert file.read(2) == b"\x1f\x8b"
    with open_store(f"memory://bundle-{os.getpid()}") as target:
        assert import_bundle(target, bundle).copied == 4


def test_the_command_line_streams_through_a_pipe(source, tmp_path):
    """export - | import -: the bundle never touches the disk."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSETSTORE_")}
    command = [sys.executable, "-m", "assetstore.cli"]
    exporter = subprocess.Popen(
        [*command, "--store", str(tmp_path / "source"), "export", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    importer = subprocess.run(
        [*command, "--store", str(tmp_path / "target"), "import", "-"],
        stdin=exporter.stdout,
        capture_output=True,
        env=env,
    )
    exporter.stdout.close()
    _, export_summary = exporter.communicate()
    assert exporter.returncode == 0, export_summary
    assert importer.returncode == 0, importer.stderr
    assert orjson.loads(importer.stdout)["copied"] == 6
    assert orjson.loads(export_summary)["assets"] == 6


def damage_cases():
    def flip(name, data):
        if name.startswith("files/") and len(data) > MiB:
            return data[:1000] + bytes([data[1000] ^ 1]) + data[1001:]
        return data

    def drop_big(name, data):
        return None if name.startswith("files/") and len(data) > MiB else data

    def shorten(name, data):
        return data[:-1] if name.startswith("files/") and len(data) > MiB else data

    def bad_line(name, data):
        if name != MANIFEST:
            return data
        lines = data.split(b"\n")
        lines[2] = b"{not json"
        return b"\n".join(lines)

    def fewer_records(name, data):
        if name != MANIFEST:
            return data
        lines = data.strip().split(b"\n")
        return b"\n".join(lines[:-1]) + b"\n"

    return [
        ("altered", flip, "sha256"),
        ("missing", drop_big, "missing"),
        ("shortened", shorten, "bytes"),
        ("manifest line", bad_line, "line 3"),
        ("manifest count", fewer_records, "lists"),
    ]


@pytest.mark.parametrize(("case", "change", "words"), damage_cases(), ids=lambda c: str(c))
def test_a_damaged_bundle_is_named_and_nothing_is_imported(source, tmp_path, case, change, words):
    bundle = tmp_path / "assets.tar"
    export_bundle(source, bundle)
    damaged = tmp_path / "damaged.tar"
    rewrite(bundle, damaged, change)
    big = source.get("org/big:2-x")
    with open_store(tmp_path / "target") as target:
        with pytest.raises(DamagedBundleError, match=words) as caught:
            import_bundle(target, damaged)
        assert target.count() == 0
        assert target.fsck().ok
    error = caught.value
    if case in ("altered", "missing", "shortened"):
        assert error.member == f"files/{big.asset_id}"
        assert big.asset_uri in str(error)
    if case == "altered":
        assert error.expected == big.sha256
        assert error.actual not in (None, big.sha256)
    if case == "shortened":
        assert (error.expected, error.actual) == (
            f"{big.file_size} bytes",
            f"{big.file_size - 1} bytes",
        )
    if case.startswith("manifest"):
        assert error.member == MANIFEST


def test_a_truncated_bundle_names_the_member_it_ends_in(source, tmp_path):
    bundle = tmp_path / "assets.tar"
    export_bundle(source, bundle)
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(bundle.read_bytes()[: bundle.stat().st_size // 2])
    with open_store(tmp_path / "target") as target:
        with pytest.raises(DamagedBundleError, match=r"truncated|missing|damaged") as caught:
            import_bundle(target, truncated)
        assert target.count() == 0
    assert caught.value.member.startswith("files/")


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"this is not a tar file at all" * 100, "not a tar archive|not an assetstore bundle"),
        (None, "not an assetstore bundle"),
    ],
)
def test_what_is_not_a_bundle_is_refused(tmp_path, payload, words):
    path = tmp_path / "other.tar"
    if payload is None:
        with tarfile.open(path, "w") as tar:
            info = tarfile.TarInfo("README")
            info.size = 2
            tar.addfile(info, io.BytesIO(b"hi"))
    else:
        path.write_bytes(payload)
    with open_store(tmp_path / "target") as target, pytest.raises(DamagedBundleError, match=words):
        import_bundle(target, path)


def test_an_extra_member_is_reported(source, tmp_path):
    bundle = tmp_path / "assets.tar"
    export_bundle(source, bundle)
    with tarfile.open(bundle, "a") as tar:
        info = tarfile.TarInfo("files/intruder")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    with open_store(tmp_path / "target") as target:
        with pytest.raises(DamagedBundleError, match="unexpected member") as caught:
            import_bundle(target, bundle)
        assert target.count() == 0
    assert caught.value.member == "files/intruder"


def test_per_asset_publishes_what_precedes_the_damage(source, tmp_path, monkeypatch):
    import assetstore._bundle as bundles

    monkeypatch.setattr(bundles, "PAGE", 2)
    bundle = tmp_path / "assets.tar"
    export_bundle(source, bundle)
    last = sorted((a for a in source.query() if a.sha256), key=lambda a: a.asset_uri)[-1]
    damaged = tmp_path / "damaged.tar"
    rewrite(
        bundle,
        damaged,
        lambda name, data: b"x" + data[1:] if name == f"files/{last.asset_id}" else data,
    )
    with open_store(tmp_path / "target") as target:
        with pytest.raises(DamagedBundleError):
            import_bundle(target, damaged, per_asset=True)
        assert 0 < target.count() < 6
        assert target.fsck().ok
        assert last.asset_uri not in {a.asset_uri for a in target.query()}


def test_conflicts_are_handled_as_by_sync(source, tmp_path):
    bundle = tmp_path / "assets.tar"
    export_bundle(source, bundle)
    with open_store(tmp_path / "target") as target:
        target.upload(b"mine", name="org/m0", version="1.0", tag="stable")
        with pytest.raises(AlreadyExistsError, match=r"org/m0:1\.0-stable"):
            import_bundle(target, bundle, on_conflict="fail")
        assert target.count() == 1
        report = import_bundle(target, bundle)
        assert (report.copied, report.conflicts) == (5, 1)
        assert target.read_bytes("org/m0:1.0-stable") == b"mine"


def test_a_dry_run_checks_every_member_and_publishes_nothing(source, tmp_path):
    bundle = tmp_path / "assets.tar"
    export_bundle(source, bundle)
    damaged = tmp_path / "damaged.tar"
    rewrite(
        bundle, damaged, lambda name, data: data[:-1] + b"!" if name.startswith("files/") else data
    )
    with open_store(tmp_path / "target") as target:
        assert import_bundle(target, bundle, dry_run=True).copied == 6
        with pytest.raises(DamagedBundleError):
            import_bundle(target, damaged, dry_run=True)
        assert target.count() == 0


def test_the_cli_exits_2_on_a_damaged_bundle_and_says_which_member(source, tmp_path, capsys):
    from assetstore.cli import main

    bundle = tmp_path / "assets.tar"
    export_bundle(source, bundle)
    damaged = tmp_path / "damaged.tar"
    rewrite(
        bundle, damaged, lambda name, data: data[:-1] + b"!" if name.startswith("files/") else data
    )
    assert main(["--store", str(tmp_path / "target"), "import", str(damaged)]) == 2
    error = capsys.readouterr().err
    assert "files/" in error and "sha256" in error and "Traceback" not in error
