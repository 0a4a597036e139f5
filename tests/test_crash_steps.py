"""A writer that dies at each step of publish, update and delete leaves a store where every
asset is whole or absent, the metadata parses, and gc removes what the crash left behind."""

import json
import subprocess
import sys

import pytest

from assetstore import AssetNotFoundError, open_store

DIED = 77

CHILD = r"""
import io, os, sys
import assetstore.backends.fsspec_blobs as blobs
import assetstore.backends.tinydb_documents as tiny
from assetstore import open_store

root, step = sys.argv[1], sys.argv[2]
store = open_store(root)

def die(*args, **kwargs):
    os._exit(77)

class DiesMidStream(io.RawIOBase):
    calls = 0
    def readable(self):
        return True
    def read(self, n=-1):
        self.calls += 1
        if self.calls > 2:
            die()
        return b"x" * 65536

if step == "publish:while-streaming":
    store.upload(DiesMidStream(), name="new", version="1", tag="a")
if step == "publish:blob-written-not-linked":
    os.link = die
if step == "publish:blob-committed-no-metadata":
    tiny.TinyDBDocumentStore.insert_many = die
if step == "publish:metadata-temp-written":
    os.replace = die
if step == "publish:metadata-replaced":
    real_replace = os.replace
    def replace_then_die(*args):
        real_replace(*args)
        die()
    os.replace = replace_then_die
if step.startswith("publish:"):
    store.upload(b"new asset bytes", name="new", version="1", tag="a")
if step == "update:metadata-temp-written":
    os.replace = die
    store.update("old:1-a", {"asset_tags": ["changed"]})
if step == "delete:metadata-removed-blob-kept":
    blobs.LocalBlobStore.delete = die
    store.delete("old:1-a")
if step == "delete:metadata-temp-written":
    os.replace = die
    store.delete("old:1-a")
print("the step was never reached", file=sys.stderr)
sys.exit(1)
"""

# step -> whether "new:1-a" exists afterwards, whether "old:1-a" exists, old's tags
EXPECTED = {
    "publish:while-streaming": (False, True, ["t"]),
    "publish:blob-written-not-linked": (False, True, ["t"]),
    "publish:blob-committed-no-metadata": (False, True, ["t"]),
    "publish:metadata-temp-written": (False, True, ["t"]),
    "publish:metadata-replaced": (True, True, ["t"]),
    "update:metadata-temp-written": (False, True, ["t"]),
    "delete:metadata-removed-blob-kept": (False, False, None),
    "delete:metadata-temp-written": (False, True, ["t"]),
}


@pytest.mark.parametrize("step", sorted(EXPECTED))
def test_crash_at_step(tmp_path, step):
    root = tmp_path / "assets"
    with open_store(root) as store:
        store.upload(b"old asset bytes", name="old", version="1", tag="a", tags=["t"])
        store.upload(b"bystander", name="other", version="1", tag="a")
    before = (root / "metadata.json").read_bytes()

    done = subprocess.run([sys.executable, "-c", CHILD, str(root), step],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == DIED, done.stderr

    new_exists, old_exists, old_tags = EXPECTED[step]
    json.loads((root / "metadata.json").read_text())
    if not new_exists and old_tags == ["t"]:
        assert (root / "metadata.json").read_bytes() == before
    with open_store(root) as store:
        for asset in store.query():
            assert len(store.read_bytes(asset.asset_uri)) == asset.file_size
        assert store.read_bytes("other:1-a") == b"bystander"
        if new_exists:
            assert store.read_bytes("new:1-a") == b"new asset bytes"
        else:
            with pytest.raises(AssetNotFoundError):
                store.get("new:1-a")
        if old_exists:
            assert store.read_bytes("old:1-a") == b"old asset bytes"
            assert store.get("old:1-a").asset_tags == old_tags
        else:
            with pytest.raises(AssetNotFoundError):
                store.get("old:1-a")

        store.gc(older_than=0)
        report = store.fsck()
        assert report.ok and report.orphans == []
    assert list((root / ".tmp").iterdir()) == []
    assert list(root.glob(".metadata.json.*.tmp")) == []
