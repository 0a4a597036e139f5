"""``fsck`` and ``gc`` over a blob store and a document store, and gc's safety rule.

A file that no record names is an orphan only if the records can be trusted. So ``gc``
refuses to run (deletes nothing) while the store shows signs of damage, and raises
:class:`~assetstore.errors.DamageError` saying why:

* the metadata cannot be read (a file or a journal record fails its checksum...), or the
  backend finds damage in its own files;
* a record is malformed;
* a file that a record refers to is missing: the record, or the file's name, may be
  damaged, and the unreferenced file may be the very one;
* no record refers to any file while files past the grace period exist, although
  records were committed to the store (``store.json``) and the metadata shows no history
  of changes: it was emptied or lost, not cleared by deletes.

In that state ``gc(quarantine=True)`` moves the unreferenced files to
``quarantine/<UTC time>/objects/...`` instead (nothing is deleted), where they can be
moved back once the metadata is restored. A file gc cannot remove is reported in
``failed`` and gc goes on with the next.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from assetstore._records import load_record
from assetstore._streams import sha256_of
from assetstore.errors import DamageError, IntegrityError
from assetstore.models import AssetObject, FsckReport, GcReport
from assetstore.ports import BlobInfo, BlobStore, DocumentStore

#: Where ``gc(quarantine=True)`` moves unreferenced files.
QUARANTINE_PREFIX = "quarantine/"
_EXAMPLES = 3
#: fsck's grace period: files no record names that are younger than this may be uploads in
#: flight, so they are no sign of lost metadata (gc uses its own ``older_than``).
FSCK_GRACE = 3600.0
KeyOf = Callable[[str], str]
_log = logging.getLogger("assetstore.store")


def _referenced(docs: Iterable[Mapping[str, Any]], key_of: KeyOf) -> set[str]:
    """The blob keys any record names (an external record's too: never delete a file a
    record could mean). An id no key can be made of names no file."""
    keys = set()
    for doc in docs:
        asset_id = doc.get("asset_id")
        if isinstance(asset_id, str) and asset_id:
            try:
                keys.add(key_of(asset_id))
            except (ValueError, IntegrityError):  # names no file of this store
                continue
    return keys


def _examples(items: list[str]) -> str:
    shown = ", ".join(items[:_EXAMPLES])
    return shown + (f" and {len(items) - _EXAMPLES} more" if len(items) > _EXAMPLES else "")


class Maintenance:
    """fsck and gc of the store whose files are in ``blobs`` (under ``prefix``, at the keys
    ``key_of(asset_id)``) and records in ``documents``."""

    def __init__(
        self,
        blobs: BlobStore,
        documents: DocumentStore,
        *,
        key_of: KeyOf,
        prefix: str,
        chunk_size: int,
        had_records: Callable[[], bool],
    ) -> None:
        self._blobs = blobs
        self._had_records = had_records
        self._documents = documents
        self._key_of = key_of
        self._prefix = prefix
        self._chunk_size = chunk_size

    def _load(self, doc: Mapping[str, Any]) -> AssetObject:
        return load_record(AssetObject, doc, self._documents)

    def _really_missing(self, asset: AssetObject) -> bool:
        """Whether the asset's file is missing while its record still stands (not a race
        with a delete, which removes the record first)."""
        try:
            if self._blobs.size(self._key_of(asset.asset_id)) is not None:
                return False
        except IntegrityError:  # a link out of the store in its place: not its file either
            pass
        return self._documents.find_one("asset_id", asset.asset_id) is not None

    # ------------------------------------------------------------------------ fsck
    def fsck(self, *, verify_checksums: bool) -> FsckReport:
        report = FsckReport()
        report.damaged.extend(self._documents.check())
        try:
            docs = self._documents.find(shared=True)
        except DamageError as exc:
            if str(exc) not in report.damaged:
                report.damaged.append(str(exc))
            return report
        for doc in docs:
            try:
                asset = self._load(doc)
            except DamageError as exc:
                report.damaged.append(str(exc))
                continue
            if asset.asset_source != "upload":
                continue
            report.checked += 1
            try:
                key = self._key_of(asset.asset_id)
                size = self._blobs.size(key)
                if size is None:
                    if self._really_missing(asset):
                        report.missing.append(asset.asset_uri)
                elif size != asset.file_size or (
                    verify_checksums and not self._sha256_matches(key, asset)
                ):
                    report.corrupt.append(asset.asset_uri)
            except IntegrityError as exc:  # a forged asset_id, or a file that is not ours
                _log.warning("fsck: %s: %s", asset.asset_uri, exc)
                report.corrupt.append(asset.asset_uri)
        # Read again: an asset published while the checksums were verified is no orphan.
        referenced = _referenced(self._documents.find(shared=True), self._key_of)
        orphans = [
            info for info in self._blobs.list_blobs(self._prefix) if info.key not in referenced
        ]
        report.orphans = sorted(info.key for info in orphans)
        settled = [info for info in orphans if info.modified <= time.time() - FSCK_GRACE]
        if settled and report.checked == 0 and self._emptied_metadata():
            report.damaged.append(self._emptied(len(settled)))
        return report

    def _sha256_matches(self, key: str, asset: AssetObject) -> bool:
        try:
            with self._blobs.open(key) as reader:
                _, digest = sha256_of(reader, self._chunk_size)
        except FileNotFoundError:
            return not self._really_missing(asset)
        return digest == asset.sha256

    def _emptied_metadata(self) -> bool:
        """With files left that no record names, and no record of an uploaded file: whether
        the metadata may have been emptied or lost (rather than cleared by deletes, or
        never written: a new store whose first upload failed)."""
        return self._documents.has_history() is not True and self._had_records()

    def _emptied(self, files: int) -> str:
        return (
            f"no record of {self._documents!r} refers to a file, but {files} file(s) are in "
            f"{self._prefix}: the metadata may have been emptied or lost; restore it from "
            "a backup"
        )

    # -------------------------------------------------------------------------- gc
    def gc(self, *, older_than: float, quarantine: bool) -> GcReport:
        report = GcReport()
        report.removed.extend(self._blobs.remove_incomplete(older_than))
        report.removed.extend(self._documents.remove_incomplete(older_than))
        signs = self._documents.check()
        docs = self._documents.find(shared=True)  # DamageError: refused, nothing deleted
        uploads: list[AssetObject] = []
        for doc in docs:
            try:
                asset = self._load(doc)
            except DamageError as exc:
                signs.append(str(exc))
                continue
            if asset.asset_source != "upload":
                continue
            try:
                self._key_of(asset.asset_id)
            except IntegrityError:
                signs.append(
                    f"asset {asset.asset_uri!r} has a damaged record (its asset_id names no "
                    "file of this store), so its real file would look like an orphan"
                )
                continue
            uploads.append(asset)
        referenced = _referenced(docs, self._key_of)
        files = {info.key: info for info in self._blobs.list_blobs(self._prefix)}
        missing = [
            asset.asset_uri
            for asset in uploads
            if self._key_of(asset.asset_id) not in files and self._really_missing(asset)
        ]
        if missing:
            signs.append(
                f"{len(missing)} asset(s) have lost their file (missing, or not a file of "
                f"this store): {_examples(missing)}"
            )
        unreferenced = [info for key, info in files.items() if key not in referenced]
        cutoff = time.time() - older_than
        due = [info for info in unreferenced if info.modified <= cutoff]
        report.kept_recent += len(unreferenced) - len(due)
        if due and not uploads and self._emptied_metadata():  # not uploads in flight
            signs.append(self._emptied(len(due)))
        if signs and not quarantine:
            raise DamageError(
                f"gc refused: the store shows damage: {signs[0]}"
                + (f" (and {len(signs) - 1} more problems)" if len(signs) > 1 else "")
                + f"; nothing was deleted ({len(due)} unreferenced file(s) due). Run "
                "`assetstore fsck`, restore the metadata, or move the unreferenced files "
                "aside with `assetstore gc --quarantine`"
            )
        folder = f"{QUARANTINE_PREFIX}{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}/"
        for info in due:
            self._dispose(info, folder if quarantine else None, report)
        return report

    def _dispose(self, info: BlobInfo, quarantine: str | None, report: GcReport) -> None:
        """Delete (or move to ``quarantine``) one unreferenced file, unless a record has
        named it since it was listed; a failure is reported and gc goes on."""
        if self._documents.find_one("asset_id", info.key.rsplit("/", 1)[-1]) is not None:
            return
        try:
            if quarantine is not None:
                self._blobs.move(info.key, quarantine + info.key)
                report.quarantined.append(info.key)
                return
            self._blobs.delete(info.key)
        except OSError as exc:
            report.failed.append(f"{info.key}: {exc}")
            return
        report.removed.append(info.key)
        report.bytes_freed += info.size


__all__ = ["QUARANTINE_PREFIX", "Maintenance"]
