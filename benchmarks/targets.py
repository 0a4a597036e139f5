"""The performance targets (issue item 3) against a run's medians: met or not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .records import Results

#: The store size of the latency targets, and the bulk-import target's size.
TARGET_SIZE = 10_000
BULK_TARGET_SIZE = 100_000
#: The bulk-import target, in seconds.
BULK_LIMIT_S = 60
#: (label, metadata operation, threshold in ms) of the latency targets on the local store.
OP_TARGETS = [
    ("get by URI", "get", 1.0),
    ("upload of a 1 KiB file, durable metadata write included", "upload", 15.0),
    ("query by tag (1/30 of assets)", "query_tag", 20.0),
    ("query by metadata field (50 hits)", "query_field_small", 20.0),
    ("query by metadata field (1/3 of assets returned)", "query_field_large", 20.0),
    ("resolve latest (a query by name underneath)", "resolve", 20.0),
]


@dataclass
class Target:
    """One target: what, the goal, and the measured median (None: not measured, see note)."""

    target: str
    threshold: str
    op: str
    measured: float | None = None
    met: bool | None = None
    note: str | None = None
    #: ``ms`` for latencies (with p90 and n), ``s`` for bulk imports (with peak RSS).
    unit: str | None = None
    p90: float | None = None
    n: int | None = None
    peak_mb: float | None = None


def targets(results: Results) -> list[Target]:
    """Every target against ``results``."""
    rows: list[Target] = []
    metadata = results.metadata_ops
    cell = metadata.cell("local", TARGET_SIZE) if metadata else None
    for label, op, limit in OP_TARGETS:
        row = Target(f"{label} at {TARGET_SIZE:,} assets", f"< {limit:g} ms", op)
        if cell is None:
            row.note = f"{TARGET_SIZE:,} assets not run"
        else:
            stats = cell.ops[op]
            row.measured, row.p90, row.n = stats.median_ms, stats.p90_ms, stats.n
            row.met, row.unit = stats.median_ms < limit, "ms"
        rows.append(row)
    bulk = results.bulk_import
    for method in ("upload_many", "register_many"):
        row = Target(
            f"bulk import, `{method}` of {BULK_TARGET_SIZE:,} small assets",
            f"< {BULK_LIMIT_S} s",
            method,
        )
        found = bulk.row("local", method, BULK_TARGET_SIZE) if bulk else None
        if found is None or found.seconds is None:
            row.note = f"{BULK_TARGET_SIZE:,} assets not run" if found is None else "failed"
        else:
            row.measured, row.met, row.unit = found.seconds, found.seconds < BULK_LIMIT_S, "s"
            row.peak_mb = found.peak_mb
        rows.append(row)
    return rows
