"""The report of a sync or a bundle import: counts for a JSON summary, and which assets they
are about."""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, Field

from assetstore._sync_run import Tally
from assetstore.contract import AssetStore
from assetstore.schemes import scheme_of


class SyncConflict(BaseModel):
    """A URI that holds other content at the destination; its file was not replaced."""

    asset_uri: str
    reason: str
    source_sha256: str | None = None
    destination_sha256: str | None = None


class SyncFailure(BaseModel):
    """An asset that could not be copied (or deleted), and why."""

    asset_uri: str
    error_type: str
    error: str


class SyncDetails(BaseModel):
    """Which assets the counts of a :class:`SyncReport` are about."""

    conflicts: list[SyncConflict] = Field(default_factory=list)
    failed: list[SyncFailure] = Field(default_factory=list)
    deleted: list[str] = Field(default_factory=list)
    metadata_differs: list[str] = Field(default_factory=list)


class SyncReport(BaseModel):
    """What a sync did (with ``dry_run``: what it would do)."""

    source: str
    destination: str
    dry_run: bool = False
    on_conflict: str = "skip"
    #: Assets published at the destination (files and external records).
    copied: int = 0
    #: Assets already at the destination with the same content.
    skipped: int = 0
    #: URIs with other content at the destination (left as they are).
    conflicts: int = 0
    #: Assets that could not be copied (see ``details.failed``).
    failed: int = 0
    #: Destination assets removed because the source lacks them (``delete``).
    deleted: int = 0
    #: Assets whose metadata and tags were set to the source's (``overwrite-metadata``).
    metadata_updated: int = 0
    #: Assets skipped whose metadata or tags differ (same file).
    metadata_differs: int = 0
    #: Bytes read from the source's files (what a dry run would read).
    bytes: int = 0
    seconds: float = 0.0
    details: SyncDetails = Field(default_factory=SyncDetails)

    @property
    def ok(self) -> bool:
        """True when every asset is at the destination with the source's content."""
        return not self.conflicts and not self.failed


def describe_location(location: str | os.PathLike[str]) -> str:
    """A store's location as a report shows it: a local path made absolute, a URL without
    credentials, query or fragment."""
    text = os.fspath(location)
    scheme = scheme_of(text)
    if scheme in ("", "file"):
        return str(Path(text.removeprefix("file://")).expanduser().resolve())
    parts = urlsplit(text)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def describe_store(store: AssetStore) -> str:
    """Where a store lives, for a report (an HTTP store's URL, a store's blob location)."""
    for owner, attribute in ((store, "base_url"), (getattr(store, "_blobs", None), "url")):
        value = getattr(owner, attribute, None)
        if isinstance(value, str):
            return describe_location(value)
    return type(store).__name__


def report_of(
    tally: Tally, source: str, destination: str, dry_run: bool, on_conflict: str, started: float
) -> SyncReport:
    """The report of what ``tally`` counted, from ``started`` (a ``perf_counter``) to now."""
    details = SyncDetails(
        conflicts=[
            SyncConflict(
                asset_uri=c.asset_uri,
                reason=c.reason,
                source_sha256=c.source_sha256,
                destination_sha256=c.destination_sha256,
            )
            for c in tally.conflicts
        ],
        failed=[
            SyncFailure(asset_uri=uri, error_type=type(error).__name__, error=str(error))
            for uri, error in tally.failed
        ],
        deleted=tally.deleted,
        metadata_differs=tally.metadata_differs,
    )
    return SyncReport(
        source=source,
        destination=destination,
        dry_run=dry_run,
        on_conflict=on_conflict,
        copied=tally.copied,
        skipped=tally.skipped,
        conflicts=len(details.conflicts),
        failed=len(details.failed),
        deleted=len(details.deleted),
        metadata_updated=tally.metadata_updated,
        metadata_differs=len(details.metadata_differs),
        bytes=tally.bytes,
        seconds=round(time.perf_counter() - started, 3),
        details=details,
    )


__all__ = [
    "SyncConflict",
    "SyncDetails",
    "SyncFailure",
    "SyncReport",
    "describe_location",
    "describe_store",
    "report_of",
]
