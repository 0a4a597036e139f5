"""A stored file damaged behind the store's back (truncated, one bit flipped, a byte
appended, deleted) is never handed over as if it were whole.

* ``read_bytes`` and ``download`` raise ``IntegrityError`` and hand over nothing
  (``download``'s destination never appears, no partial file is left beside it);
* ``open`` raises at once when the size is wrong (truncated, appended, missing); with the
  size right and a bit flipped it cannot know before reading everything: the stream yields
  the bytes and raises ``IntegrityError`` when it reaches the end, before reporting EOF;
* a ranged ``open(uri, start=, end=)`` is not verified (no per-range checksum exists);
* ``fsck`` reports the asset as corrupt or missing; ``fsck(verify_checksums=False)`` sees
  only size changes.

On S3 + TinyDB every damage; on the local store the cases ``tests/test_local_store.py``
does not already cover.
"""

from __future__ import annotations

import pytest
from crashkit import open_spec, payload

from assetstore import IntegrityError
from assetstore._store import blob_key

SIZE = 300 << 10  # several 64 KiB read blocks on S3
DATA = payload("precious", SIZE)
KINDS = ["truncated", "bit-flipped", "appended", "missing"]


def damage(store, asset, kind):
    """Change the stored file through the blob store, as a disk or an operator might."""
    key = blob_key(asset.asset_id)
    if kind == "missing":
        store._blobs.delete(key)
        return
    data = bytearray(DATA)
    if kind == "truncated":
        del data[-1]
    elif kind == "bit-flipped":
        data[SIZE // 2] ^= 0x10
    else:
        data += b"\0"
    store._blobs.write(key, [bytes(data)], overwrite=True)


def check_damage_is_caught(store, kind, tmp_path):
    uri = "precious:1-a"
    with pytest.raises(IntegrityError):
        store.read_bytes(uri)

    out = tmp_path / "downloads"
    out.mkdir()
    with pytest.raises(IntegrityError):
        store.download(uri, out / "model.bin")
    with pytest.raises(IntegrityError):
        store.download(uri, out)  # into a directory, under the original name
    assert list(out.iterdir()) == []

    if kind == "bit-flipped":
        with store.open(uri) as reader:
            received = sum(len(reader.read(64 << 10)) for _ in range(SIZE // (64 << 10) + 1))
            assert received == SIZE  # every byte came...
            with pytest.raises(IntegrityError):
                reader.read(64 << 10)  # ...then the error, instead of EOF
        with store.open(uri) as reader, pytest.raises(IntegrityError):
            reader.read()  # a whole read returns nothing
        with store.open(uri, start=SIZE // 2, end=SIZE // 2 + 1) as reader:
            assert reader.read() != DATA[SIZE // 2 : SIZE // 2 + 1]  # ranges: not verified
    else:
        with pytest.raises(IntegrityError):
            store.open(uri)

    report = store.fsck()
    assert not report.ok
    if kind == "missing":
        assert report.missing == [uri] and report.corrupt == []
    else:
        assert report.corrupt == [uri] and report.missing == []
    assert store.fsck(verify_checksums=False).ok == (kind == "bit-flipped")
    assert store.read_bytes("bystander:1-a") == b"unharmed"


@pytest.fixture
def s3_store(s3_tinydb_spec):
    with open_spec(s3_tinydb_spec) as store:
        yield store


@pytest.mark.parametrize("kind", KINDS)
def test_damaged_s3_object(s3_store, tmp_path, kind):
    asset = s3_store.upload(DATA, name="precious", version="1", tag="a", filename="model.bin")
    s3_store.upload(b"unharmed", name="bystander", version="1", tag="a")
    damage(s3_store, asset, kind)
    check_damage_is_caught(s3_store, kind, tmp_path)


@pytest.mark.parametrize("kind", ["truncated", "bit-flipped", "appended"])
def test_damaged_local_file(local_spec, tmp_path, kind):
    with open_spec(local_spec) as store:
        asset = store.upload(DATA, name="precious", version="1", tag="a", filename="model.bin")
        store.upload(b"unharmed", name="bystander", version="1", tag="a")
        damage(store, asset, kind)
        check_damage_is_caught(store, kind, tmp_path)
