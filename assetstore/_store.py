"""The one :class:`~assetstore.contract.AssetStore` implementation, over any
:class:`~assetstore.contract.BlobStore` and :class:`~assetstore.contract.DocumentStore`.

Publish protocol (what users may rely on):

1. the upload is streamed to the blob store while its sha256 and size are computed; the
   blob store makes it visible under its final key only when whole;
2. the metadata document is inserted; the unique URI makes the insert the commit point;
   if it fails, the blob is deleted;
3. delete removes the metadata first, then the blob; update is a compare-and-swap on
   ``revision``.

So a crash can leave an orphan blob (removed by ``gc``) but never metadata without its file.
``fsck`` and ``gc`` (and gc's safety rule) are in :mod:`assetstore._maintenance`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, BinaryIO

from pydantic import ValidationError

from assetstore import versions
from assetstore._base_store import BaseAssetStore, require_stored_file
from assetstore._gc import gc_paused
from assetstore._identity import IDENTITY_KEY, StoreIdentity
from assetstore._import import import_items, imported_record, write_imported_file
from assetstore._loss_guard import LossGuard
from assetstore._maintenance import Maintenance
from assetstore._media_types import media_type
from assetstore._planner import check_index_path
from assetstore._records import damaged_record, load_record
from assetstore._revisions import delete_document, update_document
from assetstore._streams import (
    CHUNK_SIZE,
    Digest,
    MissingAware,
    VerifyingReader,
    check_range,
    open_source,
)
from assetstore._validation import (
    ASSET_URL_SCHEMES,
    check_json_object,
    check_tags,
    check_url_field,
    describe,
)
from assetstore.errors import (
    AlreadyExistsError,
    AssetNotFoundError,
    AssetStoreError,
    IntegrityError,
    InvalidInputError,
    ReadOnlyFieldError,
)
from assetstore.models import (
    ASSET_EXTERNAL_MUTABLE_FIELDS,
    ASSET_IDENTITY_FIELDS,
    ASSET_MUTABLE_FIELDS,
    AssetObject,
    Filter,
    FsckReport,
    GcReport,
    ImportItem,
    Progress,
    Sort,
    StagedFile,
    Upload,
    utc_now,
)
from assetstore.ports import BlobStore, DocumentStore
from assetstore.uri import build_uri

#: Where blobs live in the blob store: ``objects/<first two hex digits>/<asset_id>``.
OBJECTS_PREFIX = "objects/"
#: The asset ids this store generates (``uuid4().hex``), and so the only ones it takes a
#: blob key from: a record is data that someone with access to the metadata can change.
_ASSET_ID = re.compile(r"[0-9a-f]{32}")
#: Fields of an uploaded asset that the store computes when answering, never stores: a query
#: that names one sees external assets only (see :func:`_hide_computed_fields`).
COMPUTED_FIELDS = ("asset_public_url",)

_log = logging.getLogger("assetstore.store")
#: URIs looked up in one query when a batch checks which are taken.
_LOOKUP_BATCH = 1000


def store_identity(
    blobs: BlobStore, configured: str | None = None, *, in_use: Callable[[], bool] | None = None
) -> str:
    """The store's ``assets_db_id``: ``configured`` if given, else the one in ``store.json``,
    made once (see :mod:`assetstore._identity`). A new id is never made for a store that
    holds assets: files under ``objects/``, or records ``in_use`` says exist."""

    def holds_assets() -> bool:
        if next(iter(blobs.list_blobs(OBJECTS_PREFIX)), None) is not None:
            return True
        return in_use is not None and in_use()

    return StoreIdentity(blobs).establish(configured, holds_assets)


def blob_key(asset_id: Any) -> str:
    """The blob key of an uploaded asset. ``IntegrityError`` if ``asset_id`` is not an id
    this store generates (a damaged or forged record), so no record can name a file
    elsewhere (``../../victim``)."""
    if not isinstance(asset_id, str) or not _ASSET_ID.fullmatch(asset_id):
        raise IntegrityError(
            f"a record's asset_id {str(asset_id)[:80]!r} is not one this store generates; "
            "the record is damaged (fsck lists it), and no file is read or removed for it"
        )
    return f"{OBJECTS_PREFIX}{asset_id[:2]}/{asset_id}"


class Store(BaseAssetStore):
    """Assets over a blob store and a document store.

    ``public_url`` is the address clients download from (``{public_url}/asset-object/{id}``);
    without it, an uploaded asset's ``asset_public_url`` is the blob's own URL. Either is
    computed when answering and never stored (the metadata holds ``""``): a stored local path
    would leak to whoever can query the metadata, and a stored address goes stale when the
    configuration changes.
    """

    def __init__(
        self,
        blobs: BlobStore,
        documents: DocumentStore,
        *,
        assets_db_id: str | None = None,
        public_url: str | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self._blobs = blobs
        self._identity = StoreIdentity(blobs)
        self._documents = documents = LossGuard(
            documents, lambda: self._identity.has_records(if_unknown=False)
        )
        self.assets_db_id = store_identity(blobs, assets_db_id)
        self.public_url = public_url.rstrip("/") if public_url else None
        self._chunk_size = chunk_size
        self._maintenance = Maintenance(
            blobs,
            documents,
            key_of=blob_key,
            prefix=OBJECTS_PREFIX,
            chunk_size=chunk_size,
            had_records=lambda: self._identity.has_records(if_unknown=True),
        )

    def __repr__(self) -> str:
        return f"Store(blobs={self._blobs.url!r}, assets_db_id={self.assets_db_id!r})"

    # ----------------------------------------------------------------- create
    def upload(
        self,
        source: Any,
        *,
        name: str,
        version: str,
        tag: str,
        metadata: Mapping[str, Any] | None = None,
        tags: Iterable[str] | None = None,
        filename: str | None = None,
        content_type: str | None = None,
        progress: Progress | None = None,
    ) -> AssetObject:
        uri = build_uri(name, version, tag)
        check_json_object(metadata, "asset_metadata")
        check_tags(tags, "asset_tags")
        if self._documents.get(uri) is not None:
            raise AlreadyExistsError(f"asset {uri!r} already exists")
        staged = self.stage(source, filename=filename, progress=progress)
        return self.publish(
            staged,
            name=name,
            version=version,
            tag=tag,
            metadata=metadata,
            tags=tags,
            content_type=content_type,
        )

    def stage(
        self, source: Any, *, filename: str | None = None, progress: Progress | None = None
    ) -> StagedFile:
        return self._stage(source, filename, progress, sync=True)

    def _stage(
        self, source: Any, filename: str | None, progress: Progress | None, *, sync: bool
    ) -> StagedFile:
        asset_id = uuid.uuid4().hex
        digest = Digest(progress)
        with open_source(source, self._chunk_size) as (chunks, source_name):
            self._blobs.write(blob_key(asset_id), digest.wrap(chunks), overwrite=False, sync=sync)
        return StagedFile(
            asset_id,
            digest.size,
            digest.hexdigest(),
            os.path.basename(filename or source_name or ""),
        )

    def publish(
        self,
        staged: StagedFile,
        *,
        name: str,
        version: str,
        tag: str,
        metadata: Mapping[str, Any] | None = None,
        tags: Iterable[str] | None = None,
        content_type: str | None = None,
    ) -> AssetObject:
        try:
            asset = self._uploaded_record(staged, name, version, tag, metadata, tags, content_type)
            self._documents.insert(asset.to_document())
            self._identity.note_records()
        except BaseException:
            self._discard_uncommitted(staged)
            raise
        return self._answer(asset)

    def _discard_uncommitted(self, staged: StagedFile) -> None:
        """After a failed publish, remove the staged blob, unless the metadata was committed
        after all: an error can come after the commit (a failed directory fsync, a lost
        MongoDB acknowledgement), and a blob that metadata refers to must stay. If that
        cannot be checked, the blob stays too, and ``gc`` decides later."""
        with contextlib.suppress(Exception):
            if self._documents.find_one("asset_id", staged.staging_id) is None:
                self.discard(staged)

    def _uploaded_record(
        self,
        staged: StagedFile,
        name: str,
        version: str,
        tag: str,
        metadata: Mapping[str, Any] | None,
        tags: Iterable[str] | None,
        content_type: str | None,
    ) -> AssetObject:
        asset_id = staged.staging_id
        filename = staged.filename or asset_id
        now = utc_now()
        return AssetObject(
            asset_uri=build_uri(name, version, tag),
            asset_name=name,
            asset_id=asset_id,
            assets_db_id=self.assets_db_id,
            asset_version={"version": version, "tag": tag},
            asset_metadata=check_json_object(metadata, "asset_metadata"),
            asset_public_url="",  # computed when answering: see _answer
            asset_file_info={
                "file_size": staged.size,
                "file_type": content_type or media_type(filename),
                "sha256": staged.sha256,
                "filename": filename,
            },
            asset_tags=check_tags(tags, "asset_tags"),
            asset_source="upload",
            created_at=now,
            updated_at=now,
            revision=1,
        )

    def discard(self, staged: StagedFile) -> None:
        self._blobs.delete(blob_key(staged.staging_id))

    def upload_many(
        self, items: Iterable[Upload | Mapping[str, Any]], *, progress: Progress | None = None
    ) -> list[AssetObject]:
        """All or nothing: every file is checked and staged, the blobs are made durable
        with one flush, and the metadata of all of them is committed in one write."""
        with gc_paused():  # see register_many
            return self._upload_many(items, progress)

    def _upload_many(
        self, items: Iterable[Upload | Mapping[str, Any]], progress: Progress | None
    ) -> list[AssetObject]:
        requests = [Upload.fields_of(item) for item in items]
        uris = []
        for fields in requests:
            uris.append(build_uri(fields["name"], fields["version"], fields["tag"]))
            check_json_object(fields.get("metadata"), "asset_metadata")
            check_tags(fields.get("tags"), "asset_tags")
        self._refuse_taken(uris)
        staged: list[StagedFile] = []
        try:
            for fields in requests:
                staged.append(
                    self._stage(fields["source"], fields.get("filename"), progress, sync=False)
                )
            self._blobs.sync_all()
            assets = [
                self._uploaded_record(
                    stage,
                    f["name"],
                    f["version"],
                    f["tag"],
                    f.get("metadata"),
                    f.get("tags"),
                    f.get("content_type"),
                )
                for stage, f in zip(staged, requests, strict=True)
            ]
            self._documents.insert_many([asset.to_document() for asset in assets])
            if assets:
                self._identity.note_records()
        except BaseException:
            for stage in staged:
                self._discard_uncommitted(stage)
            raise
        return [self._answer(asset) for asset in assets]

    def import_assets(
        self, items: Iterable[ImportItem], *, progress: Progress | None = None
    ) -> list[AssetObject]:
        """All or nothing, in one metadata commit, like :meth:`upload_many`. A file that an
        interrupted import left under the same ``asset_id`` is verified and kept, not read
        from its source again."""
        items = import_items(items)
        records = [
            imported_record(
                item.record,
                assets_db_id=self.assets_db_id,
                download_url=lambda asset_id: "",  # computed when answering: see _answer
            )
            for item in items
        ]
        self._refuse_taken(record.asset_uri for record in records)
        self._refuse_taken_ids([record.asset_id for record in records])
        now = utc_now()
        written: list[str] = []
        try:
            for item, record in zip(items, records, strict=True):
                record.created_at = record.created_at or now
                record.updated_at = record.updated_at or now
                if (item.source is None) != (record.asset_source != "upload"):
                    raise InvalidInputError(
                        f"{record.asset_uri}: an uploaded asset is imported with its file, "
                        "an external one without"
                    )
                if item.source is not None:
                    key = blob_key(record.asset_id)
                    if write_imported_file(self._blobs, key, item.source, record, progress):
                        written.append(record.asset_id)
            self._blobs.sync_all()
            self._documents.insert_many([record.to_document() for record in records])
        except BaseException:
            for asset_id in written:
                self._discard_uncommitted(StagedFile(asset_id, 0, "", ""))
            raise
        return [self._answer(record) for record in records]

    def _refuse_taken_ids(self, asset_ids: list[str]) -> None:
        if len(set(asset_ids)) != len(asset_ids):
            raise AlreadyExistsError("an import gives the same asset_id twice")
        taken = self._documents.find({"asset_id": {"$in": asset_ids}}, limit=1, shared=True)
        if taken:
            raise AlreadyExistsError(
                f"asset_id {taken[0]['asset_id']!r} is already {taken[0]['asset_uri']!r}'s"
            )

    def register(self, asset: AssetObject | Mapping[str, Any]) -> AssetObject:
        record = self._external_record(asset)
        self._documents.insert(record.to_document())
        self._identity.note_records()
        return record

    def register_many(self, assets: Iterable[AssetObject | Mapping[str, Any]]) -> list[AssetObject]:
        """All or nothing, in one metadata commit."""
        with gc_paused():  # a large batch makes records faster than collections walk them
            return self._register_many(assets)

    def _register_many(
        self, assets: Iterable[AssetObject | Mapping[str, Any]]
    ) -> list[AssetObject]:
        records = [self._external_record(asset) for asset in assets]
        self._refuse_taken(record.asset_uri for record in records)
        self._documents.insert_many([record.to_document() for record in records])
        if records:
            self._identity.note_records()
        return records

    def _refuse_taken(self, uris: Iterable[str]) -> None:
        """Fail early (before any upload) on a URI given twice or already in the store."""
        seen: dict[str, None] = {}
        for uri in uris:
            if uri in seen:
                raise AlreadyExistsError(f"asset {uri!r} is given twice")
            seen[uri] = None
        given = list(seen)
        for start in range(0, len(given), _LOOKUP_BATCH):  # one query per batch, not per URI
            batch = given[start : start + _LOOKUP_BATCH]
            taken = self._documents.find({"asset_uri": {"$in": batch}}, limit=1, shared=True)
            if taken:
                raise AlreadyExistsError(f"asset {taken[0]['asset_uri']!r} already exists")

    def _external_record(self, asset: AssetObject | Mapping[str, Any]) -> AssetObject:
        fields = _as_dict(asset)
        given_uri = fields.get("asset_uri") or ""
        try:
            parsed = AssetObject.model_validate(fields)
        except ValidationError as exc:
            raise InvalidInputError(describe(exc)) from None
        uri = build_uri(parsed.asset_name, parsed.version, parsed.tag)
        if given_uri and given_uri != uri:
            raise InvalidInputError(
                f"asset_uri {given_uri!r} does not match name:version-tag {uri!r}; "
                "leave it out, the store computes it"
            )
        now = utc_now()
        return parsed.model_copy(
            update={
                "asset_uri": uri,
                "asset_id": uuid.uuid4().hex,
                "assets_db_id": self.assets_db_id,
                "asset_metadata": check_json_object(parsed.asset_metadata, "asset_metadata"),
                "asset_tags": check_tags(parsed.asset_tags, "asset_tags"),
                "asset_file_info": check_json_object(parsed.asset_file_info, "asset_file_info"),
                "asset_public_url": check_url_field(
                    parsed.asset_public_url, "asset_public_url", schemes=ASSET_URL_SCHEMES
                ),
                "asset_source": "external",
                "created_at": now,
                "updated_at": now,
                "revision": 1,
            }
        )

    def _download_url(self, asset_id: str) -> str:
        """Where an uploaded file is downloaded from, by the configuration of now. Only
        shown, never opened: the id is not checked here (:func:`blob_key` does that)."""
        if self.public_url:
            return f"{self.public_url}/asset-object/{asset_id}"
        return self._blobs.public_url(f"{OBJECTS_PREFIX}{asset_id[:2]}/{asset_id}")

    def _answer(self, asset: AssetObject) -> AssetObject:
        """``asset`` as the store shows it: an uploaded file's ``asset_public_url`` computed
        now (whatever an older version stored there)."""
        if asset.asset_source == "upload":
            # Straight into the model's fields (no validation to run): this is per result.
            asset.__dict__["asset_public_url"] = self._download_url(asset.asset_id)
        return asset

    # ------------------------------------------------------------------- read
    def get(self, uri: str) -> AssetObject:
        doc = self._documents.get(uri) if isinstance(uri, str) else None
        if doc is None:
            raise AssetNotFoundError(f"no asset {uri!r}")
        return self._answer(load_record(AssetObject, doc, self._documents))

    def get_by_id(self, asset_id: str) -> AssetObject:
        doc = self._documents.find_one("asset_id", asset_id) if isinstance(asset_id, str) else None
        if doc is None:
            raise AssetNotFoundError(f"no asset with asset_id {asset_id!r}")
        return self._answer(load_record(AssetObject, doc, self._documents))

    def query(
        self,
        filter: Filter | None = None,
        *,
        sort: Sort | None = None,
        skip: int = 0,
        limit: int | None = None,
        all_stores: bool = False,
    ) -> list[AssetObject]:
        docs = self._documents.find(
            _hide_computed_fields(filter, sort),
            sort=sort,
            skip=skip,
            limit=limit,
            all_scopes=all_stores,
            shared=True,
        )
        return [self._answer(asset_from_document(doc, self._documents)) for doc in docs]

    def iter_query(
        self,
        filter: Filter | None = None,
        *,
        sort: Sort | None = None,
        all_stores: bool = False,
    ) -> Iterator[AssetObject]:
        docs = self._documents.iter_find(
            _hide_computed_fields(filter, sort), sort=sort, all_scopes=all_stores
        )
        return (self._answer(asset_from_document(doc, self._documents)) for doc in docs)

    def iter_documents(
        self, filter: Filter | None = None, *, sort: Sort | None = None
    ) -> Iterator[dict[str, Any]]:
        """The documents as the backend holds them (shared: not to be changed), an uploaded
        file's ``asset_public_url`` computed now, as :meth:`get` gives it."""
        docs = self._documents.iter_find(_hide_computed_fields(filter, sort), sort=sort)
        return (
            {**doc, "asset_public_url": self._download_url(doc["asset_id"])}
            if doc.get("asset_source") == "upload"
            else doc
            for doc in docs
        )

    def count(self, filter: Filter | None = None, *, all_stores: bool = False) -> int:
        return self._documents.count(_hide_computed_fields(filter, None), all_scopes=all_stores)

    def resolve(self, name: str, spec: str = "latest", *, tag: str | None = None) -> AssetObject:
        filter: dict[str, Any] = {"asset_name": name}
        if tag is not None:
            filter["asset_version.tag"] = tag
        docs = self._documents.find(filter)
        chosen = versions.select((d["asset_version"]["version"] for d in docs), spec)
        if chosen is None:
            where = f" with tag {tag!r}" if tag is not None else ""
            raise AssetNotFoundError(f"no version of {name!r}{where} matches {spec!r}")
        candidates = [d for d in docs if d["asset_version"]["version"] == chosen]
        chosen_doc = max(candidates, key=lambda d: str(d.get("created_at", "")))
        return self._answer(load_record(AssetObject, chosen_doc, self._documents))

    # ------------------------------------------------------------------ files
    def open(self, uri: str, *, start: int = 0, end: int | None = None) -> BinaryIO:
        return self.open_asset(self.get(uri), start=start, end=end)

    def open_asset(self, asset: AssetObject, *, start: int = 0, end: int | None = None) -> BinaryIO:
        require_stored_file(asset)
        uri = asset.asset_uri
        key = blob_key(asset.asset_id)
        size = self._blobs.size(key)
        if size is None:
            raise self._file_gone(asset, key)
        if size != asset.file_size:
            raise IntegrityError(
                f"{uri}: stored file has {size} bytes, {asset.file_size} were published"
            )
        end = check_range(start, end, size)
        try:
            raw = self._blobs.open(key, start, None if end == size else end)
        except FileNotFoundError:
            raise self._file_gone(asset, key) from None
        reader = MissingAware(raw, lambda: self._file_gone(asset, key))
        if start == 0 and end == size:
            return VerifyingReader(reader, size=size, sha256=asset.sha256 or "", label=uri)  # type: ignore[return-value]
        return reader  # type: ignore[return-value]

    def _file_gone(self, asset: AssetObject, key: str) -> AssetStoreError:
        """The error for an asset's file that is not there: if its record is gone too, the
        asset was deleted meanwhile (a read racing a delete: not found); else the file is
        missing (damage)."""
        if self._documents.find_one("asset_id", asset.asset_id) is None:
            return AssetNotFoundError(f"asset {asset.asset_uri!r} was deleted")
        return IntegrityError(f"{asset.asset_uri}: stored file {key} is missing")

    # ---------------------------------------------------------------- changes
    def update(
        self,
        uri: str,
        changes: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
    ) -> AssetObject:
        if not isinstance(changes, Mapping):
            raise InvalidInputError("changes must be a JSON object of fields to set")

        def change(current: AssetObject) -> dict[str, Any]:
            given = changes
            if current.asset_source == "upload" and changes.get(
                "asset_public_url"
            ) == self._download_url(current.asset_id):
                # The URL this store showed counts as unchanged.
                given = {**changes, "asset_public_url": current.asset_public_url}
            return _apply_changes(current, given)

        return self._answer(
            update_document(
                self._documents,
                uri,
                change,
                model=AssetObject,
                expected_revision=expected_revision,
                not_found=lambda: AssetNotFoundError(f"no asset {uri!r}"),
            )
        )

    def delete(self, uri: str, *, expected_revision: int | None = None) -> None:
        current = self._documents.get(uri) if isinstance(uri, str) else None
        if current is not None and current.get("asset_source") == "upload":
            blob_key(current.get("asset_id"))  # a damaged record: refuse before any change
        raw = delete_document(
            self._documents,
            uri,
            expected_revision=expected_revision,
            not_found=lambda: AssetNotFoundError(f"no asset {uri!r}"),
        )
        if raw.get("asset_source") == "upload":
            key = blob_key(raw["asset_id"])
            try:
                self._blobs.delete(key)
            except OSError as exc:
                # The delete is committed (its record is gone): say so, and leave the file
                # to gc rather than fail a call whose effect has happened.
                _log.warning("deleted %s; its file %s stays for gc: %s", uri, key, exc)

    # ------------------------------------------------------------ maintenance
    def create_index(self, field: str) -> None:
        self._documents.create_index(check_index_path(field))

    def fsck(self, *, verify_checksums: bool = True) -> FsckReport:
        return self._maintenance.fsck(verify_checksums=verify_checksums)

    def gc(self, *, older_than: float = 3600.0, quarantine: bool = False) -> GcReport:
        return self._maintenance.gc(older_than=older_than, quarantine=quarantine)

    def close(self) -> None:
        self._documents.close()
        self._blobs.close()


def asset_from_document(doc: Mapping[str, Any], where: object = "the store") -> AssetObject:
    """An AssetObject owning all its values, from a document that may be shared
    (:class:`DamageError` naming ``where`` if it does not validate)."""
    try:
        return AssetObject.from_stored(doc)
    except ValidationError as exc:
        raise damaged_record(doc, where, exc) from None


def _as_dict(asset: AssetObject | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(asset, AssetObject):
        return asset.model_dump()
    if isinstance(asset, Mapping):
        return dict(asset)
    raise InvalidInputError("an asset must be an AssetObject or a JSON object")


def _apply_changes(current: AssetObject, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The document after ``changes``; refuses identity fields and unknown fields."""
    doc = current.to_document()
    allowed = set(ASSET_MUTABLE_FIELDS)
    if current.asset_source == "external":
        allowed |= ASSET_EXTERNAL_MUTABLE_FIELDS
    for field, value in changes.items():
        if field in ASSET_IDENTITY_FIELDS or field in ASSET_EXTERNAL_MUTABLE_FIELDS:
            if field not in allowed and value != doc.get(field):
                raise ReadOnlyFieldError(
                    f"{field} of {current.asset_uri!r} cannot be changed"
                    + (
                        "; upload a new version instead"
                        if field in ASSET_IDENTITY_FIELDS
                        else " on an uploaded asset"
                    )
                )
            if field not in allowed:
                continue
        elif field not in allowed:
            raise InvalidInputError(f"unknown field {field!r}; an update may set {sorted(allowed)}")
        if field in ("asset_metadata", "asset_file_info"):
            doc[field] = check_json_object(value, field)
        elif field == "asset_tags":
            doc[field] = check_tags(value, field)
        elif field == "asset_public_url":
            doc[field] = check_url_field(value, field, schemes=ASSET_URL_SCHEMES)
    return doc


def _hide_computed_fields(filter: Filter | None, sort: Sort | None) -> Filter | None:
    """``filter``, restricted to external assets if it or ``sort`` names a field the store
    computes for uploaded assets (:data:`COMPUTED_FIELDS`). Such a field's stored value is
    nothing a client should learn; records of older versions may even hold a local path
    there, which ``$regex`` probes could otherwise read back a character at a time."""
    if not isinstance(filter, Mapping) and filter is not None:
        return filter  # not a filter: the engine says what is wrong with it
    if not (_filter_names_computed(filter or {}) or _sort_names_computed(sort)):
        return filter
    return {"$and": [filter or {}, {"asset_source": {"$ne": "upload"}}]}


def _is_computed(path: Any) -> bool:
    return isinstance(path, str) and any(
        path == field or path.startswith(f"{field}.") for field in COMPUTED_FIELDS
    )


def _filter_names_computed(filter: Mapping[str, Any]) -> bool:
    """Whether a field path of ``filter`` (at the top level or in ``$and``/``$or``/``$nor``)
    is a computed field. Iterative: a deeply nested filter costs no recursion."""
    stack: list[Any] = [filter]
    while stack:
        doc = stack.pop()
        if not isinstance(doc, Mapping):
            continue
        for key, value in doc.items():
            if key in ("$and", "$or", "$nor") and isinstance(value, list):
                stack.extend(value)
            elif _is_computed(key):
                return True
    return False


def _sort_names_computed(sort: Sort | None) -> bool:
    if sort is None:
        return False
    if isinstance(sort, Mapping):
        return any(_is_computed(field) for field in sort)
    if isinstance(sort, str):
        return _is_computed(sort)
    return any(
        _is_computed(item[0] if isinstance(item, (list, tuple)) and item else item) for item in sort
    )


__all__ = ["IDENTITY_KEY", "OBJECTS_PREFIX", "Store", "blob_key", "store_identity"]
