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

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

OnConflict = Literal["skip", "fail", "overwrite-metadata"]
ON_CONFLICT: tuple[OnConflict, ...] = ("skip", "fail", "overwrite-metadata")

#: Files from this size up are transferred one by one (resumable where the destination can).
LARGE_FILE = 16 << 20
#: Most assets, and most bytes of files, in one batch of small ones.
BATCH_ITEMS = 500
BATCH_BYTES = 64 << 20


#: A record as JSON (what ``AssetStore.iter_documents`` yields): plans compare documents,
#: so that a run with nothing new never builds a model of each record.
Doc = Mapping[str, Any]


_NO_FILE: Mapping[str, Any] = {}


def _file(doc: Doc) -> Mapping[str, Any]:
    info = doc.get("asset_file_info")
    return info if isinstance(info, dict) else _NO_FILE  # (dict: a cheap check, 20,000 times)


def file_size(doc: Doc) -> int:
    """The stored file's size (0 for an external asset)."""
    size = _file(doc).get("file_size") if doc.get("asset_source") == "upload" else 0
    return size if isinstance(size, int) and not isinstance(size, bool) else 0


def same_content(source: Doc, destination: Doc) -> bool:
    """Whether the two records stand for the same bytes."""
    if source.get("asset_source") != destination.get("asset_source"):
        return False
    if source.get("asset_source") == "upload":
        mine, theirs = _file(source), _file(destination)
        return (mine.get("sha256"), mine.get("file_size")) == (
            theirs.get("sha256"),
            theirs.get("file_size"),
        )
    return (source.get("asset_public_url"), _file(source)) == (
        destination.get("asset_public_url"),
        _file(destination),
    )


def same_metadata(source: Doc, destination: Doc) -> bool:
    """Whether the two records have the same metadata and tags."""
    return (source.get("asset_metadata"), source.get("asset_tags")) == (
        destination.get("asset_metadata"),
        destination.get("asset_tags"),
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

    copies: list[Doc] = field(default_factory=list)
    skipped: int = 0
    metadata_differs: list[str] = field(default_factory=list)
    metadata_updates: list[tuple[Doc, Doc]] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)


def conflict_of(source: Doc, destination: Doc) -> Conflict:
    """The conflict between two records of one URI with other content."""
    kind, other = source.get("asset_source"), destination.get("asset_source")
    if kind != other:
        reason = f"a {kind} asset here, {other} there"
    elif kind == "upload":
        reason = "another file (sha256 or size differ)"
    else:
        reason = "another public URL or file info"
    return Conflict(
        str(source.get("asset_uri")),
        _file(source).get("sha256"),
        _file(destination).get("sha256"),
        reason,
    )


def plan_page(
    records: Iterable[Doc],
    existing: Mapping[str, Doc],
    on_conflict: OnConflict,
) -> PagePlan:
    """Decide for each source record, given the destination's records of the same URIs."""
    plan = PagePlan()
    for record in records:
        uri = record.get("asset_uri")
        found = existing.get(uri) if isinstance(uri, str) else None
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
            plan.metadata_differs.append(str(uri))
    return plan


def transfers(
    records: Iterable[Doc],
    *,
    batch_items: int = BATCH_ITEMS,
    batch_bytes: int = BATCH_BYTES,
    large_file: int = LARGE_FILE,
) -> Iterator[list[Doc]]:
    """The copies grouped into transfers: large files alone, the rest in batches."""
    batch: list[Doc] = []
    size = 0
    for record in records:
        record_size = file_size(record)
        if record_size >= large_file:
            yield [record]
            continue
        if batch and (len(batch) >= batch_items or size + record_size > batch_bytes):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += record_size
    if batch:
        yield batch


__all__ = [
    "ON_CONFLICT",
    "Conflict",
    "Doc",
    "file_size",
    "OnConflict",
    "PagePlan",
    "conflict_of",
    "plan_page",
    "same_content",
    "same_metadata",
    "transfers",
]
