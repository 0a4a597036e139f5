"""Documents in MongoDB (pymongo).

* One collection per kind (``assets``, ``registries``); a unique index on the key, scoped by
  ``assets_db_id`` for assets, so several stores can share one database ("global mode", as
  the specification describes): each store sees and changes only its own assets, and a query
  may ask for all stores at once.
* Filters are validated by the core's query engine, then sent to the server unchanged.
* Updates are compare-and-swap: the replace matches the key *and* the expected revision.
* pymongo's errors are translated here, at the boundary.
* On FerretDB, what it does differently is handled by ``mongo_compat`` (filters it answers
  differently are evaluated in-process; see docs/MONGODB-COMPATIBILITY.md).

Every setting is an argument (``max_time_ms``...); :mod:`assetstore.open` fills them from
the environment (``MONGO_URL``, ``ASSETSTORE_MONGO_MAX_TIME_MS``) through
:mod:`assetstore.settings`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pymongo
from pymongo.collection import Collection
from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from assetstore._sorting import compile_sort
from assetstore.backends import _mongo_compat as mongo_compat
from assetstore.errors import (
    AlreadyExistsError,
    AssetStoreError,
    BackendUnavailableError,
    InvalidQueryError,
    QueryTimeoutError,
)
from assetstore.models import Filter, Sort
from assetstore.ports import DocumentStore
from assetstore.query import run_query, validate_filter

DEFAULT_DATABASE = "assetstore"
#: Longest a query may run on the server, by default: MongoDB evaluates $regex with its own
#: backtracking engine, so the linear-time guarantee of the in-process engine does not reach it.
MAX_TIME_MS = 10_000
_NO_ID = {"_id": False}
_BAD_QUERY_CODES = frozenset({2, 9, 17287, 51091})  # BadValue, FailedToParse, ...


@contextlib.contextmanager
def mongo_errors(what: str) -> Iterator[None]:
    """Translate pymongo's exceptions into ours."""
    try:
        yield
    except DuplicateKeyError as exc:
        raise AlreadyExistsError(f"{what} already exists") from exc
    except ExecutionTimeout as exc:
        raise QueryTimeoutError(
            f"the {what} ran longer than the server-side limit (ASSETSTORE_MONGO_MAX_TIME_MS); "
            "narrow the filter"
        ) from exc
    except (ServerSelectionTimeoutError, ConnectionFailure) as exc:
        raise BackendUnavailableError(f"MongoDB is unreachable: {exc}") from exc
    except OperationFailure as exc:
        if exc.code in _BAD_QUERY_CODES:
            raise InvalidQueryError(f"MongoDB refused the query: {exc.details or exc}") from exc
        raise AssetStoreError(f"MongoDB refused the operation: {exc}") from exc
    except PyMongoError as exc:
        raise BackendUnavailableError(f"MongoDB error: {exc}") from exc


def _read(cursor: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    with mongo_errors("query"):
        yield from cursor


def _mongo_sort(sort: Sort | None) -> list[tuple[str, int]] | None:
    if not sort:
        return None
    compile_sort(sort)  # the same validation as in-process stores
    return list(sort.items()) if isinstance(sort, Mapping) else [(s[0], s[1]) for s in sort]


class MongoDocumentStore(DocumentStore):
    """One MongoDB collection as a :class:`~assetstore.contract.DocumentStore`.

    ``scope`` (e.g. ``{"assets_db_id": "..."}``) is added to every read and write, and
    stamped on every inserted document, so stores sharing a collection stay apart."""

    def __init__(
        self,
        collection: Collection[dict[str, Any]],
        *,
        key_field: str,
        scope: Mapping[str, str] | None = None,
        indexes: Sequence[str] = (),
        max_time_ms: int = MAX_TIME_MS,
    ) -> None:
        self.key_field = key_field
        self._max_time_ms = max_time_ms
        self._collection = collection
        self._scope = dict(scope or {})
        with mongo_errors(f"indexes of {collection.full_name}"):
            unique = [(field, pymongo.ASCENDING) for field in [*self._scope, key_field]]
            collection.create_index(unique, unique=True)
            for field in indexes:
                collection.create_index([(field, pymongo.ASCENDING)])
            #: FerretDB: the adjustments of mongo_compat apply (never on MongoDB itself).
            self._ferretdb = mongo_compat.is_ferretdb(collection.database.client)
        self._write_lock = (
            mongo_compat.write_lock(collection.full_name)
            if self._ferretdb
            else contextlib.nullcontext()
        )

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        table: str,
        key_field: str,
        default_file: str = "",
        scope: Mapping[str, str] | None = None,
        mongo_client: Any = None,
        **options: Any,
    ) -> MongoDocumentStore:
        """The collection ``table`` of the database ``mongodb://host/db`` names; a
        ``mongo_client`` already connected is used instead of a new one."""
        return open_mongo_documents(
            url, collection=table, key_field=key_field, scope=scope, client=mongo_client, **options
        )

    def __repr__(self) -> str:
        return f"MongoDocumentStore({self._collection.full_name!r}, scope={self._scope!r})"

    def _where(self, filter: Filter | None = None, *, all_scopes: bool = False) -> dict[str, Any]:
        parts = [] if all_scopes or not self._scope else [self._scope]
        if filter:
            parts.append(dict(filter))
        if not parts:
            return {}
        return parts[0] if len(parts) == 1 else {"$and": parts}

    def _key(self, key: str, **extra: Any) -> dict[str, Any]:
        return {**self._scope, self.key_field: key, **extra}

    def _what(self, key: str) -> str:
        return f"asset {key!r}" if self.key_field == "asset_uri" else f"{self.key_field} {key!r}"

    def _check_storable(self, doc: Mapping[str, Any]) -> None:
        if self._ferretdb:
            mongo_compat.check_storable(doc, self._what(doc[self.key_field]))

    def insert(self, doc: Mapping[str, Any]) -> None:
        self._check_storable(doc)
        with mongo_errors(self._what(doc[self.key_field])):
            self._collection.insert_one({**doc, **self._scope})

    def insert_many(self, docs: Sequence[Mapping[str, Any]]) -> None:
        """All or nothing: if a key is taken, the documents this call inserted before it are
        removed again (readers may glimpse them meanwhile; MongoDB transactions would need
        a replica set, which a plain server does not have)."""
        if not docs:
            return
        keys = [doc[self.key_field] for doc in docs]
        if len(set(keys)) != len(keys):
            raise AlreadyExistsError(f"{self.key_field} values repeat within the batch")
        for doc in docs:
            self._check_storable(doc)
        with mongo_errors("a document of the batch"):
            try:
                self._collection.insert_many([{**doc, **self._scope} for doc in docs], ordered=True)
            except BulkWriteError as exc:
                inserted = keys[: exc.details.get("nInserted", 0)]
                if inserted:
                    self._collection.delete_many({**self._scope, self.key_field: {"$in": inserted}})
                errors = exc.details.get("writeErrors") or [{}]
                if errors[0].get("code") == 11000:
                    taken = keys[errors[0].get("index", 0)]
                    raise AlreadyExistsError(f"{self._what(taken)} already exists") from exc
                raise

    def get(self, key: str) -> dict[str, Any] | None:
        with mongo_errors(self._what(key)):
            return self._collection.find_one(self._key(key), _NO_ID)

    def find_one(self, field: str, value: str) -> dict[str, Any] | None:
        with mongo_errors(f"{field} {value!r}"):
            return self._collection.find_one({**self._scope, field: value}, _NO_ID)

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
        validate_filter(filter)
        if skip < 0 or (limit is not None and limit < 0):
            raise InvalidQueryError("skip and limit must not be negative")
        spec = _mongo_sort(sort)
        if self._ferretdb:
            here = bool(mongo_compat.evaluate_locally(filter))
            if here or mongo_compat.sort_locally(spec):
                return self._find_in_process(
                    filter, spec, skip, limit, all_scopes, filter_here=here
                )
        with mongo_errors("query"):
            try:
                cursor = self._collection.find(
                    self._where(filter, all_scopes=all_scopes),
                    _NO_ID,
                    max_time_ms=self._max_time_ms,
                )
                if spec:
                    cursor = cursor.sort(spec)
                if skip:
                    cursor = cursor.skip(skip)
                if limit:
                    cursor = cursor.limit(limit)
                return list(cursor)
            except OperationFailure as exc:
                if not (self._ferretdb and mongo_compat.retry_in_process(exc.code)):
                    raise
        return self._find_in_process(filter, spec, skip, limit, all_scopes)

    def _find_in_process(
        self,
        filter: Filter | None,
        sort: list[tuple[str, int]] | None,
        skip: int,
        limit: int | None,
        all_scopes: bool,
        *,
        filter_here: bool = True,
    ) -> list[dict[str, Any]]:
        """FerretDB: the scope's documents (filtered by the server unless ``filter_here``)
        filtered, sorted, skipped and limited here by the core's engine, as MongoDB would."""
        where = self._where(None if filter_here else filter, all_scopes=all_scopes)
        with mongo_errors("query"):
            docs = list(self._collection.find(where, _NO_ID, max_time_ms=self._max_time_ms))
        return run_query(docs, filter if filter_here else None, sort, skip, limit)  # type: ignore[return-value]

    def iter_find(
        self,
        filter: Filter | None = None,
        *,
        sort: Sort | None = None,
        all_scopes: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """The server's cursor, read batch by batch (constant memory). On FerretDB, the
        answer of :meth:`find` (which evaluates in-process what FerretDB answers wrongly)."""
        if self._ferretdb:
            return iter(self.find(filter, sort=sort, all_scopes=all_scopes))
        validate_filter(filter)
        spec = _mongo_sort(sort)
        with mongo_errors("query"):
            cursor = self._collection.find(
                self._where(filter, all_scopes=all_scopes), _NO_ID, max_time_ms=self._max_time_ms
            )
            if spec:
                cursor = cursor.sort(spec)
        return _read(cursor)

    def count(self, filter: Filter | None = None, *, all_scopes: bool = False) -> int:
        validate_filter(filter)
        if self._ferretdb and mongo_compat.evaluate_locally(filter):
            return len(self._find_in_process(filter, None, 0, None, all_scopes))
        with mongo_errors("count"):
            try:
                return self._collection.count_documents(
                    self._where(filter, all_scopes=all_scopes), maxTimeMS=self._max_time_ms
                )
            except OperationFailure as exc:
                if not (self._ferretdb and mongo_compat.retry_in_process(exc.code)):
                    raise
        return len(self._find_in_process(filter, None, 0, None, all_scopes))

    def replace(self, key: str, doc: Mapping[str, Any], *, expected_revision: int) -> bool:
        self._check_storable(doc)
        with self._write_lock, mongo_errors(self._what(key)):
            result = self._collection.replace_one(
                self._key(key, revision=expected_revision), {**doc, **self._scope}
            )
        return result.matched_count == 1

    def delete(self, key: str, *, expected_revision: int | None = None) -> bool:
        where = (
            self._key(key)
            if expected_revision is None
            else self._key(key, revision=expected_revision)
        )
        with self._write_lock, mongo_errors(self._what(key)):
            return self._collection.delete_one(where).deleted_count == 1


def connect(
    url: str, *, client: Any = None, server_selection_timeout_ms: int = 5000
) -> tuple[Any, str]:
    """A client for ``url`` (or ``client``, already connected) and the database it names."""
    database = pymongo.uri_parser.parse_uri(url).get("database") or DEFAULT_DATABASE
    if client is None:
        client = pymongo.MongoClient(
            url,
            serverSelectionTimeoutMS=server_selection_timeout_ms,
            connectTimeoutMS=server_selection_timeout_ms,
            appname="assetstore",
        )
    return client, database


def open_mongo_documents(
    url: str,
    *,
    collection: str,
    key_field: str,
    scope: Mapping[str, str] | None = None,
    client: Any = None,
    max_time_ms: int | None = None,
    **options: Any,
) -> MongoDocumentStore:
    """The document store for ``collection`` in the database ``url`` names."""
    with mongo_errors("connection"):
        client, database = connect(url, client=client, **options)
    indexes = (
        ("asset_name", "asset_tags", "asset_id")
        if key_field == "asset_uri"
        else ("asset_registry_tags",)
    )
    return MongoDocumentStore(
        client[database][collection],
        key_field=key_field,
        scope=scope,
        indexes=indexes,
        max_time_ms=MAX_TIME_MS if max_time_ms is None else max_time_ms,
    )


__all__ = ["MongoDocumentStore", "open_mongo_documents"]
