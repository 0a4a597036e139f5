"""What a sync does with each source asset: compare it with the destination's asset of the
same URI and decide (copy, skip, update the metadata, or report a conflict), and group the
copies into transfers.

* **Same content**: both stored files with the same size and sha256, or both external
  with the same public URL and file info. Same content and same metadata and tags: skipped.
  Same content, other metadata or tags: skipped too (``metadata_differs``), unless
  ``on_conflict="overwrite-metadata"``, which copies the source's onto the destination.
* **Conflict**: the URI exists with other content (another file, or an external asset
  against a stored file). Its file is never replaced; ``skip`` reports it, ``fail`` stops
  before anything is copied, ``overwrite-metadata`` updates the metadata and reports it.
* **Copy**: the URI does not exist at the destination.

Copies go in batches (many small files in one request to an HTTP destination, one metadata
commit for a local one); a large file is a transfer of its own, resumable where the
destination can.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from assetstore.models import AssetObject

OnConflict = Literal["skip", "fail", "overwrite-metadata"]
ON_CONFLICT: tuple[OnConflict, ...] = ("skip", "fail", "overwrite-metadata")

#: Files from this size up are transferred one by one (resumable where the destination can).
LARGE_FILE = 16 << 20
#: Most assets, and most bytes of files, in one batch of small ones.
BATCH_ITEMS = 500
BATCH_BYTES = 64 << 20


def same_content(source: AssetObject, destination: AssetObject) -> bool:
    """Whether the two records stand for the same bytes."""
    if source.asset_source != destination.asset_source:
        return False
    if source.asset_source == "upload":
        return (source.sha256, source.file_size) == (destination.sha256, destination.file_size)
    return (source.asset_public_url, source.asset_file_info) == (
        destination.asset_public_url,
        destination.asset_file_info,
    )


def same_metadata(source: AssetObject, destination: AssetObject) -> bool:
    """Whether the two records have the same metadata and tags."""
    return (source.asset_metadata, source.asset_tags) == (
        destination.asset_metadata,
        destination.asset_tags,
    )


@dataclass
class Conflict:
    """A URI that holds other content at the destination."""

    asset_uri: str
    source_sha256: str | None
    destination_sha256: str | None
    reason: str


@dataclass
class PagePlan:
    """What to do with one page of source records."""

    copies: list[AssetObject] = field(default_factory=list)
    skipped: int = 0
    metadata_differs: list[str] = field(default_factory=list)
    metadata_updates: list[tuple[AssetObject, AssetObject]] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)


def conflict_of(source: AssetObject, destination: AssetObject) -> Conflict:
    """The conflict between two records of one URI with other content."""
    if source.asset_source != destination.asset_source:
        reason = f"a {source.asset_source} asset here, {destination.asset_source} there"
    elif source.asset_source == "upload":
        reason = "another file (sha256 or size differ)"
    else:
        reason = "another public URL or file info"
    return Conflict(source.asset_uri, source.sha256, destination.sha256, reason)


def plan_page(
    records: Iterable[AssetObject],
    existing: dict[str, AssetObject],
    on_conflict: OnConflict,
) -> PagePlan:
    """Decide for each source record, given the destination's records of the same URIs."""
    plan = PagePlan()
    for record in records:
        found = existing.get(record.asset_uri)
        if found is None:
            plan.copies.append(record)
            continue
        if not same_content(record, found):
            plan.conflicts.append(conflict_of(record, found))
            if on_conflict == "overwrite-metadata" and not same_metadata(record, found):
                plan.metadata_updates.append((record, found))
            continue
        if same_metadata(record, found):
            plan.skipped += 1
        elif on_conflict == "overwrite-metadata":
            plan.metadata_updates.append((record, found))
        else:
            plan.skipped += 1
            plan.metadata_differs.append(record.asset_uri)
    return plan


def transfers(
    records: Iterable[AssetObject],
    *,
    batch_items: int = BATCH_ITEMS,
    batch_bytes: int = BATCH_BYTES,
    large_file: int = LARGE_FILE,
) -> Iterator[list[AssetObject]]:
    """The copies grouped into transfers: large files alone, the rest in batches."""
    batch: list[AssetObject] = []
    size = 0
    for record in records:
        file_size = int(record.file_size or 0) if record.asset_source == "upload" else 0
        if file_size >= large_file:
            yield [record]
            continue
        if batch and (len(batch) >= batch_items or size + file_size > batch_bytes):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += file_size
    if batch:
        yield batch


__all__ = [
    "ON_CONFLICT",
    "Conflict",
    "OnConflict",
    "PagePlan",
    "conflict_of",
    "plan_page",
    "same_content",
    "same_metadata",
    "transfers",
]
