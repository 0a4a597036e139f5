"""The long-running checker, at a small scale: several processes work on one store at once
while the test kills them and damages the store's metadata under them.

Writers (``crashkit.loop_main``, one owner each so their ledgers are independent) publish,
update and delete in a loop: two through the library, one through the HTTP service that
this test process serves on the same store (a long-lived server, like ``assetstore
serve``). Every writer prints what it begins and what it was told, so the test keeps an
external ledger of acknowledged operations (``crashkit.Ledger``). During each round the
test SIGKILLs writers at random and starts them again; in every other round it also
damages the live metadata once, under the writers' lock (so no append is cut in two): one
bit flipped in ``metadata.json.journal`` or in ``metadata.json``, or the journal deleted.

At the end of a round every writer is killed and a fresh store object checks that:

* every acknowledged change is there (the asset and its bytes, its last acknowledged
  update, its absence after a delete; the operation in flight at a kill entirely or not at
  all), **or** the store reports damage: reads raise ``DamageError``, ``fsck`` lists it,
  ``gc`` refuses and deletes no file of an acknowledged asset. Never silently gone;
* a writer that stopped by itself stopped on ``DamageError``, and only while damaged;
* once the damage is undone (the changed bytes put back, as a restore from a backup
  would), the store is exactly the ledger again, and sound after ``gc``.

CI runs 4 rounds of 1.5 s. Longer runs::

    ASSETSTORE_CHECKER_ROUNDS=40 ASSETSTORE_CHECKER_SECONDS=5 \\
        python -m pytest tests/reliability/test_checker.py -s
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import filelock
import psutil
import pytest
from crashkit import Ledger, flip_bit, loop_size, open_spec, payload, verify_sound

from assetstore import DamageError

sys.path.insert(0, str(Path(__file__).parents[1] / "http"))
from live_server import serve

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork and /proc"),
]

ROUNDS = int(os.environ.get("ASSETSTORE_CHECKER_ROUNDS") or 4)
SECONDS = float(os.environ.get("ASSETSTORE_CHECKER_SECONDS") or 1.5)
LIBRARY_WRITERS = 2


@dataclass
class Slot:
    """One writer's place: its owner, its spec, and the process now running there."""

    owner: str
    spec: dict
    pid: int | None = None
    outputs: list[tuple[Path, Path]] = field(default_factory=list)


@dataclass
class Damage:
    """One injected damage, and how to undo it."""

    kind: str
    path: Path
    inode: int
    bit: int = 0
    saved: bytes = b""

    def undo(self) -> bool:
        """Put the changed bytes back if the file is still the one damaged (a checkpoint
        may have replaced it since, from a writer's intact memory); whether it did."""
        if self.kind == "deleted":
            if self.path.exists():
                return False
            self.path.write_bytes(self.saved)
            return True
        if not self.path.exists() or self.path.stat().st_ino != self.inode:
            return False
        flip_bit(self.path, self.bit)
        return True


def damage_now(root: Path, rng: random.Random) -> Damage:
    """Damage the live metadata under the writers' lock (no append is cut in two)."""
    journal = root / "metadata.json.journal"
    file = root / "metadata.json"
    kinds = ["journal bit", "journal deleted"] + (["metadata.json bit"] if file.exists() else [])
    kind = rng.choice(kinds)
    with filelock.FileLock(f"{file}.lock", timeout=120):
        if kind == "journal deleted":
            damage = Damage("deleted", journal, 0, saved=journal.read_bytes())
            journal.unlink()
            return damage
        path = journal if kind == "journal bit" else file
        damage = Damage(kind, path, path.stat().st_ino, rng.randrange(path.stat().st_size * 8))
        flip_bit(path, damage.bit)
        return damage


def loop_assets(store) -> dict[str, int]:
    return {a.asset_uri: a.asset_metadata["n"] for a in store.query({"asset_metadata.loop": True})}


def files_on_disk(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in (root / "objects").rglob("*") if p.is_file()}


class Checker:
    def __init__(self, zygote, root: Path, specs: list[dict], tmp_path: Path) -> None:
        self.zygote = zygote
        self.root = root
        self.tmp_path = tmp_path
        self.rng = random.Random(int(os.environ.get("ASSETSTORE_CHECKER_SEED") or 0) or None)
        self.slots = [Slot(f"w{i}", spec) for i, spec in enumerate(specs)]
        self.ledgers = {slot.owner: Ledger() for slot in self.slots}
        self.stats: Counter = Counter()
        self.spawned = 0

    def spawn(self, slot: Slot) -> None:
        self.spawned += 1
        out = self.tmp_path / f"{slot.owner}-{self.spawned}.out"
        err = self.tmp_path / f"{slot.owner}-{self.spawned}.err"
        argv = [
            "loop",
            json.dumps(slot.spec),
            str(self.rng.randrange(1 << 30)),
            f"{slot.owner}r{self.spawned}",
            slot.owner,
        ]
        slot.pid = self.zygote.spawn(argv, out, err)
        slot.outputs.append((out, err))

    def end(self, slot: Slot, damaged: bool) -> None:
        """SIGKILL the slot's writer (if it still runs) and reap it."""
        if slot.pid is None:
            return
        with_kill = psutil.Process(slot.pid).status() != psutil.STATUS_ZOMBIE
        if with_kill:
            os.kill(slot.pid, signal.SIGKILL)
        code = self.zygote.wait(slot.pid)
        slot.pid = None
        err_path = slot.outputs[-1][1]
        # A writer killed right after its fork (the round's end) may not have made its files.
        err = err_path.read_text() if err_path.exists() else "(no stderr: killed at its start)"
        if code == -signal.SIGKILL:
            self.stats["writers killed"] += 1
        else:
            assert damaged and "DamageError" in err, f"a writer stopped by itself ({code}): {err}"
            self.stats["writers stopped by DamageError"] += 1

    def stop_all(self) -> None:
        """SIGKILL and reap every writer still running."""
        for slot in self.slots:
            if slot.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(slot.pid, signal.SIGKILL)
                self.zygote.wait(slot.pid)
                slot.pid = None

    def started(self, slot: Slot) -> bool:
        """Whether the slot's writer is past its start (said ``ready``, or already ended)."""
        out = slot.outputs[-1][0]
        if out.exists() and out.read_text().startswith("ready"):
            return True
        return slot.pid is None or psutil.Process(slot.pid).status() == psutil.STATUS_ZOMBIE

    def run_round(self, number: int) -> None:
        damage = None
        for slot in self.slots:
            self.spawn(slot)
        limit = time.monotonic() + 120
        while not all(self.started(slot) for slot in self.slots) and time.monotonic() < limit:
            time.sleep(0.01)
        damage_at = time.monotonic() + self.rng.uniform(0.2, SECONDS) if number % 2 else None
        deadline = time.monotonic() + SECONDS
        while time.monotonic() < deadline:
            time.sleep(self.rng.uniform(0.05, 0.3))
            if damage_at is not None and damage is None and time.monotonic() >= damage_at:
                damage = damage_now(self.root, self.rng)
                self.stats[f"damage: {damage.kind}"] += 1
            slot = self.rng.choice(self.slots)
            if self.started(slot):  # a kill lands in its work, not in its imports
                self.end(slot, damage is not None)
                self.spawn(slot)
        for slot in self.slots:
            self.end(slot, damage is not None)
        for slot in self.slots:
            for out, _ in slot.outputs:
                self.ledgers[slot.owner].add(out.read_text() if out.exists() else "")
            slot.outputs.clear()
        self.check(damage)

    def verify(self, store) -> None:
        """The store shows exactly what the ledgers say (settling the operations in
        flight at the kills), with the right bytes."""
        actual = loop_assets(store)
        problems = []
        for ledger in self.ledgers.values():
            known = set(ledger.model) | set(ledger.in_flight)
            problems += ledger.reconcile({uri: n for uri, n in actual.items() if uri in known})
        owned = {uri for ledger in self.ledgers.values() for uri in ledger.model}
        problems += [f"{uri} belongs to no writer" for uri in actual if uri not in owned]
        assert problems == [], problems
        for uri in self.rng.sample(sorted(actual), min(8, len(actual))):
            assert store.read_bytes(uri) == payload(uri, loop_size(uri)), uri
        self.stats["assets"] = len(actual)

    def check(self, damage: Damage | None) -> None:
        spec = {"kind": "local", "root": str(self.root)}
        with open_spec(spec) as store:
            try:
                self.verify(store)  # what it shows, damaged or not, is never silently wrong
            except DamageError:
                assert damage is not None, "damage reported where none was made"
                self.stats["rounds ending damaged (reported)"] += 1
                before = files_on_disk(self.root)
                report = store.fsck()
                assert not report.ok and report.damaged, report
                with pytest.raises(DamageError):
                    store.gc(older_than=0)
                assert files_on_disk(self.root) == before  # nothing deleted
        if damage is not None:
            undone = damage.undo()
            self.stats[f"damage undone ({'restored' if undone else 'already folded away'})"] += 1
        with open_spec(spec) as store:
            self.verify(store)
            assert store.fsck(verify_checksums=False).ok
            verify_sound(store, spec)


def test_writers_kills_and_damage(zygote, tmp_path, local_spec):
    root = Path(local_spec["root"])
    with open_spec(local_spec) as store, serve(store) as url:
        specs = [local_spec] * LIBRARY_WRITERS + [{"kind": "http", "url": url}]
        checker = Checker(zygote, root, specs, tmp_path)
        try:
            for number in range(ROUNDS):
                checker.run_round(number)
        finally:
            checker.stop_all()  # a failed round leaves no writer looping on
    acknowledged = sum(ledger.acknowledged for ledger in checker.ledgers.values())
    checker.stats["acknowledged operations"] = acknowledged
    lines = "\n".join(f"  {key}: {value}" for key, value in sorted(checker.stats.items()))
    print(f"\nchecker, {ROUNDS} rounds of {SECONDS} s:\n{lines}", file=sys.stderr)
    assert acknowledged > 0 and checker.stats["writers killed"] > 0
