"""Publishing a record that was published elsewhere (:meth:`AssetStore.import_assets`): the
checks on a foreign record, and the bytes of its file verified as they come in.

An imported record keeps its identity (URI, ``asset_id``, timestamps, file info, origin);
what belongs to the receiving store is set here: ``assets_db_id``, ``revision`` 1 and the
download URL of a stored file. A record from another store is input like any other: every
field is checked as an upload's or a registration's would be, and the ``asset_id``, which
names the file in the blob store, must be a plain token (no ``/``, no ``..``).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from assetstore._streams import CHUNK_SIZE, open_source, sha256_of
from assetstore._validation import check_json_object, check_tags, check_url_field, describe
from assetstore.errors import ChecksumMismatchError, InvalidInputError
from assetstore.models import AssetObject, ImportItem, ImportSource, Progress
from assetstore.ports import BlobStore, ResumableWrite
from assetstore.uri import build_uri

#: What an imported ``asset_id`` may look like: uuid4 hex (ours), a uuid with dashes (the
#: original service's), or any such token.
_ASSET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
#: An uploaded asset's id names its file (``objects/<id[:2]>/<id>``), so it must be one a
#: store generates (uuid4 hex): the store reads no file by any other name.
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MAX_TIMESTAMP = 64
#: Files from this size up are written resumably where the blob store can (smaller ones
#: start over after an interruption: sending them again costs less than the bookkeeping).
RESUMABLE_BYTES = 8 << 20


def import_items(items: Iterable[ImportItem]) -> list[ImportItem]:
    """``items`` as a list, each checked to be an :class:`ImportItem`."""
    checked = []
    for item in items:
        if not isinstance(item, ImportItem):
            raise InvalidInputError("each item of an import must be an ImportItem")
        checked.append(item)
    return checked


def imported_record(
    record: AssetObject | Mapping[str, Any],
    *,
    assets_db_id: str,
    download_url: Callable[[str], str],
) -> AssetObject:
    """The record as this store keeps it, or ``InvalidInputError`` naming what is wrong.

    ``download_url(asset_id)`` is this store's URL of a stored file."""
    try:
        fields = record.model_dump() if isinstance(record, AssetObject) else dict(record)
        parsed = AssetObject.model_validate(fields)
    except (TypeError, ValueError) as exc:
        detail = describe(exc) if isinstance(exc, ValidationError) else str(exc)
        raise InvalidInputError(f"an imported record is not an asset: {detail}") from None
    uri = build_uri(parsed.asset_name, parsed.version, parsed.tag)
    if parsed.asset_uri and parsed.asset_uri != uri:
        raise InvalidInputError(
            f"imported asset_uri {parsed.asset_uri!r} does not match name:version-tag {uri!r}"
        )
    if not isinstance(parsed.asset_id, str) or not _ASSET_ID.fullmatch(parsed.asset_id):
        raise InvalidInputError(
            f"{uri}: asset_id {parsed.asset_id!r} is not a token of letters, digits, '-' and "
            "'_' (at most 128)"
        )
    file_info = check_json_object(parsed.asset_file_info, "asset_file_info")
    if parsed.asset_source == "upload":
        if not _UPLOAD_ID.fullmatch(parsed.asset_id):
            raise InvalidInputError(
                f"{uri}: an uploaded asset's asset_id must be 32 lower-case hex digits (a "
                f"uuid4 as stores make them), not {parsed.asset_id!r}"
            )
        _check_file_info(uri, file_info)
        public_url = download_url(parsed.asset_id)
    else:
        public_url = check_url_field(parsed.asset_public_url, "asset_public_url")
    created_at = _timestamp(parsed.created_at, "created_at", uri)
    return parsed.model_copy(
        update={
            "asset_uri": uri,
            "assets_db_id": assets_db_id,
            "asset_metadata": check_json_object(parsed.asset_metadata, "asset_metadata"),
            "asset_tags": check_tags(parsed.asset_tags, "asset_tags"),
            "asset_file_info": file_info,
            "asset_public_url": public_url,
            "asset_origin": check_json_object(parsed.asset_origin, "asset_origin"),
            "created_at": created_at,
            "updated_at": _timestamp(parsed.updated_at, "updated_at", uri) or created_at,
            "revision": 1,
        }
    )


def _check_file_info(uri: str, file_info: dict[str, Any]) -> None:
    size = file_info.get("file_size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InvalidInputError(f"{uri}: asset_file_info.file_size must be a byte count")
    if not isinstance(file_info.get("sha256"), str) or not _SHA256.fullmatch(file_info["sha256"]):
        raise InvalidInputError(f"{uri}: asset_file_info.sha256 must be 64 lowercase hex digits")


def _timestamp(value: str, field: str, uri: str) -> str:
    """``value`` if it is an ISO 8601 time ("" stays "": the store fills it in)."""
    if not value:
        return ""
    try:
        if len(value) > _MAX_TIMESTAMP:
            raise ValueError
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(f"{uri}: {field} {value[:80]!r} is not an ISO 8601 time") from None
    return value


def verified_chunks(
    chunks: Iterable[bytes],
    *,
    size: int,
    sha256: str,
    label: str,
    prefix: Any = None,
    offset: int = 0,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """The chunks unchanged; raises :class:`ChecksumMismatchError` as soon as they pass
    ``size`` bytes, and at their end if their size or sha256 differ from the record's (so a
    blob store writing them aborts and keeps nothing). ``prefix`` and ``offset`` continue a
    digest of bytes already kept (a resumed transfer)."""
    digest = prefix if prefix is not None else hashlib.sha256()
    seen = offset
    for chunk in chunks:
        seen += len(chunk)
        if seen > size:
            raise ChecksumMismatchError(
                f"{label}: more bytes came than the {size} its record gives; nothing was published"
            )
        digest.update(chunk)
        if progress is not None:
            progress(len(chunk))
        yield chunk
    if seen != size:
        raise ChecksumMismatchError(
            f"{label}: {seen} bytes came, its record gives {size}; nothing was published"
        )
    actual = digest.hexdigest()
    if actual != sha256:
        raise ChecksumMismatchError(
            f"{label}: the bytes that came have sha256 {actual}, its record gives {sha256}; "
            "nothing was published"
        )


@contextlib.contextmanager
def source_chunks(source: ImportSource, offset: int = 0) -> Iterator[Iterator[bytes]]:
    """The bytes of an import's ``source`` from ``offset`` (a callable source is asked for
    them from there; any other source must then be read from its start)."""
    if callable(source) and not hasattr(source, "read"):
        reader = source(offset)
        try:
            yield _read(reader)
        finally:
            close = getattr(reader, "close", None)
            if close is not None:
                close()
        return
    if offset:
        raise InvalidInputError("this source can only be read from its start")
    with open_source(source) as (chunks, _):
        yield chunks


def write_imported_file(
    blobs: BlobStore,
    key: str,
    source: ImportSource,
    record: AssetObject,
    progress: Progress | None,
    chunk_size: int = CHUNK_SIZE,
) -> bool:
    """Write the file of an imported ``record`` under ``key``, verified as it comes (the
    write aborts on a mismatch and keeps nothing). True if it was written; False if a blob
    an interrupted import left there (no record refers to it: the caller checked) has the
    record's size and sha256 and is kept as it is, its source left unread.

    A large file from a source that can be read from an offset goes through the blob
    store's resumable write, if it has one: an interrupted attempt keeps what it wrote, and
    the next one reads the rest only."""
    size, sha256 = int(record.file_size or 0), record.sha256 or ""
    found = blobs.size(key)
    if found is not None:
        if found == size:
            with blobs.open(key) as reader:
                _, kept_sha256 = sha256_of(reader, chunk_size)
            if kept_sha256 == sha256:
                if progress is not None:
                    progress(size)
                return False
        blobs.delete(key)
    if size >= RESUMABLE_BYTES and _reopenable(source):
        writer = blobs.resume_write(key)
        if writer is not None:
            _write_resumable(blobs, key, writer, source, record, progress)
            return True
    with source_chunks(source) as chunks:
        blobs.write(
            key,
            verified_chunks(
                chunks, size=size, sha256=sha256, label=record.asset_uri, progress=progress
            ),
            overwrite=False,
            sync=False,
        )
    return True


def _reopenable(source: ImportSource) -> bool:
    return callable(source) and not hasattr(source, "read")


def _write_resumable(
    blobs: BlobStore,
    key: str,
    writer: ResumableWrite,
    source: ImportSource,
    record: AssetObject,
    progress: Progress | None,
) -> None:
    """Continue (or start) ``writer`` with the record's file and commit it, verified. Kept
    bytes are checked first (hashed again where they can be read back, else compared with
    the source's first bytes read again); kept bytes that do not match are discarded and
    the write starts over. A resumed file whose whole sha256 turns out wrong (a crash can
    leave garbage at the end of kept bytes) is written once more from its first byte."""
    resumed = writer.offset > 0
    try:
        _continue(blobs, key, writer, source, record, progress)
    except ChecksumMismatchError:
        if not resumed:
            raise
        fresh = blobs.resume_write(key)  # the failed attempt discarded what it kept
        if fresh is None:
            raise
        _continue(blobs, key, fresh, source, record, progress)


def _continue(
    blobs: BlobStore,
    key: str,
    writer: ResumableWrite,
    source: ImportSource,
    record: AssetObject,
    progress: Progress | None,
) -> None:
    size, sha256 = int(record.file_size or 0), record.sha256 or ""
    try:
        digest = hashlib.sha256()
        offset = writer.offset
        if offset and not (offset <= size and _kept_matches(writer, source, digest)):
            writer.abort()
            writer = blobs.resume_write(key) or writer
            digest, offset = hashlib.sha256(), 0
        if offset and progress is not None:
            progress(offset)
        with source_chunks(source, offset) as chunks:
            writer.append(
                verified_chunks(
                    chunks,
                    size=size,
                    sha256=sha256,
                    label=record.asset_uri,
                    prefix=digest,
                    offset=offset,
                    progress=progress,
                )
            )
        writer.commit(sync=False)
    except ChecksumMismatchError:
        writer.abort()  # the kept bytes may be the bad ones: the next attempt starts over
        raise
    except BaseException:
        writer.close()  # keep what was written: the next attempt continues after it
        raise


def _kept_matches(writer: ResumableWrite, source: ImportSource, digest: Any) -> bool:
    """Hash the bytes ``writer`` kept into ``digest``; False if they are not the source's."""
    kept = writer.kept()
    if kept is not None:
        for block in kept:
            digest.update(block)
        return True  # garbage left by a crash fails the whole file's sha256 at the end
    with source_chunks(source) as chunks:
        return writer.check_kept(_head(chunks, writer.offset, digest))


def _head(chunks: Iterator[bytes], count: int, digest: Any) -> Iterator[bytes]:
    """The first ``count`` bytes of ``chunks``, hashed into ``digest`` as they pass."""
    left = count
    for chunk in chunks:
        piece = chunk[:left]
        digest.update(piece)
        left -= len(piece)
        yield piece
        if not left:
            return


def _read(reader: Any) -> Iterator[bytes]:
    while chunk := reader.read(CHUNK_SIZE):
        yield chunk


__all__ = [
    "import_items",
    "imported_record",
    "source_chunks",
    "verified_chunks",
    "write_imported_file",
]
