"""Offline bundles: the assets of a store in one self-describing tar archive, for machines
that no network reaches (``assetstore export`` / ``assetstore import``).

Layout (a plain POSIX tar; gzip-compressed when the file name ends in ``.gz``)::

    manifest.ndjson    line 1: {"format": "assetstore-bundle", "version": 1, "created_at",
                                "source": {"assets_db_id", "location"}, "filter",
                                "assets": N, "files": M, "bytes": B}
                       then one line per asset: {"record": {...}, "member": "files/<id>"}
                       ("member" is null for an external asset)
    files/<asset_id>   each stored file, in the manifest's order

Export streams: the records are listed first (spooled to a temporary file, so memory stays
flat however many there are), then written as the manifest, then each file is streamed from
the store into the archive, verified against its sha256 as it is read. A bundle file is
written beside its name and renamed when complete.

Import reads the archive once, in order. Every member is checked against the manifest (its
name, size and sha256) and a damaged bundle is a :class:`DamagedBundleError` naming the
member, what the manifest expected and what the bundle holds. By default nothing becomes
visible before every member has been checked (one all-or-nothing import); ``per_asset``
publishes batches as they are checked, with the atomicity of a sync.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

import orjson

from assetstore._sync_plan import ON_CONFLICT, Doc, OnConflict, plan_page
from assetstore._sync_report import SyncReport, describe_location, describe_store, report_of
from assetstore._sync_run import Tally
from assetstore.contract import AssetStore
from assetstore.errors import AlreadyExistsError, DamagedBundleError, InvalidInputError
from assetstore.models import AssetObject, Filter, ImportItem, Progress, utc_now

FORMAT = "assetstore-bundle"
VERSION = 1
MANIFEST = "manifest.ndjson"
FILES_PREFIX = "files/"
#: The largest manifest line read (one record; metadata is at most 1 MiB as JSON).
MAX_LINE = 4 << 20
#: Records compared with the destination at once, and published at once with ``per_asset``.
PAGE = 500
CHUNK = 1 << 20
ORDER = [("asset_uri", 1)]


def member_of(record: AssetObject) -> str | None:
    """The archive member holding ``record``'s file (None for an external asset)."""
    return f"{FILES_PREFIX}{record.asset_id}" if record.asset_source == "upload" else None


# ------------------------------------------------------------------------ export
def export_bundle(
    store: AssetStore,
    target: str | os.PathLike[str] | BinaryIO,
    filter: Filter | None = None,
    *,
    source: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write the assets of ``store`` matching ``filter`` to ``target`` (a path, or a binary
    stream such as stdout) and return the manifest's first line (what it holds)."""
    if filter is not None and not isinstance(filter, dict):
        raise InvalidInputError("the filter must be a JSON object")
    with tempfile.TemporaryFile(prefix="assetstore-manifest-") as spool:
        header = _spool_records(store, filter, spool, source)
        if isinstance(target, (str, os.PathLike)):
            path = Path(target)
            compress = path.name.endswith((".gz", ".tgz"))
            _write_file(path, lambda out: _write_tar(store, out, spool, header, compress, progress))
        else:
            _write_tar(store, target, spool, header, False, progress)
    return header


def _spool_records(
    store: AssetStore, filter: Filter | None, spool: IO[bytes], source: dict[str, Any] | None
) -> dict[str, Any]:
    count = files = size = 0
    for record in store.iter_query(filter, sort=ORDER):
        line = {"record": record.model_dump(mode="json"), "member": member_of(record)}
        spool.write(orjson.dumps(line) + b"\n")
        count += 1
        if record.asset_source == "upload":
            files += 1
            size += int(record.file_size or 0)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": utc_now(),
        "source": source or {"assets_db_id": store.assets_db_id, "location": describe_store(store)},
        "filter": filter or {},
        "assets": count,
        "files": files,
        "bytes": size,
    }
    return header


def _write_file(path: Path, write: Any) -> None:
    """Write through a temporary file beside ``path``, renamed when whole."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(partial, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def _write_tar(
    store: AssetStore,
    out: IO[bytes],
    spool: IO[bytes],
    header: dict[str, Any],
    compress: bool,
    progress: Progress | None,
) -> None:
    mode: Any = "w|gz" if compress else "w|"
    with tarfile.open(fileobj=out, mode=mode, format=tarfile.PAX_FORMAT) as tar:
        tar.copybufsize = CHUNK  # type: ignore[attr-defined]  # (a TarFile argument, unstubbed)
        head = orjson.dumps(header) + b"\n"
        spool.seek(0, os.SEEK_END)
        info = _member(MANIFEST, len(head) + spool.tell())
        spool.seek(0)
        tar.addfile(info, _Whole(_Concat(io.BytesIO(head), spool)))
        spool.seek(0)
        stored = [
            record
            for record in (_line_record(line) for line in _lines_of(spool))
            if record.asset_source == "upload"
        ]
        for record, reader in zip(stored, store.open_many(stored), strict=True):
            with reader:
                size = int(record.file_size or 0)
                tar.addfile(
                    _member(member_of(record) or "", size),
                    _Whole(reader, progress),
                )
                if reader.read(1):  # the end of a verified read checks the sha256
                    raise InvalidInputError(f"{record.asset_uri}: the file grew while exported")


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(time.time())
    info.mode = 0o644
    return info


def _lines_of(spool: IO[bytes]) -> Iterator[bytes]:
    for line in spool:
        if line.strip():
            yield line


def _line_record(line: bytes) -> AssetObject:
    return AssetObject.model_validate(orjson.loads(line)["record"])


class _Concat(io.RawIOBase):
    """Two readers, one after the other."""

    def __init__(self, first: IO[bytes], second: IO[bytes]) -> None:
        super().__init__()
        self._readers = [first, second]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while self._readers:
            data = self._readers[0].read(len(view))
            if data:
                view[: len(data)] = data
                return len(data)
            self._readers.pop(0)
        return 0


class _Whole:
    """A reader whose ``read(n)`` returns n bytes unless the end comes first (what tarfile
    needs), reporting what it reads to ``progress``."""

    def __init__(self, raw: Any, progress: Progress | None = None) -> None:
        self._raw = raw
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        parts = []
        wanted = size
        while wanted:
            data = self._raw.read(wanted if wanted > 0 else CHUNK)
            if not data:
                break
            parts.append(data)
            if wanted > 0:
                wanted -= len(data)
        block = b"".join(parts)
        if block and self._progress is not None:
            self._progress(len(block))
        return block


# ------------------------------------------------------------------------ import
class _Archive:
    """A bundle read in one pass: the manifest, then each member checked in turn."""

    def __init__(self, stream: IO[bytes], label: str) -> None:
        self.label = label
        try:
            self._tar = tarfile.open(fileobj=stream, mode="r|*")  # noqa: SIM115 - closed with the stream
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DamagedBundleError(f"{label} is not a tar archive: {exc}") from None
        self._members = iter(self._tar)
        self.position = 0  # stored files checked so far (in the manifest's order)
        self.names: set[str] = set()  # every member the manifest names

    def _next_member(self, expected: str) -> tarfile.TarInfo | None:
        try:
            return next(self._members, None)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DamagedBundleError(
                f"{self.label}: the archive is damaged before {expected}: {exc}",
                member=expected,
            ) from None

    def manifest(self, spool: IO[bytes]) -> dict[str, Any]:
        """Copy the manifest to ``spool`` and return its first line, checked."""
        member = self._next_member(MANIFEST)
        if member is None or member.name != MANIFEST:
            found = member.name if member is not None else "(nothing)"
            raise DamagedBundleError(
                f"{self.label}: the first member is {found}, not {MANIFEST}: not an "
                "assetstore bundle",
                member=found,
                expected=MANIFEST,
                actual=found,
            )
        reader = self._tar.extractfile(member)
        if reader is None:
            raise DamagedBundleError(f"{self.label}: {MANIFEST} is not a file", member=MANIFEST)
        try:
            while block := reader.read(CHUNK):
                spool.write(block)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DamagedBundleError(
                f"{self.label}: {MANIFEST} is truncated: {exc}", member=MANIFEST
            ) from None
        spool.seek(0)
        first = spool.readline(MAX_LINE)
        try:
            header = orjson.loads(first)
        except orjson.JSONDecodeError:
            header = None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise DamagedBundleError(
                f"{self.label}: {MANIFEST} line 1 is not an assetstore bundle header",
                member=MANIFEST,
            )
        if header.get("version") != VERSION:
            raise DamagedBundleError(
                f"{self.label}: bundle version {header.get('version')!r}; this assetstore "
                f"reads version {VERSION}",
                member=MANIFEST,
                expected=str(VERSION),
                actual=str(header.get("version")),
            )
        return header

    def member_blocks(self, record: AssetObject) -> Iterator[bytes]:
        """The blocks of the next member, which must be ``record``'s file; its name and size
        are checked first, its sha256 after its last block."""
        expected = member_of(record) or ""
        size, sha256 = int(record.file_size or 0), record.sha256 or ""
        member = self._next_member(expected)
        if member is None:
            raise DamagedBundleError(
                f"{self.label}: {expected} ({record.asset_uri}) is missing: the bundle ends "
                "before it",
                member=expected,
                expected=expected,
                actual="end of archive",
            )
        if member.name != expected and member.name in self.names:
            raise DamagedBundleError(
                f"{self.label}: {expected} ({record.asset_uri}) is missing: the bundle holds "
                f"{member.name} where the manifest puts it",
                member=expected,
                expected=expected,
                actual=member.name,
            )
        if member.name != expected:
            raise DamagedBundleError(
                f"{self.label}: unexpected member {member.name} where the manifest puts "
                f"{expected} ({record.asset_uri})",
                member=member.name,
                expected=expected,
                actual=member.name,
            )
        if member.size != size:
            raise DamagedBundleError(
                f"{self.label}: {expected} ({record.asset_uri}) holds {member.size} bytes, "
                f"the manifest says {size}",
                member=expected,
                expected=f"{size} bytes",
                actual=f"{member.size} bytes",
            )
        reader = self._tar.extractfile(member)
        digest = hashlib.sha256()
        seen = 0
        try:
            while reader is not None and (block := reader.read(CHUNK)):
                digest.update(block)
                seen += len(block)
                yield block
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DamagedBundleError(
                f"{self.label}: {expected} ({record.asset_uri}) is truncated after {seen} of "
                f"{size} bytes: {exc}",
                member=expected,
                expected=f"{size} bytes",
                actual=f"{seen} bytes",
            ) from None
        actual = digest.hexdigest()
        if seen != size or actual != sha256:
            raise DamagedBundleError(
                f"{self.label}: {expected} ({record.asset_uri}) has sha256 {actual}, the "
                f"manifest says {sha256}",
                member=expected,
                expected=sha256,
                actual=actual,
            )
        self.position += 1

    def finish(self) -> None:
        """Nothing may follow the last file."""
        member = self._next_member("the end")
        if member is not None:
            raise DamagedBundleError(
                f"{self.label}: unexpected member {member.name} after the last file",
                member=member.name,
                expected="end of archive",
                actual=member.name,
            )


def _records(spool: IO[bytes], label: str, header: dict[str, Any]) -> Iterator[AssetObject]:
    """The manifest's records, each checked to be a record with the right member."""
    count = 0
    for number, line in enumerate(spool, start=2):
        if not line.strip():
            continue
        try:
            entry = orjson.loads(line)
            record = AssetObject.model_validate(entry["record"])
            if entry.get("member") != member_of(record):
                raise ValueError("its member does not match its record")
        except (ValueError, KeyError, TypeError) as exc:
            raise DamagedBundleError(
                f"{label}: {MANIFEST} line {number} is not a record of the bundle: "
                f"{str(exc)[:200]}",
                member=MANIFEST,
            ) from None
        count += 1
        yield record
    if count != header.get("assets"):
        raise DamagedBundleError(
            f"{label}: {MANIFEST} lists {count} assets, its header says {header.get('assets')}",
            member=MANIFEST,
            expected=str(header.get("assets")),
            actual=str(count),
        )


class _Importer:
    """Where reading the archive stands: the manifest's stored records, in order, and how
    many of their members were checked."""

    def __init__(self, archive: _Archive, records: list[AssetObject]) -> None:
        self.archive = archive
        self.stored = [record for record in records if record.asset_source == "upload"]
        archive.names = {member_of(record) or "" for record in self.stored}

    def skip_to(self, index: int) -> None:
        """Check the members before the ``index``-th (files that are not imported)."""
        while self.archive.position < index:
            for _ in self.archive.member_blocks(self.stored[self.archive.position]):
                pass

    def check_rest(self) -> None:
        """Check every member not read yet, and that nothing follows the last."""
        if self.archive.position <= len(self.stored):
            self.skip_to(len(self.stored))
            self.archive.finish()
            self.archive.position = len(self.stored) + 1  # checked: never again


class _MemberSource:
    """The file of one imported record, read from the archive when the store asks for it
    (the members before it, of records not imported, are checked on the way). With
    ``last``, the end of the file also checks every member after it, so that a damaged
    bundle fails an all-or-nothing import before it commits."""

    def __init__(self, importer: _Importer, index: int, record: AssetObject, last: bool) -> None:
        self._importer = importer
        self._index = index
        self._record = record
        self._last = last
        self._blocks: Iterator[bytes] | None = None

    def read(self, size: int = -1) -> bytes:
        if self._blocks is None:
            self._importer.skip_to(self._index)
            self._blocks = self._importer.archive.member_blocks(self._record)
        block = next(self._blocks, b"")
        if not block and self._last:
            self._importer.check_rest()
        return block


def import_bundle(
    store: AssetStore,
    source: str | os.PathLike[str] | BinaryIO,
    *,
    on_conflict: OnConflict = "skip",
    per_asset: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> SyncReport:
    """Import a bundle into ``store`` and report it as a sync (``source`` is the bundle).
    Conflicts are decided as for a sync (``on_conflict``; ``fail`` raises
    ``AlreadyExistsError`` before anything is published). ``dry_run`` checks every member
    and publishes nothing."""
    if on_conflict not in ON_CONFLICT:
        raise InvalidInputError(f"on_conflict must be one of {', '.join(ON_CONFLICT)}")
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if isinstance(source, (str, os.PathLike)):
            label = os.fspath(source)
            try:
                stream: IO[bytes] = stack.enter_context(open(source, "rb"))
            except OSError as exc:
                raise InvalidInputError(f"cannot read {label}: {exc.strerror}") from None
        else:
            label, stream = "the bundle", source
        archive = _Archive(stream, label)
        with tempfile.TemporaryFile(prefix="assetstore-manifest-") as spool:
            header = archive.manifest(spool)
            records = list(_records(spool, label, header))
        tally = Tally()
        _import_records(
            store,
            _Importer(archive, records),
            records,
            on_conflict,
            per_asset,
            dry_run,
            header,
            tally,
            progress,
        )
    where = describe_location(label) if isinstance(source, (str, os.PathLike)) else label
    return report_of(tally, where, describe_store(store), dry_run, on_conflict, started)


def _import_records(
    store: AssetStore,
    importer: _Importer,
    records: list[AssetObject],
    on_conflict: OnConflict,
    per_asset: bool,
    dry_run: bool,
    header: dict[str, Any],
    tally: Tally,
    progress: Progress | None,
) -> None:
    copies: list[AssetObject] = []
    updates: list[tuple[Doc, Doc]] = []
    for start in range(0, len(records), PAGE):
        page = {record.asset_uri: record for record in records[start : start + PAGE]}
        lookup = {"asset_uri": {"$in": list(page)}}
        existing = {found["asset_uri"]: found for found in store.iter_documents(lookup)}
        plan = plan_page([r.to_document() for r in page.values()], existing, on_conflict)
        copies.extend(page[str(doc["asset_uri"])] for doc in plan.copies)
        updates.extend(plan.metadata_updates)
        tally.skipped += plan.skipped
        tally.conflicts.extend(plan.conflicts)
        tally.metadata_differs.extend(plan.metadata_differs)
    if on_conflict == "fail" and tally.conflicts:
        named = ", ".join(f"{c.asset_uri} ({c.reason})" for c in tally.conflicts[:10])
        raise AlreadyExistsError(
            f"{len(tally.conflicts)} URI(s) of the bundle hold other content here: {named}; "
            "nothing was imported"
        )
    tally.bytes = sum(int(r.file_size or 0) for r in copies if r.asset_source == "upload")
    if dry_run:
        importer.check_rest()  # a dry run still checks every member
        tally.copied = len(copies)
        tally.metadata_updated = len(updates)
        return
    given = header.get("source")
    source: dict[str, Any] = given if isinstance(given, dict) else {}
    copied_from = {"assets_db_id": source.get("assets_db_id"), "location": source.get("location")}
    position = {record.asset_id: index for index, record in enumerate(importer.stored)}
    now = utc_now()

    def item(record: AssetObject, last: bool) -> ImportItem:
        first = record.asset_origin.get("assets_db_id") or record.assets_db_id
        origin = {
            "assets_db_id": first,
            "copied_from": {**copied_from, "revision": record.revision, "via": "bundle"},
            "copied_at": now,
        }
        copy = record.model_copy(update={"asset_origin": origin})
        if record.asset_source != "upload":
            return ImportItem(copy)
        return ImportItem(copy, _MemberSource(importer, position[record.asset_id], record, last))

    groups = [copies[i : i + PAGE] for i in range(0, len(copies), PAGE)] if per_asset else [copies]
    for number, group in enumerate(groups):
        final = number == len(groups) - 1
        last_file = max(
            (i for i, record in enumerate(group) if record.asset_source == "upload"), default=-1
        )
        if final and last_file < 0:
            importer.check_rest()  # no file of this group reads the rest: check it first
        items = [item(record, final and i == last_file) for i, record in enumerate(group)]
        if items:
            store.import_assets(items, progress=progress)
        tally.copied += len(group)
    importer.check_rest()  # (already done, unless the store kept files and read none)
    for record, found in updates:
        store.update(
            str(record["asset_uri"]),
            {"asset_metadata": record["asset_metadata"], "asset_tags": record["asset_tags"]},
            expected_revision=found.get("revision"),
        )
        tally.metadata_updated += 1


__all__ = ["FORMAT", "MANIFEST", "VERSION", "export_bundle", "import_bundle", "member_of"]
