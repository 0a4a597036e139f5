"""The written contract: the public ``AssetStore`` and ``Registry``, and the two ports.

``AssetStore`` and ``Registry`` are what users program against; the in-process store, the
S3 + MongoDB store and the HTTP client all implement them, and the conformance suites in
:mod:`assetstore.testing` hold every implementation to the same behaviour.

``BlobStore`` and ``DocumentStore`` are the ports backends implement. They only do I/O:
URIs, validation, versions, query semantics, the publish protocol and checksums live once in
the core (:mod:`assetstore._store`, :mod:`assetstore._registry`), so backends cannot drift apart.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from assetstore.errors import InvalidInputError
from assetstore.models import (
    AssetObject,
    AssetsDBRegistry,
    FsckReport,
    GcReport,
    HealthReport,
)
from assetstore._streams import CHUNK_SIZE, Digest, open_source

if TYPE_CHECKING:
    from assetstore._federation import SearchResult

#: A filter in MongoDB's find syntax, e.g. ``{"asset_tags": {"$in": ["image"]}}``.
Filter = Mapping[str, Any]
#: A sort specification: ``[("asset_version.version", -1)]`` or ``{"created_at": 1}``.
Sort = Sequence[tuple[str, int]] | Mapping[str, int]
#: What ``upload`` accepts: a file path, the bytes themselves, or a binary file object
#: (read in chunks, never whole).
Source = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]
#: Called with the number of bytes just transferred.
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Upload:
    """One item of :meth:`AssetStore.upload_many`."""

    source: Source
    name: str
    version: str
    tag: str
    metadata: Mapping[str, Any] | None = None
    tags: Sequence[str] | None = None
    filename: str | None = None
    content_type: str | None = None

    @classmethod
    def fields_of(cls, item: Upload | Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments of ``upload`` that ``item`` stands for."""
        if isinstance(item, Upload):
            return {field: getattr(item, field) for field in cls.__dataclass_fields__}
        if isinstance(item, Mapping):
            unknown = set(item) - set(cls.__dataclass_fields__)
            if unknown:
                raise InvalidInputError(f"unknown upload fields {sorted(unknown)}")
            return dict(item)
        raise InvalidInputError("each upload must be an Upload or a mapping of its fields")


@dataclass(frozen=True)
class StagedFile:
    """A file written by :meth:`AssetStore.stage` and not yet published: invisible to every
    read and query, and removed by ``gc`` if it is never published."""

    staging_id: str
    size: int
    sha256: str
    filename: str


def require_stored_file(asset: AssetObject) -> None:
    """``InvalidInputError`` unless the store holds the asset's file (not an external one)."""
    if asset.asset_source != "upload":
        raise InvalidInputError(
            f"asset {asset.asset_uri!r} is external: its file is at "
            f"{asset.asset_public_url or '(no URL)'}"
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

    def stage(
        self, source: Source, *, filename: str | None = None, progress: Progress | None = None
    ) -> StagedFile:
        """First half of an upload whose name is not known yet (an HTTP form may send the
        file before its metadata): stream the file in and hash it. Finish with
        :meth:`publish` or :meth:`discard`.

        This default spools to a temporary file; stores override it to write straight to
        their blob storage."""
        digest = Digest(progress)
        with (
            open_source(source) as (chunks, source_name),
            tempfile.NamedTemporaryFile(prefix="assetstore-stage-", delete=False) as spool,
        ):
            try:
                for chunk in digest.wrap(chunks):
                    spool.write(chunk)
            except BaseException:
                os.unlink(spool.name)
                raise
        return StagedFile(
            spool.name,
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
        """Second half: make a staged file the asset ``name:version-tag``, with the same
        checks and errors as :meth:`upload`. On any error the staged file is discarded."""
        try:
            return self.upload(
                staged.staging_id,
                name=name,
                version=version,
                tag=tag,
                metadata=metadata,
                tags=tags,
                filename=staged.filename or None,
                content_type=content_type,
            )
        finally:
            self.discard(staged)

    def discard(self, staged: StagedFile) -> None:
        """Throw away a staged file that will not be published."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged.staging_id)

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

    def read_bytes(self, uri: str) -> bytes:
        """The whole file, verified before it is returned (for small files)."""
        with self.open(uri) as reader:
            return reader.read()

    def download(
        self,
        uri: str,
        dest: str | os.PathLike[str],
        *,
        progress: Progress | None = None,
    ) -> Path:
        """Write the file to ``dest`` (a file path, or a directory to put the original file
        name in), verified against its sha256 before it appears there. Returns the path."""
        asset = self.get(uri)
        target = Path(dest)
        if target.is_dir():
            name = os.path.basename(str(asset.asset_file_info.get("filename") or ""))
            if name in (".", "..") or "\x00" in name:  # the directory itself, or no path
                name = ""
            target = target / (name or asset.asset_id)
        fd, tmp_name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
        try:
            buffer = memoryview(bytearray(CHUNK_SIZE))
            with os.fdopen(fd, "wb") as out, self.open_asset(asset) as reader:
                while count := reader.readinto(buffer):
                    out.write(buffer[:count])
                    if progress is not None:
                        progress(count)
            os.replace(tmp_name, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
        return target

    @abstractmethod
    def resolve(self, name: str, spec: str = "latest", *, tag: str | None = None) -> AssetObject:
        """The asset of ``name`` whose version is the highest matching ``spec``.

        ``spec`` is ``"latest"``, an exact version, or a range such as ``">=1.2,<2"`` or
        ``"^1.2"`` (see :mod:`assetstore.versions`); ``tag`` restricts to one tag. Among
        several tags of the chosen version, the most recently created wins.
        """

    @abstractmethod
    def fsck(self, *, verify_checksums: bool = True) -> FsckReport:
        """Check every stored file exists (and, by default, matches its sha256)."""

    @abstractmethod
    def gc(self, *, older_than: float = 3600.0) -> GcReport:
        """Remove stored files no asset refers to, and abandoned partial uploads, that are
        older than ``older_than`` seconds (the grace period protects uploads in flight)."""

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

    def count(self, filter: Filter | None = None) -> int:
        """How many entries match ``filter`` (a registry that can count without listing
        them overrides this)."""
        return len(self.query(filter))

    @abstractmethod
    def check_health(self, registry_id: str) -> HealthReport:
        """Call the entry's ``{public_url}/health`` with short timeouts and report."""

    def search_assets(
        self,
        filter: Filter | None,
        registries: Filter | Sequence[str] | None = None,
        *,
        sort: Sort | None = None,
        limit: int | None = None,
        timeout: float = 5.0,
    ) -> SearchResult:
        """Federated search: send the asset ``filter`` to every registered store matching
        ``registries`` (None: all; a list of ids; or a registry filter) in parallel, through
        each store's public URL, and merge the results with each store's status. Stores that
        fail are reported, not raised; outbound calls obey the health-check address policy.
        See :mod:`assetstore._federation`."""
        from assetstore._federation import search_assets

        return search_assets(self, filter, registries, sort=sort, limit=limit, timeout=timeout)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files and connections."""

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob as listed by :meth:`BlobStore.list`."""

    key: str
    size: int
    modified: float  # POSIX timestamp


class BlobStore(ABC):
    """Port: immutable byte blobs under ``/``-separated keys.

    Keys are made by the core (``objects/ab/<asset_id>``); backends never parse them.
    """

    #: The location as a URL (``file:///srv/assets``, ``s3://bucket/prefix``).
    url: str

    @abstractmethod
    def write(
        self, key: str, chunks: Iterable[bytes], *, overwrite: bool = True, sync: bool = True
    ) -> int:
        """Store the concatenated chunks under ``key`` and return the size.

        Atomic: the blob under ``key`` is absent or whole, never partial, whatever happens
        while the chunks are consumed (an exception from the iterable aborts the write and
        leaves nothing behind). With ``overwrite=False`` an existing blob is kept and
        ``AlreadyExistsError`` is raised. With ``sync=False`` the blob may not survive a
        machine crash until :meth:`sync_all` (for batches: one flush instead of many)."""

    def sync_all(self) -> None:  # noqa: B027 - stores whose writes are always durable
        """Make every blob written so far durable (after writes with ``sync=False``)."""

    @abstractmethod
    def open(self, key: str, start: int = 0, end: int | None = None) -> BinaryIO:
        """A reader of bytes ``[start, end)``; ``FileNotFoundError`` if absent."""

    @abstractmethod
    def size(self, key: str) -> int | None:
        """The blob's size, or None if it does not exist."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the blob; a missing blob is not an error."""

    @abstractmethod
    def list(self, prefix: str) -> Iterator[BlobInfo]:
        """Every complete blob whose key starts with ``prefix``."""

    @abstractmethod
    def remove_incomplete(self, older_than: float) -> list[str]:
        """Remove writes abandoned for more than ``older_than`` seconds (temp files,
        pending multipart uploads); return what was removed."""

    def public_url(self, key: str) -> str:
        """A URL that addresses the blob directly."""
        return f"{self.url.rstrip('/')}/{key}"

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class DocumentStore(ABC):
    """Port: one collection of JSON documents with a unique string key field.

    Documents are plain JSON-compatible dicts. Documents passed in become the backend's;
    documents returned belong to the caller (backends return copies).
    """

    #: The unique key field: ``asset_uri`` or ``asset_registry_id``.
    key_field: str

    @abstractmethod
    def insert(self, doc: Mapping[str, Any]) -> None:
        """Add a document; ``AlreadyExistsError`` if its key is taken. This is the commit
        point of a publish: it either happens whole or not at all."""

    @abstractmethod
    def insert_many(self, docs: Sequence[Mapping[str, Any]]) -> None:
        """Add several documents at once, all or none; ``AlreadyExistsError`` (naming the
        first taken key) if any key is taken or repeated."""

    @abstractmethod
    def get(self, key: str) -> dict[str, Any] | None:
        """The document with this key, or None."""

    @abstractmethod
    def find_one(self, field: str, value: str) -> dict[str, Any] | None:
        """A document whose top-level ``field`` equals ``value`` (used for ``asset_id``)."""

    @abstractmethod
    def find(
        self,
        filter: Filter | None = None,
        *,
        sort: Sort | None = None,
        skip: int = 0,
        limit: int | None = None,
        all_scopes: bool = False,
        shared: bool = False,
    ) -> list[dict[str, Any]]:
        """Documents matching a filter (``InvalidQueryError`` if it is malformed).

        ``all_scopes`` searches every store sharing the collection (see global mode). With
        ``shared`` the caller promises not to mutate the documents, and a backend may return
        its own instead of copies."""

    @abstractmethod
    def count(self, filter: Filter | None = None, *, all_scopes: bool = False) -> int:
        """How many documents match ``filter``."""

    @abstractmethod
    def replace(self, key: str, doc: Mapping[str, Any], *, expected_revision: int) -> bool:
        """Replace the document if its ``revision`` is still ``expected_revision``.

        Returns False (and changes nothing) if the revision differs or the document is gone.
        Never inserts."""

    @abstractmethod
    def delete(self, key: str, *, expected_revision: int | None = None) -> bool:
        """Remove the document (only at ``expected_revision`` if given); False if it was
        absent or at another revision."""

    def remove_incomplete(self, older_than: float) -> list[str]:
        """Remove leftovers of writes abandoned more than ``older_than`` seconds ago (a
        crashed writer's temp files); return what was removed. Most backends have none."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files and connections."""
