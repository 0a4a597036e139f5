"""The sync engine: list the source page by page, plan each page against the destination,
and run the copies on ``jobs`` threads, each transfer one ``import_assets`` call (all or
nothing), so an interruption at any point leaves only whole assets at the destination.

A transfer that fails is retried (an unreachable store, three times, with a pause), then split
into single assets, so that one bad asset (a corrupt source file, a URI taken meanwhile) does
not hold back the others; each failure is reported with its asset. A URI that appeared at the
destination meanwhile is compared again: the same content is a skip, other content a
conflict. Ctrl-C (or :meth:`Engine.cancel`) stops the transfers in flight at their next read:
the destination keeps nothing partial but what a resumable write keeps for the next run.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

from pydantic import ValidationError

from assetstore._sync_plan import (
    Conflict,
    Doc,
    OnConflict,
    PagePlan,
    file_size,
    plan_page,
    transfers,
)
from assetstore._validation import describe
from assetstore.contract import AssetStore
from assetstore.errors import (
    AlreadyExistsError,
    AssetNotFoundError,
    AssetStoreError,
    BackendUnavailableError,
    InvalidInputError,
)
from assetstore.models import AssetObject, Filter, ImportItem, utc_now

#: Source records compared with the destination at once (one lookup of their URIs).
PAGE = 500
#: A destination with at most this many assets matching the filter is listed once, up
#: front (one streamed answer from a served store), instead of being asked about each page:
#: a run with nothing new then costs two listings.
INDEX_LIMIT = 20_000
#: Attempts of a transfer whose store is unreachable, and the pause before each retry.
ATTEMPTS = 3
RETRY_PAUSE = 1.0
#: The order the stores are listed in: theirs (sorting 100,000 records to compare them
#: would cost more than the comparison; nothing depends on the order).
ORDER = None


class SyncProgress(Protocol):
    """What a sync reports as it goes (called from several threads)."""

    def planned(self, assets: int, size: int) -> None:
        """More work was found: ``assets`` to copy holding ``size`` bytes."""

    def advanced(self, assets: int, size: int) -> None:
        """``size`` more bytes were read from the source, ``assets`` more were finished."""


class Cancelled(Exception):
    """Raised in a transfer's reads once the sync is cancelled."""


@dataclass
class Tally:
    """What the sync did so far (updated from every thread under ``lock``)."""

    copied: int = 0
    skipped: int = 0
    metadata_updated: int = 0
    bytes: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    metadata_differs: list[str] = field(default_factory=list)
    failed: list[tuple[str, AssetStoreError]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _CountingReader:
    """A source file's reader that counts what it reads and stops when the sync is cancelled."""

    def __init__(self, raw: BinaryIO, engine: Engine) -> None:
        self._raw = raw
        self._engine = engine

    def read(self, size: int = -1) -> bytes:
        if self._engine.cancelled.is_set():
            raise Cancelled("the sync was cancelled")
        data = self._raw.read(size)
        if data:
            self._engine.read_bytes(len(data))
        return data

    def close(self) -> None:
        self._raw.close()


class _InOrder:
    """The readers of :meth:`AssetStore.open_many`, taken in order as the destination reads
    the files (a file it does not read, because it kept it from an interrupted run, is
    skipped)."""

    def __init__(self, readers: Iterator[BinaryIO], engine: Engine) -> None:
        self._readers = readers
        self._engine = engine
        self._index = -1
        self._current: BinaryIO | None = None

    def reader(self, index: int) -> BinaryIO:
        while self._index < index:
            if self._current is not None:
                self._current.close()
            self._current = next(self._readers)
            self._index += 1
        assert self._current is not None
        return self._current

    def lazy(self, index: int) -> _LazyReader:
        return _LazyReader(self, index)

    def close(self) -> None:
        """Close the reader in use and end the stream (an answer left unread is cut)."""
        if self._current is not None:
            self._current.close()
        close = getattr(self._readers, "close", None)
        if close is not None:
            close()


class _LazyReader:
    """A file of an :class:`_InOrder`, taken at its first read."""

    def __init__(self, files: _InOrder, index: int) -> None:
        self._files = files
        self._index = index
        self._reader: _CountingReader | None = None

    def read(self, size: int = -1) -> bytes:
        if self._reader is None:
            self._reader = _CountingReader(self._files.reader(self._index), self._files._engine)
        return self._reader.read(size)


@dataclass
class Options:
    """How a sync runs (see :func:`assetstore.sync.sync`)."""

    filter: Filter | None = None
    dry_run: bool = False
    jobs: int = 4
    on_conflict: OnConflict = "skip"
    delete: bool = False


class Engine:
    """One sync from ``source`` to ``destination``."""

    def __init__(
        self,
        source: AssetStore,
        destination: AssetStore,
        options: Options,
        origin: dict[str, Any],
        progress: SyncProgress | None = None,
    ) -> None:
        self.source = source
        self.destination = destination
        self.options = options
        self.origin = origin
        self.progress = progress
        self.tally = Tally()
        self.cancelled = threading.Event()
        self._index: dict[str, Doc] | None = None

    # ---------------------------------------------------------------- planning
    def pages(self) -> Iterator[list[Doc]]:
        """The source's records matching the filter, a page at a time (documents: a model
        is built only of what is copied)."""
        page: list[Doc] = []
        for record in self.source.iter_documents(self.options.filter, sort=ORDER):
            page.append(record)
            if len(page) >= PAGE:
                yield page
                page = []
        if page:
            yield page

    def index(self) -> None:
        """List the destination's assets matching the filter, if there are not too many."""
        if self.destination.count(self.options.filter) <= INDEX_LIMIT:
            self._index = {
                found["asset_uri"]: found
                for found in self.destination.iter_documents(self.options.filter, sort=ORDER)
            }

    def plan(self, page: list[Doc]) -> PagePlan:
        """Compare a page with the destination: with the index, only the URIs it lacks are
        looked up (new ones, or assets that do not match the filter at the destination)."""
        index = self._index or {}
        uris = [record.get("asset_uri") for record in page]
        existing = {uri: index[uri] for uri in uris if uri in index}
        missing = [uri for uri in uris if isinstance(uri, str) and uri not in existing]
        if missing:
            lookup = {"asset_uri": {"$in": missing}}
            for found in self.destination.iter_documents(lookup):
                existing[found["asset_uri"]] = found
        return plan_page(page, existing, self.options.on_conflict)

    def _pages_with_index(self, pool: ThreadPoolExecutor) -> Iterator[list[Doc]]:
        """:meth:`pages`, the destination's index listed meanwhile: a served store makes
        its listing while this process reads the source's."""
        indexing = pool.submit(self.index)
        pages = self.pages()
        first = next(pages, None)
        indexing.result()
        if first is not None:
            yield first
            yield from pages

    def conflicts(self) -> list[Conflict]:
        """Every conflict, found before anything is copied (``on_conflict="fail"``)."""
        found: list[Conflict] = []
        self.index()
        for page in self.pages():
            found.extend(self.plan(page).conflicts)
        return found

    # ----------------------------------------------------------------- running
    def run(self) -> Tally:
        """List, plan and copy; then delete what the source lacks (``delete``)."""
        listed: set[str] | None = set() if self.options.delete else None
        in_flight: set[Future[None]] = set()
        slots = threading.Semaphore(self.options.jobs * 2)
        with ThreadPoolExecutor(self.options.jobs, thread_name_prefix="assetstore-sync") as pool:
            try:
                for page in self._pages_with_index(pool):
                    if listed is not None:
                        listed.update(str(record.get("asset_uri")) for record in page)
                    plan = self.plan(page)
                    self._note(plan)
                    if self.options.dry_run:
                        continue
                    for update in plan.metadata_updates:
                        self._update_metadata(*update)
                    for transfer in transfers(plan.copies):
                        slots.acquire()
                        future = pool.submit(self._transfer, transfer)
                        future.add_done_callback(lambda _: slots.release())
                        in_flight.add(future)
                        in_flight = {f for f in in_flight if not f.done()}
                        self._raise_from(in_flight)
                for future in list(in_flight):
                    future.result()
            except BaseException:
                self.cancelled.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        if listed is not None:
            self._delete_missing(listed)
        return self.tally

    def _raise_from(self, futures: set[Future[None]]) -> None:
        """Re-raise what ended a transfer abnormally (a cancellation, a bug)."""
        for future in futures:
            if future.done() and future.exception() is not None:
                future.result()

    def _note(self, plan: PagePlan) -> None:
        size = sum(file_size(record) for record in plan.copies)
        with self.tally.lock:
            self.tally.skipped += plan.skipped
            self.tally.conflicts.extend(plan.conflicts)
            self.tally.metadata_differs.extend(plan.metadata_differs)
            if self.options.dry_run:
                self.tally.copied += len(plan.copies)
                self.tally.bytes += size
                self.tally.metadata_updated += len(plan.metadata_updates)
        if self.progress is not None:
            self.progress.planned(len(plan.copies), size)

    def read_bytes(self, count: int) -> None:
        with self.tally.lock:
            self.tally.bytes += count
        if self.progress is not None:
            self.progress.advanced(0, count)

    def _finished(self, assets: list[AssetObject]) -> None:
        with self.tally.lock:
            self.tally.copied += len(assets)
        if self.progress is not None:
            self.progress.advanced(len(assets), 0)

    def _failed(self, record: AssetObject, error: AssetStoreError) -> None:
        self._failed_uri(record.asset_uri, error)

    def _failed_uri(self, uri: str, error: AssetStoreError) -> None:
        with self.tally.lock:
            self.tally.failed.append((uri, error))
        if self.progress is not None:
            self.progress.advanced(1, 0)

    # --------------------------------------------------------------- transfers
    def _items(self, records: list[AssetObject], files: _InOrder | None) -> list[ImportItem]:
        """What one attempt imports: a large file with a source it can ask for the rest
        of, small ones read in order from ``files``."""
        items = []
        stored = 0
        for record in records:
            copy = record.model_copy(update={"asset_origin": self._origin_of(record)})
            if record.asset_source != "upload":
                items.append(ImportItem(copy))
            elif files is None:
                items.append(ImportItem(copy, self._opener(record)))
            else:
                items.append(ImportItem(copy, files.lazy(stored)))
                stored += 1
        return items

    def _opener(self, record: AssetObject) -> Callable[[int], _CountingReader]:
        def open_at(offset: int) -> _CountingReader:
            return _CountingReader(self.source.open_asset(record, start=offset), self)

        return open_at

    def _origin_of(self, record: AssetObject) -> dict[str, Any]:
        first = record.asset_origin.get("assets_db_id") or record.assets_db_id
        return {
            "assets_db_id": first,
            "copied_from": {**self.origin, "revision": record.revision, "via": "sync"},
            "copied_at": utc_now(),
        }

    def _transfer(self, docs: list[Doc]) -> None:
        records = []
        for doc in docs:
            try:
                records.append(AssetObject.model_validate(doc))
            except ValidationError as exc:
                error = InvalidInputError(f"the source's record is not an asset: {describe(exc)}")
                self._failed_uri(str(doc.get("asset_uri")), error)
        if not records:
            return
        try:
            self._import(records)
        except AssetStoreError as error:
            if len(records) == 1:
                self._settle(records[0], error)
                return
            for record in records:  # one by one: the bad one fails alone
                if self.cancelled.is_set():
                    raise Cancelled("the sync was cancelled") from None
                try:
                    self._import([record])
                except AssetStoreError as single_error:
                    self._settle(record, single_error)

    def _import(self, records: list[AssetObject]) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                files = None
                if len(records) > 1:
                    uploads = [r for r in records if r.asset_source == "upload"]
                    files = _InOrder(self.source.open_many(uploads), self)
                try:
                    self.destination.import_assets(self._items(records, files))
                finally:
                    if files is not None:
                        files.close()
            except BackendUnavailableError:
                if attempt == ATTEMPTS or self.cancelled.wait(RETRY_PAUSE * attempt):
                    raise
                continue
            self._finished(records)
            return

    def _settle(self, record: AssetObject, error: AssetStoreError) -> None:
        """A single asset's import failed: a URI taken meanwhile (or one that does not match
        the filter at the destination) is compared as the plan would have."""
        if isinstance(error, AlreadyExistsError):
            with contextlib.suppress(AssetNotFoundError):
                found = self.destination.get(record.asset_uri).to_document()
                plan = plan_page(
                    [record.to_document()], {record.asset_uri: found}, self.options.on_conflict
                )
                self._note(plan)
                for update in plan.metadata_updates:
                    self._update_metadata(*update)
                if self.progress is not None:
                    self.progress.advanced(1, 0)
                return
        self._failed(record, error)

    def _update_metadata(self, record: Doc, found: Doc) -> None:
        uri = str(record.get("asset_uri"))
        try:
            self.destination.update(
                uri,
                {
                    "asset_metadata": record.get("asset_metadata"),
                    "asset_tags": record.get("asset_tags"),
                },
                expected_revision=found.get("revision"),
            )
        except AssetStoreError as error:
            self._failed_uri(uri, error)
            return
        with self.tally.lock:
            self.tally.metadata_updated += 1

    # ---------------------------------------------------------------- deletion
    def _delete_missing(self, listed: set[str]) -> None:
        """Delete (or, dry, list) the destination's assets matching the filter that the
        source does not have; an asset changed meanwhile is left alone."""
        doomed = [
            (str(found.get("asset_uri")), found.get("revision"))
            for found in self.destination.iter_documents(self.options.filter, sort=ORDER)
            if found.get("asset_uri") not in listed
        ]
        for uri, revision in doomed:
            if not self.options.dry_run:
                try:
                    self.destination.delete(
                        uri, expected_revision=revision if isinstance(revision, int) else None
                    )
                except AssetStoreError as error:
                    self._failed_uri(uri, error)
                    continue
            with self.tally.lock:
                self.tally.deleted.append(uri)


__all__ = ["Cancelled", "Engine", "Options", "SyncProgress", "Tally"]
