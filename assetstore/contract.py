"""The user contract: :class:`AssetStore` and :class:`Registry`.

These are what users program against. The in-process store, the S3 + MongoDB store and the
HTTP client all implement them, and the conformance suites in :mod:`assetstore.testing` hold
every implementation to the same behaviour. This module imports only the data model and the
errors; the implementations live in the core (``assetstore._store``, ``assetstore._registry``)
and in :mod:`assetstore.http.client`.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from assetstore.errors import NotSupportedError
from assetstore.models import (
    AssetObject,
    AssetsDBRegistry,
    Filter,
    FsckReport,
    GcReport,
    HealthReport,
    ImportItem,
    Progress,
    SearchResult,
    Sort,
    Source,
    StagedFile,
    Upload,
)


class AssetStore(ABC):
    """A store of versioned assets: files (or external URLs) with metadata, tags and versions.

    Every asset is identified by its URI ``name:version-tag`` (see :mod:`assetstore.uri`),
    unique in the store, and by an ``asset_id`` assigned by the store.

    Guarantees every implementation gives:

    * ``upload`` is atomic: the asset is visible with its whole file or not at all. A failure
      at any point (bad input, a taken URI, an I/O error, a crash) leaves no metadata;
      it can leave only an orphan file, which ``gc`` removes.
    * Reads are verified: ``download`` and ``read_bytes`` check size and sha256 before
      handing over any byte; ``open`` checks the size at once and the sha256 when the
      stream reaches its end, raising :class:`~assetstore.errors.IntegrityError`.
    * ``update`` never creates, never renames, and with ``expected_revision`` never
      overwrites a change it has not seen (compare-and-swap).
    * Errors are :class:`~assetstore.errors.AssetStoreError` subclasses that are also the
      natural built-in (``LookupError`` for a missing asset, ``ValueError`` for bad input).
    """

    #: The id of this store, written into every asset's ``assets_db_id``.
    assets_db_id: str

    @abstractmethod
    def upload(
        self,
        source: Source,
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
        """Store a file as asset ``name:version-tag`` and return it.

        The file is streamed (constant memory) while its size and sha256 are computed.
        Raises ``InvalidNameError`` for a missing or malformed name/version/tag,
        ``AlreadyExistsError`` if the URI is taken, ``InvalidInputError`` for metadata that
        is not a JSON object or tags that are not strings.
        """

    @abstractmethod
    def stage(
        self, source: Source, *, filename: str | None = None, progress: Progress | None = None
    ) -> StagedFile:
        """First half of an upload whose name is not known yet (an HTTP form may send the
        file before its metadata): stream the file in and hash it. Finish with
        :meth:`publish` or :meth:`discard`. A staged file is invisible to every read and
        query, and ``gc`` removes it if it is never published."""

    @abstractmethod
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
        """Second half: make a staged file the asset ``name:version-tag``, with the same
        checks and errors as :meth:`upload`. On any error the staged file is discarded."""

    @abstractmethod
    def discard(self, staged: StagedFile) -> None:
        """Throw away a staged file that will not be published."""

    def upload_many(
        self, items: Iterable[Upload | Mapping[str, Any]], *, progress: Progress | None = None
    ) -> list[AssetObject]:
        """Upload many files; each item gives ``source``, ``name``, ``version``, ``tag`` and
        optionally ``metadata``, ``tags``, ``filename``, ``content_type``.

        Stores that can (the in-process and S3 + MongoDB stores) do it all or nothing, in
        one metadata commit; this default uploads one by one and stops at the first error."""
        return [self.upload(**Upload.fields_of(item), progress=progress) for item in items]

    def register_many(self, assets: Iterable[AssetObject | Mapping[str, Any]]) -> list[AssetObject]:
        """Register many external assets (all or nothing where the store can; see
        :meth:`upload_many`)."""
        return [self.register(asset) for asset in assets]

    def import_assets(
        self, items: Iterable[ImportItem], *, progress: Progress | None = None
    ) -> list[AssetObject]:
        """Publish assets copied from another store, keeping their identity: URI, name,
        version, tag, ``asset_id``, metadata, tags, file info (sha256 included),
        ``created_at``, ``updated_at`` and ``asset_origin`` are the record's; ``assets_db_id``,
        ``asset_public_url`` of a stored file and ``revision`` (1) are this store's.

        Each file is read from its item's ``source`` and checked against the record's size
        and sha256 before anything is published (``ChecksumMismatchError`` otherwise). All or
        nothing: ``AlreadyExistsError`` if a URI or an ``asset_id`` is taken (or given
        twice), and then nothing is read. A store that keeps part of an interrupted large
        file may ask a callable ``source`` for the rest only.

        This default raises ``NotSupportedError``: a store must implement it to be
        a destination of :func:`assetstore.sync`."""
        raise NotSupportedError(f"{type(self).__name__} cannot import assets with their identity")

    @abstractmethod
    def register(self, asset: AssetObject | Mapping[str, Any]) -> AssetObject:
        """Record an external asset (its file lives at its own ``asset_public_url``).

        ``asset_name`` and ``asset_version`` (``version`` and ``tag``) are required; the store
        assigns ``asset_uri``, ``asset_id``, ``assets_db_id`` and the timestamps.
        """

    @abstractmethod
    def get(self, uri: str) -> AssetObject:
        """The asset with this URI; ``AssetNotFoundError`` if there is none."""

    @abstractmethod
    def get_by_id(self, asset_id: str) -> AssetObject:
        """The asset with this ``asset_id``; ``AssetNotFoundError`` if there is none."""

    @abstractmethod
    def update(
        self,
        uri: str,
        changes: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
    ) -> AssetObject:
        """Change an asset's ``asset_metadata`` and/or ``asset_tags`` and return it.

        External assets may also change ``asset_public_url`` and ``asset_file_info``.
        Identity fields (name, version, URI, ids, timestamps, revision) are read-only: giving
        one with its current value is allowed, a different value raises
        ``ReadOnlyFieldError``. With ``expected_revision``, the update applies only if the
        asset's ``revision`` is still that number (else ``RevisionMismatchError``). An
        update that changes nothing returns the asset unchanged (same revision).
        """

    @abstractmethod
    def delete(self, uri: str, *, expected_revision: int | None = None) -> None:
        """Delete the asset and its stored file; ``AssetNotFoundError`` if there is none."""

    @abstractmethod
    def query(
        self,
        filter: Filter | None = None,
        *,
        sort: Sort | None = None,
        skip: int = 0,
        limit: int | None = None,
        all_stores: bool = False,
    ) -> list[AssetObject]:
        """Assets matching a MongoDB-style filter (MongoDB 7.0 find semantics).

        With ``all_stores``, a store whose metadata database is shared by several stores
        ("global mode") searches every store's assets, not only its own; elsewhere it changes
        nothing. ``InvalidQueryError`` for an unknown operator, server-side code
        (``$where``...), or a filter beyond the size and depth limits.
        """

    def iter_query(
        self,
        filter: Filter | None = None,
        *,
        sort: Sort | None = None,
        all_stores: bool = False,
    ) -> Iterator[AssetObject]:
        """Every asset matching ``filter``, in ``sort`` order, one at a time: what the HTTP
        service streams and pages through. The filter is checked before this returns.

        Stores that can read their results lazily override this, so that memory stays
        constant however many assets match; this default is :meth:`query`'s list."""
        return iter(self.query(filter, sort=sort, all_stores=all_stores))

    def iter_documents(
        self, filter: Filter | None = None, *, sort: Sort | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every asset matching ``filter``, in ``sort`` order, as its JSON document (what
        ``AssetObject.to_document`` gives): for bulk readers that compare many records
        without building a model of each (:func:`assetstore.sync`). The documents may be
        the store's own: do not change them. The filter is checked before this returns.

        Stores override this when they hold documents already (the in-process store, the
        HTTP client's streamed export); this default converts :meth:`iter_query`'s assets."""
        assets = self.iter_query(filter, sort=sort)
        return (asset.to_document() for asset in assets)

    @abstractmethod
    def count(self, filter: Filter | None = None, *, all_stores: bool = False) -> int:
        """How many assets match ``filter`` (in every store sharing the database, with
        ``all_stores``; see :meth:`query`)."""

    @abstractmethod
    def open(self, uri: str, *, start: int = 0, end: int | None = None) -> BinaryIO:
        """A streaming reader of the asset's file, optionally of bytes ``[start, end)``.

        A whole-file read is verified against the stored sha256 when it reaches the end.
        ``InvalidInputError`` for an external asset (it has no stored file).
        """

    def open_asset(self, asset: AssetObject, *, start: int = 0, end: int | None = None) -> BinaryIO:
        """:meth:`open` for an asset already read (a store may then skip reading it again)."""
        return self.open(asset.asset_uri, start=start, end=end)

    def open_many(self, assets: Iterable[AssetObject]) -> Iterator[BinaryIO]:
        """Readers of the stored files of ``assets``, in order, each verified like a whole
        :meth:`open_asset`. Take each reader only after the previous one is read or closed
        (a store may send them all in one stream). Stores that can fetch many files at once
        (the HTTP client: one request per batch) override this; this default opens them one
        by one."""
        for asset in assets:
            yield self.open_asset(asset)

    def read_bytes(self, uri: str) -> bytes:
        """The whole file, verified before it is returned (for small files)."""
        with self.open(uri) as reader:
            return reader.read()

    @abstractmethod
    def download(
        self,
        uri: str,
        dest: str | os.PathLike[str],
        *,
        progress: Progress | None = None,
    ) -> Path:
        """Write the file to ``dest`` (a file path, or a directory to put the original file
        name in), verified against its sha256 before it appears there. Returns the path."""

    @abstractmethod
    def resolve(self, name: str, spec: str = "latest", *, tag: str | None = None) -> AssetObject:
        """The asset of ``name`` whose version is the highest matching ``spec``.

        ``spec`` is ``"latest"``, an exact version, or a range such as ``">=1.2,<2"`` or
        ``"^1.2"`` (see :mod:`assetstore.versions`); ``tag`` restricts to one tag. Among
        several tags of the chosen version, the most recently created wins.
        """

    @abstractmethod
    def create_index(self, field: str) -> None:
        """Keep an index on ``field`` (a dot path such as ``"asset_metadata.dataset"``), so
        queries on it look up instead of scanning, in every process that opens the store
        (as MongoDB's ``createIndex``). Idempotent; answers never change, only their speed.
        The common fields (name, tags, version, tag, asset id) are always indexed."""

    @abstractmethod
    def fsck(self, *, verify_checksums: bool = True) -> FsckReport:
        """Check every stored file exists (and, by default, matches its sha256), and list
        damage to the store's own records (``damaged``) instead of raising."""

    @abstractmethod
    def gc(self, *, older_than: float = 3600.0, quarantine: bool = False) -> GcReport:
        """Remove stored files no asset refers to, and abandoned partial uploads, that are
        older than ``older_than`` seconds (the grace period protects uploads in flight).

        While the store shows signs of damage (unreadable or malformed records, files that
        records refer to missing, no record left while files exist) gc deletes nothing and
        raises :class:`~assetstore.errors.DamageError` saying why; with ``quarantine`` it
        moves the unreferenced files to ``quarantine/<time>/`` instead of deleting them,
        damage or not. A file it cannot remove is listed in ``failed``; gc goes on."""

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing
        """Release files, connections and sockets."""

    def __enter__(self) -> AssetStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Registry(ABC):
    """A registry of asset stores (the specification's "Assets DB registry")."""

    @abstractmethod
    def register(
        self, entry: AssetsDBRegistry | Mapping[str, Any], *, check_health: bool = False
    ) -> AssetsDBRegistry:
        """Add a store. ``asset_registry_name`` and an http(s) ``asset_registry_public_url``
        are required; the id is generated unless given. With ``check_health``, the store's
        ``/health`` must answer before it is added."""

    @abstractmethod
    def get(self, registry_id: str) -> AssetsDBRegistry:
        """The entry with this id; ``RegistryNotFoundError`` if there is none."""

    @abstractmethod
    def update(
        self,
        registry_id: str,
        changes: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
    ) -> AssetsDBRegistry:
        """Change an entry's name, metadata, tags or public URL (never its id)."""

    @abstractmethod
    def delete(self, registry_id: str) -> None:
        """Remove an entry; ``RegistryNotFoundError`` if there is none."""

    @abstractmethod
    def query(
        self,
        filter: Filter | None = None,
        *,
        sort: Sort | None = None,
        skip: int = 0,
        limit: int | None = None,
    ) -> list[AssetsDBRegistry]:
        """Entries matching a MongoDB-style filter."""

    def iter_query(
        self, filter: Filter | None = None, *, sort: Sort | None = None
    ) -> Iterator[AssetsDBRegistry]:
        """Every entry matching ``filter``, in ``sort`` order, one at a time (see
        :meth:`AssetStore.iter_query`)."""
        return iter(self.query(filter, sort=sort))

    def count(self, filter: Filter | None = None) -> int:
        """How many entries match ``filter`` (a registry that can count without listing
        them overrides this)."""
        return len(self.query(filter))

    @abstractmethod
    def check_health(self, registry_id: str) -> HealthReport:
        """Call the entry's ``{public_url}/health`` with short timeouts and report."""

    @abstractmethod
    def search_assets(
        self,
        filter: Filter | None,
        registries: Filter | Sequence[str] | None = None,
        *,
        sort: Sort | None = None,
        limit: int | None = None,
        timeout: float | None = None,
    ) -> SearchResult:
        """Federated search: send the asset ``filter`` to every registered store matching
        ``registries`` (None: all; a list of ids; or a registry filter) in parallel, through
        each store's public URL, and merge the results with each store's status. Stores that
        fail are reported, not raised; outbound calls obey the health-check address policy.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files and connections."""

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


__all__ = ["AssetStore", "Registry"]
