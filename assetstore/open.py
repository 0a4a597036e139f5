"""``open_store`` and ``open_registry``: a URL (or path) in, the right backend out.

=====================  ==================================================================
location               store
=====================  ==================================================================
``./assets``           files in ``./assets/objects``, metadata in ``./assets/metadata.json``
``file:///srv/assets`` the same, by URL
``memory://name``      in this process only (blobs in fsspec memory, documents in a dict)
``s3://bucket/prefix`` blobs on S3 (extra ``s3``); metadata from ``metadata=``
``http://host:8000``   a remote ``assetstore serve`` (extra ``http``)
=====================  ==================================================================

``metadata=`` chooses where documents live independently of the blobs: a TinyDB file path,
``memory://name``, or ``mongodb://host/db`` (extra ``mongo``). Other packages can add
schemes through the entry-point group ``assetstore.backends`` (a callable taking the location
and keyword options, returning an ``AssetStore``) and ``assetstore.registries``.

Settings not given as arguments come from the environment: ``ASSETSTORE_URL`` (location),
``ASSETSTORE_METADATA_URL``, ``ASSETSTORE_PUBLIC_URL`` (or ``PUBLIC_URL``), ``ASSETSTORE_DB_ID``,
``ASSETSTORE_REGISTRY_URL``; and the original service's ``S3_BUCKET_NAME`` (a store on S3),
``MONGO_URL`` (its metadata, and the registry), ``S3_ENDPOINT_URL`` and ``AWS_*``.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from assetstore.contract import AssetStore, Registry
from assetstore.errors import InvalidInputError, MissingDependencyError
from assetstore.ports import BlobStore, DocumentStore

#: Where the CLI and ``open_store()`` keep assets when nothing else is configured.
DEFAULT_LOCATION = "./assetstore-data"
METADATA_FILE = "metadata.json"
REGISTRY_FILE = "registry.json"
ASSETS_TABLE = "assets"
REGISTRY_TABLE = "registries"

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")

#: scheme -> "module:function" of the store factory, imported on first use.
STORE_SCHEMES: dict[str, str] = {
    "file": "assetstore.open:_open_local_store",
    "memory": "assetstore.open:_open_memory_store",
    "s3": "assetstore.backends.s3:open_s3_store",
    "s3a": "assetstore.backends.s3:open_s3_store",
    "http": "assetstore.http.client:open_http_store",
    "https": "assetstore.http.client:open_http_store",
}
REGISTRY_SCHEMES: dict[str, str] = {
    "file": "assetstore.open:_open_document_registry",
    "memory": "assetstore.open:_open_document_registry",
    "mongodb": "assetstore.open:_open_document_registry",
    "mongodb+srv": "assetstore.open:_open_document_registry",
    "http": "assetstore.http.client:open_http_registry",
    "https": "assetstore.http.client:open_http_registry",
}
#: Which extra provides the module behind each scheme, for the "install X" message.
EXTRAS = {
    "assetstore.backends.s3": "s3",
    "assetstore.backends.mongo": "mongo",
    "assetstore.http.client": "http",
}


def scheme_of(location: str) -> str:
    """The URL scheme of ``location`` in lower case; ``"file"`` for a plain path."""
    match = _SCHEME.match(location)
    return match.group(1).lower() if match else "file"


def local_path(location: str | os.PathLike[str]) -> Path:
    """The directory or file a plain path or ``file://`` URL names."""
    text = os.fspath(location)
    if text.startswith("file://"):
        text = text[len("file://") :]
    return Path(text).expanduser()


def _load(target: str, scheme: str) -> Callable[..., Any]:
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = EXTRAS.get(module_name)
        if extra is None:
            raise
        raise MissingDependencyError(
            f"{scheme}:// needs the '{extra}' extra: pip install 'assetstore[{extra}]' ({exc})"
        ) from exc
    return getattr(module, attribute)


def _factory(scheme: str, table: dict[str, str], group: str) -> Callable[..., Any]:
    if scheme in table:
        return _load(table[scheme], scheme)
    for entry in entry_points(group=group):
        if entry.name == scheme:
            return entry.load()
    known = sorted(set(table) | {entry.name for entry in entry_points(group=group)})
    raise InvalidInputError(
        f"no backend for {scheme}:// (known: {', '.join(known)}); a third-party backend "
        f"registers its scheme in the '{group}' entry-point group"
    )


def open_store(
    location: str | os.PathLike[str] | None = None,
    *,
    metadata: str | os.PathLike[str] | None = None,
    public_url: str | None = None,
    assets_db_id: str | None = None,
    **options: Any,
) -> AssetStore:
    """Open the asset store at ``location`` (see the module docstring for the forms)."""
    bucket = os.environ.get("S3_BUCKET_NAME")
    location = os.fspath(
        location
        or os.environ.get("ASSETSTORE_URL")
        or (f"s3://{bucket}" if bucket else DEFAULT_LOCATION)
    )
    scheme = scheme_of(location)
    metadata = (
        metadata
        or os.environ.get("ASSETSTORE_METADATA_URL")
        or (os.environ.get("MONGO_URL") if scheme in ("s3", "s3a") else None)
        or None
    )
    public_url = (
        public_url
        or os.environ.get("ASSETSTORE_PUBLIC_URL")
        or os.environ.get("PUBLIC_URL")
        or None
    )
    assets_db_id = assets_db_id or os.environ.get("ASSETSTORE_DB_ID") or None
    factory = _factory(scheme, STORE_SCHEMES, "assetstore.backends")
    return factory(
        location, metadata=metadata, public_url=public_url, assets_db_id=assets_db_id, **options
    )


def open_registry(location: str | os.PathLike[str] | None = None, **options: Any) -> Registry:
    """Open the registry of asset stores at ``location``: a directory or ``.json`` file
    (TinyDB), ``memory://name``, ``mongodb://host/db``, or ``http(s)://`` a served registry."""
    location = os.fspath(
        location
        or os.environ.get("ASSETSTORE_REGISTRY_URL")
        or os.environ.get("MONGO_URL")  # the original registry service's only setting
        or os.environ.get("ASSETSTORE_URL")
        or DEFAULT_LOCATION
    )
    factory = _factory(scheme_of(location), REGISTRY_SCHEMES, "assetstore.registries")
    return factory(location, **options)


def open_documents(
    location: str | os.PathLike[str],
    *,
    table: str,
    key_field: str,
    default_file: str,
    scope: dict[str, str] | None = None,
    mongo_client: Any = None,
) -> DocumentStore:
    """A document store for ``location``: a TinyDB file (or a directory to hold
    ``default_file``), ``memory://name``, or ``mongodb://host/db``. ``scope`` separates
    stores that share a MongoDB collection; a file or memory store belongs to one store."""
    text = os.fspath(location)
    scheme = scheme_of(text)
    if scheme == "file":
        from assetstore.backends.tinydb_documents import TinyDBDocumentStore

        path = local_path(text)
        if path.suffix != ".json":
            path = path / default_file
        return TinyDBDocumentStore(path, table=table, key_field=key_field)
    if scheme == "memory":
        from assetstore.backends.memory import MemoryDocumentStore

        return MemoryDocumentStore.named(text[len("memory://") :], key_field)
    if scheme in ("mongodb", "mongodb+srv"):
        factory = _load("assetstore.backends.mongo:open_mongo_documents", scheme)
        return factory(
            text, collection=table, key_field=key_field, scope=scope, client=mongo_client
        )
    raise InvalidInputError(
        f"metadata location {text!r} is not a TinyDB file, memory:// or mongodb:// URL"
    )


def assemble_store(
    blobs: BlobStore,
    metadata: str | os.PathLike[str],
    *,
    public_url: str | None,
    assets_db_id: str | None,
    mongo_client: Any = None,
    **options: Any,
) -> AssetStore:
    """A :class:`~assetstore.store.Store` over ``blobs`` with its documents at ``metadata``.

    The store's id comes first (configured, or persisted beside the blobs) because a shared
    MongoDB collection is scoped by it."""
    from assetstore._store import Store, store_identity

    identity = store_identity(blobs, assets_db_id)
    documents = open_documents(
        metadata,
        table=ASSETS_TABLE,
        key_field="asset_uri",
        default_file=METADATA_FILE,
        scope={"assets_db_id": identity},
        mongo_client=mongo_client,
    )
    return Store(blobs, documents, assets_db_id=identity, public_url=public_url, **options)


def _open_local_store(location: str, *, metadata: str | None, **options: Any) -> AssetStore:
    from assetstore.backends.fsspec_blobs import LocalBlobStore

    root = local_path(location)
    if root.exists() and not root.is_dir():
        raise InvalidInputError(f"{str(root)!r} exists and is not a directory")
    return assemble_store(LocalBlobStore(root), metadata or root, **options)


def _open_memory_store(location: str, *, metadata: str | None, **options: Any) -> AssetStore:
    from assetstore.backends.fsspec_blobs import FsspecBlobStore

    return assemble_store(FsspecBlobStore(location), metadata or location, **options)


def _open_document_registry(location: str, *, mongo_client: Any = None, **options: Any) -> Registry:
    from assetstore._registry import StoreRegistry

    documents = open_documents(
        location,
        table=REGISTRY_TABLE,
        key_field="asset_registry_id",
        default_file=REGISTRY_FILE,
        mongo_client=mongo_client,
    )
    return StoreRegistry(documents, **options)
