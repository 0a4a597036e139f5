"""The backend ports: what a blob store and a document store implement.

Backends only do I/O. URIs, validation, versions, query semantics, the publish protocol and
checksums live once in the core (``assetstore._store``, ``assetstore._registry``), so
backends cannot drift apart. A third party adds a storage scheme by implementing one of these
ports and registering it in :mod:`assetstore.schemes`; the core's publish protocol then works
on it unchanged. :mod:`assetstore.testing` has a conformance suite for each port.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from assetstore.models import Filter, Sort


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob as listed by :meth:`BlobStore.list_blobs`."""

    key: str
    size: int
    modified: float  # POSIX timestamp


class ResumableWrite(ABC):
    """A write of one blob that outlives the process making it (see
    :meth:`BlobStore.resume_write`): what it wrote stays, invisible, until :meth:`commit` or
    :meth:`abort`, and a later attempt continues after it.

    An interrupted write is continued by whoever asks for the same key next: the caller
    checks the kept bytes (with :meth:`kept`, or :meth:`check_kept` where they cannot be read
    back) before it appends the rest."""

    #: Bytes kept from an earlier attempt: the next :meth:`append` continues after them.
    offset: int = 0

    def kept(self) -> Iterator[bytes] | None:
        """The kept bytes read back, to hash them again; None where they cannot be read
        before the write is committed (the caller then gives them to :meth:`check_kept`)."""
        return None

    def check_kept(self, chunks: Iterable[bytes]) -> bool:
        """Whether ``chunks``, the first :attr:`offset` bytes of the source read again, are
        what was kept (False: :meth:`abort` and start over). Consumes the chunks."""
        for _ in chunks:
            pass
        return False

    @abstractmethod
    def append(self, chunks: Iterable[bytes]) -> None:
        """Write the chunks after what is kept. On an error, what was written so far stays
        for a later attempt (unless :meth:`abort` is called)."""

    @abstractmethod
    def commit(self, *, sync: bool = True) -> int:
        """Make the bytes written the blob under the key (``AlreadyExistsError`` if it is
        taken) and return its size; ``sync`` as for :meth:`BlobStore.write`."""

    @abstractmethod
    def abort(self) -> None:
        """Discard everything written, now and by earlier attempts."""

    def close(self) -> None:  # noqa: B027 - stores that hold nothing between calls
        """Stop writing, keeping what was written for a later attempt."""


class BlobStore(ABC):
    """Port: immutable byte blobs under ``/``-separated keys.

    Keys are made by the core (``objects/ab/<asset_id>``); backends never parse them.
    """

    #: The location as a URL (``file:///srv/assets``, ``s3://bucket/prefix``).
    url: str

    @classmethod
    def from_url(cls, url: str, **options: Any) -> BlobStore:
        """The blob store at ``url`` (what :mod:`assetstore.schemes` calls for a scheme
        registered to this class); ``options`` are the keyword arguments ``open_store``
        was given for the blobs."""
        raise NotImplementedError(f"{cls.__name__} cannot be opened from a URL")

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

    def resume_write(self, key: str) -> ResumableWrite | None:
        """A write of ``key`` that a later process can continue if this one is interrupted
        (it continues the one an earlier process left, if any); None where writes cannot
        be resumed (the default: an interrupted :meth:`write` starts over)."""
        return None

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
    def list_blobs(self, prefix: str) -> Iterator[BlobInfo]:
        """Every complete blob whose key starts with ``prefix``."""

    @abstractmethod
    def remove_incomplete(self, older_than: float) -> list[str]:
        """Remove writes abandoned for more than ``older_than`` seconds (temp files,
        pending multipart uploads); return what was removed."""

    def move(self, key: str, new_key: str) -> None:
        """Move a blob to ``new_key`` (``gc``'s quarantine): the new copy is whole before
        the old one is removed. Stores that can rename override this copy and delete."""
        with self.open(key) as reader:
            self.write(new_key, iter(lambda: reader.read(1 << 20), b""), overwrite=False)
        self.delete(key)

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

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        table: str,
        key_field: str,
        default_file: str,
        scope: Mapping[str, str] | None = None,
        **options: Any,
    ) -> DocumentStore:
        """The collection ``table`` at ``url``, keyed by ``key_field`` (what
        :mod:`assetstore.schemes` calls for a scheme registered to this class).
        ``default_file`` names the file to use when ``url`` is a directory; ``scope``
        (``{"assets_db_id": ...}``) separates stores that share one collection and must be
        stamped on and matched by every document of a shared store."""
        raise NotImplementedError(f"{cls.__name__} cannot be opened from a URL")

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

    def iter_find(
        self,
        filter: Filter | None = None,
        *,
        sort: Sort | None = None,
        all_scopes: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """:meth:`find` as an iterator of shared documents (the caller does not mutate
        them). The filter is checked before this returns. A backend that can stream its
        results (a database cursor) overrides this, so that memory stays constant."""
        return iter(self.find(filter, sort=sort, all_scopes=all_scopes, shared=True))

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

    def create_index(self, field: str) -> None:  # noqa: B027 - backends without indexes
        """Index ``field`` (a dot path) for queries, and keep the declaration with the data,
        so every process that opens it uses the index. Idempotent. A backend without
        indexes answers the same queries by scanning; this default does nothing."""

    def indexes(self) -> list[str]:
        """The fields this store keeps indexes on (the unique key is always indexed)."""
        return []

    def has_history(self) -> bool | None:
        """Whether changes were ever recorded here (a collection whose records were all
        deleted has a history; one that was lost or never used has none); None when the
        backend cannot tell. ``gc`` trusts an empty collection only if it has a history."""
        return None

    def check(self) -> list[str]:
        """Damage to the backend's own storage (a file failing its checksum, a damaged
        journal record...), one line each, for ``fsck``; reads raise ``DamageError`` on the
        first of them. Backends that keep no files of their own have none."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files and connections."""


__all__ = ["BlobInfo", "BlobStore", "DocumentStore", "ResumableWrite"]
