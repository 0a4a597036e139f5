"""A walk through the whole API on a temporary local store: python examples/quickstart.py"""

import hashlib
import tempfile
from pathlib import Path

import assetstore


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        work = Path(workdir)
        model = work / "resnet.pt"
        model.write_bytes(b"pretend these are weights" * 1000)

        with assetstore.open_store(work / "assets") as store:
            # Upload three versions; the file is streamed and its sha256 recorded.
            for version in ("1.0", "1.10", "2.0rc1"):
                asset = store.upload(
                    model,
                    name="org/resnet",
                    version=version,
                    tag="stable",
                    metadata={"framework": "pytorch", "params": 25_000_000},
                    tags=["image", "classification"],
                )
                print("uploaded", asset.asset_uri, asset.asset_file_info["sha256"][:12])

            # An external asset: the file lives elsewhere, the store keeps its metadata.
            store.register(
                {
                    "asset_name": "org/policy",
                    "asset_version": {"version": "3", "tag": "prod"},
                    "asset_public_url": "https://example.com/policy.rego",
                    "asset_tags": ["policy"],
                }
            )

            # MongoDB-style queries, sorted and paged.
            found = store.query(
                {
                    "asset_tags": {"$in": ["image"]},
                    "asset_metadata.framework": "pytorch",
                    "asset_version.version": {"$gte": "1.0"},
                },
                sort=[("asset_version.version", -1)],
                limit=10,
            )
            print("query:", [a.asset_uri for a in found])

            # Version resolution knows 1.10 > 1.9 and skips pre-releases for "latest".
            print("latest:", store.resolve("org/resnet").asset_uri)
            print("^1.0:  ", store.resolve("org/resnet", "^1.0").asset_uri)

            # Stream it back; the sha256 is verified before the file appears.
            path = store.download("org/resnet:1.10-stable", work / "downloaded.pt")
            assert hashlib.sha256(path.read_bytes()).hexdigest() == asset.sha256
            with store.open("org/resnet:1.10-stable", start=0, end=10) as reader:
                print("first bytes:", reader.read())

            # Update with compare-and-swap on the revision.
            current = store.get("org/resnet:1.10-stable")
            updated = store.update(
                current.asset_uri,
                {"asset_metadata": {**current.asset_metadata, "accuracy": 0.76}},
                expected_revision=current.revision,
            )
            print("revision", current.revision, "->", updated.revision)
            try:
                store.update(
                    current.asset_uri, {"asset_tags": []}, expected_revision=current.revision
                )
            except assetstore.RevisionMismatchError as error:
                print("stale update refused:", error)

            # Errors are clear and change nothing.
            try:
                store.upload(model, name="org/resnet", version="1.0", tag="stable")
            except assetstore.AlreadyExistsError as error:
                print("refused:", error)

            store.delete("org/resnet:2.0rc1-stable")
            print("fsck ok:", store.fsck().ok, "| assets:", store.count())

        # The registry of asset stores.
        with assetstore.open_registry(work / "assets") as registry:
            entry = registry.register(
                {
                    "asset_registry_name": "ResNet Models registry",
                    "asset_registry_tags": ["deep-learning", "pytorch"],
                    "asset_registry_metadata": {"framework": "PyTorch"},
                    "asset_registry_public_url": "https://example.com/models",
                }
            )
            hits = registry.query({"asset_registry_tags": {"$in": ["deep-learning"]}})
            print("registry:", entry.asset_registry_id, [e.asset_registry_name for e in hits])


if __name__ == "__main__":
    main()
