"""Several processes publishing into one local store lose nothing."""

import subprocess
import sys

from assetstore import open_store

WRITER = r"""
import sys
from assetstore import open_store
root, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = open_store(root)
for i in range(count):
    store.upload(f"{worker}-{i}".encode(), name=f"w{worker}/asset{i}", version="1", tag="a",
                 metadata={"worker": worker, "i": i})
"""


def test_four_processes_publish_a_thousand_assets(tmp_path):
    root = tmp_path / "assets"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), str(w), "250"],
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(4)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err
    with open_store(root) as store:
        assert store.count() == 1000
        for asset in store.query():
            meta = asset.asset_metadata
            assert store.read_bytes(asset.asset_uri) == f"{meta['worker']}-{meta['i']}".encode()
        assert store.count({"asset_metadata.worker": 3}) == 250
        assert store.fsck().ok and store.fsck().orphans == []
