"""How the local store takes single-bit flips of its metadata files (the closing measure
of issue 11).

One template store is built once, with a ledger of every change it acknowledged: uploads,
registrations, updates and deletes, some folded into ``metadata.json`` by a checkpoint,
the later ones still in ``metadata.json.journal``. Then, for each flip, a fresh copy of
the template gets one random bit flipped in one of the two files, and is used as a user
would: read everything (query, get, read_bytes), upload once more, ``gc(older_than=0)``,
``fsck``, read everything again. Each flip is then

* **detected**: a call raised ``DamageError`` (or ``IntegrityError``) or ``fsck`` reported
  damage, before any read returned a state the ledger contradicts;
* **harmless**: every call succeeded and every acknowledged change read back exactly;
* **silent**: a read returned a state the ledger contradicts (an acknowledged change lost
  or altered, a deleted asset back) with no error before it;
* **crashed**: a call raised anything else (a traceback, where one line was due).

Separately it counts the flips after which a file that an acknowledged asset refers to is
gone from disk. Targets: 0 silent, 0 crashed, 0 referenced files deleted.

Run from ``tests/reliability`` (or as ``python tests/reliability/bitflips.py``)::

    python -m bitflips                          # 100 flips of each file
    python -m bitflips --flips 20 --seed 7      # fewer; another sequence
    python -m bitflips --json                   # the counts as JSON
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crashkit import flip_bit, payload

from assetstore import DamageError, IntegrityError, open_store
from assetstore._store import blob_key
from assetstore.backends.tinydb_documents import TinyDBDocumentStore

FILES = ("metadata.json.journal", "metadata.json")
OUTCOMES = ("detected", "harmless", "silent", "crashed")


@dataclass
class Ledger:
    """What the store acknowledged: each live asset as it must read back, and the
    deleted URIs that must stay deleted."""

    assets: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    files: dict[str, bytes] = field(default_factory=dict)  # blob key -> content

    def record(self, asset: Any, data: bytes | None = None) -> None:
        self.assets[asset.asset_uri] = {
            "revision": asset.revision,
            "asset_tags": asset.asset_tags,
            "asset_metadata": asset.asset_metadata,
            "sha256": asset.sha256,
            "asset_id": asset.asset_id,
        }
        self.deleted.discard(asset.asset_uri)
        if data is not None:
            self.files[blob_key(asset.asset_id)] = data

    def forget(self, uri: str) -> None:
        expected = self.assets.pop(uri)
        self.deleted.add(uri)
        self.files.pop(blob_key(expected["asset_id"]), None)

    def contradictions(self, store: Any, probe: str | None = None) -> list[str]:
        """How what ``store`` reads differs from the ledger (empty: it does not)."""
        seen = {asset.asset_uri: asset for asset in store.query()}
        seen.pop(probe or "", None)
        found = [f"lost {uri}" for uri in self.assets if uri not in seen]
        found += [f"back from the dead {uri}" for uri in self.deleted if uri in seen]
        found += [
            f"unknown {uri}" for uri in seen if uri not in self.assets | dict.fromkeys(self.deleted)
        ]
        for uri, expected in self.assets.items():
            asset = seen.get(uri)
            if asset is None:
                continue
            actual = {
                name: getattr(asset, name)
                for name in ("revision", "asset_tags", "asset_metadata", "sha256", "asset_id")
            }
            if actual != expected:
                found.append(f"changed {uri}")
            elif expected["sha256"] and store.read_bytes(uri) is None:
                found.append(f"unreadable {uri}")
        return found


@contextmanager
def no_checkpoints() -> Iterator[None]:
    """Changes stay in the journal, as when a process dies before it folds them."""
    real = TinyDBDocumentStore.checkpoint
    TinyDBDocumentStore.checkpoint = lambda self: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        TinyDBDocumentStore.checkpoint = real  # type: ignore[method-assign]


def build_template(root: Path) -> Ledger:
    """A store with its changes in both files, and the ledger of what it acknowledged."""
    ledger = Ledger()
    rng = random.Random(0)

    def work(store: Any, prefix: str, uploads: int) -> None:
        for i in range(uploads):
            name = f"{prefix}/model-{i}"
            data = payload(name, 200 + rng.randrange(2000))
            asset = store.upload(
                data,
                name=name,
                version=f"1.{i}",
                tag="stable",
                metadata={"framework": "torch", "i": i, "prefix": prefix},
                tags=["image", prefix],
            )
            ledger.record(asset, data)
        for i in range(2):
            ledger.record(
                store.register(
                    {
                        "asset_name": f"{prefix}/external-{i}",
                        "asset_version": {"version": "1", "tag": "a"},
                        "asset_public_url": f"https://example.com/{prefix}/{i}",
                    }
                )
            )
        live = sorted(uri for uri, exp in ledger.assets.items() if exp["sha256"])
        for uri in rng.sample(live, 3):
            ledger.record(store.update(uri, {"asset_tags": ["changed", prefix]}))
        for uri in rng.sample(live, 2):
            store.delete(uri)
            ledger.forget(uri)

    with open_store(root) as store:
        work(store, "early", 12)  # folded into metadata.json when the store closes
    with no_checkpoints(), open_store(root) as store:
        work(store, "late", 8)  # left in the journal
    return ledger


def referenced_files_deleted(root: Path, ledger: Ledger) -> bool:
    return any(
        not (root / key).is_file() or (root / key).read_bytes() != data
        for key, data in ledger.files.items()
    )


def trial(
    template: Path, ledger: Ledger, name: str, bit: int, scratch: Path
) -> tuple[str, bool, str]:
    """Flip ``bit`` of file ``name`` in a copy of the template and use the store as a user
    would, every step even after one failed: the outcome (decided by the first thing a
    user is shown: a contradiction, an error, or nothing), whether a referenced file was
    deleted, and what was seen first."""
    root = scratch / "store"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(template, root)
    flip_bit(root / name, bit)
    first: list[tuple[str, str]] = []
    probe = "probe/after-flip:1-a"

    def step(action: Any) -> None:
        try:
            found = action()
        except (DamageError, IntegrityError) as exc:
            first.append(("detected", str(exc)))
        except Exception as exc:  # a traceback where one line was due: counted, not hidden
            first.append(("crashed", f"{type(exc).__name__}: {exc}"))
        else:
            if found:
                first.append(found)

    def fsck_of(store: Any) -> tuple[str, str] | None:
        report = store.fsck()
        return None if report.ok else ("detected", (report.damaged or ["fsck: not ok"])[0])

    def silent(found: list[str]) -> tuple[str, str] | None:
        return ("silent", "; ".join(found[:3])) if found else None

    try:
        with open_store(root) as store:
            step(lambda: silent(ledger.contradictions(store)))
            step(
                lambda: (
                    store.upload(b"probe", name="probe/after-flip", version="1", tag="a") and None
                )
            )
            step(lambda: store.gc(older_than=0) and None)
            step(lambda: fsck_of(store))
            step(lambda: silent(ledger.contradictions(store, probe)))
    except (DamageError, IntegrityError) as exc:  # from open_store itself
        first.append(("detected", str(exc)))
    outcome, seen = first[0] if first else ("harmless", "")
    return outcome, referenced_files_deleted(root, ledger), seen


def measure(flips: int, seed: int, verbose: bool = False) -> dict[str, dict[str, int]]:
    """For ``flips`` random bits of each file: the count of each outcome, and of flips
    after which a referenced file was deleted."""
    rng = random.Random(seed)
    results: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory(prefix="bitflips-") as tmp:
        template = Path(tmp) / "template"
        ledger = build_template(template)
        for name in FILES:
            counts: Counter[str] = Counter({outcome: 0 for outcome in OUTCOMES})
            deleted = 0
            size = (template / name).stat().st_size
            for _ in range(flips):
                bit = rng.randrange(size * 8)
                outcome, lost_file, seen = trial(template, ledger, name, bit, Path(tmp))
                counts[outcome] += 1
                deleted += lost_file
                if verbose or outcome in ("silent", "crashed") or lost_file:
                    print(f"{name} bit {bit}: {outcome}: {seen[:160]}", file=sys.stderr)
            results[name] = {"flips": flips, **counts, "referenced files deleted": deleted}
    return results


def render(results: dict[str, dict[str, int]]) -> str:
    columns = ["flips", *OUTCOMES, "referenced files deleted"]
    lines = [
        "| file | " + " | ".join(columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for name, row in results.items():
        lines.append(f"| `{name}` | " + " | ".join(str(row[c]) for c in columns) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flips", type=int, default=100, help="flips of each file (100)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every flip")
    args = parser.parse_args(argv)
    results = measure(args.flips, args.seed, args.verbose)
    print(json.dumps(results, indent=2) if args.json else render(results))
    bad = sum(
        row["silent"] + row["crashed"] + row["referenced files deleted"] for row in results.values()
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
