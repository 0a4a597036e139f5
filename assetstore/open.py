"""``open_store`` and ``open_registry``: a URL (or path) in, the right backend out.

This is the composition root: the one place that reads the settings
(:mod:`assetstore.settings`), looks schemes up (:mod:`assetstore.schemes`) and wires
backends into the core.

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
``memory://name``, or ``mongodb://host/db`` (extra ``mongo``). Other packages add schemes
through :mod:`assetstore.schemes`.

Settings not given as arguments come from the environment (see :class:`Settings`):
``ASSETSTORE_URL`` (location), ``ASSETSTORE_METADATA_URL``, ``ASSETSTORE_PUBLIC_URL`` (or
``PUBLIC_URL``), ``ASSETSTORE_DB_ID``, ``ASSETSTORE_REGISTRY_URL``; and the original service's
``S3_BUCKET_NAME`` (a store on S3), ``MONGO_URL`` (its metadata, and the registry),
``S3_ENDPOINT_URL`` and ``AWS_*``.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from assetstore import schemes
from assetstore._outbound import AddressPolicy, CallLimits
from assetstore._registry import StoreRegistry
from assetstore._store import Store, store_identity
from assetstore.contract import AssetStore, Registry
from assetstore.errors import InvalidInputError
from assetstore.ports import BlobStore, DocumentStore
from assetstore.schemes import Backend, scheme_of
from assetstore.settings import Settings

#: Where the CLI and ``open_store()`` keep assets when nothing else is configured.
DEFAULT_LOCATION = "./assetstore-data"
METADATA_FILE = "metadata.json"
REGISTRY_FILE = "registry.json"
ASSETS_TABLE = "assets"
REGISTRY_TABLE = "registries"


def _with_settings(entry: Backend, options: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """``options``, plus the entry's options taken from ``settings`` where not given."""
    merged = dict(options)
    for option, field in entry.settings.items():
        value = getattr(settings, field)
        if option not in merged and value is not None:
            merged[option] = (
                value.get_secret_value() if hasattr(value, "get_secret_value") else value
            )
    return merged


def store_location(location: str | os.PathLike[str] | None, settings: Settings) -> str:
    """The store a call means: ``location``, else ``ASSETSTORE_URL``, else ``s3://`` of
    ``S3_BUCKET_NAME``, else :data:`DEFAULT_LOCATION`."""
    if location:
        return os.fspath(location)
    if settings.store_url:
        return settings.store_url
    if settings.s3_bucket_name:
        return f"s3://{settings.s3_bucket_name}"
    return DEFAULT_LOCATION


def registry_location(location: str | os.PathLike[str] | None, settings: Settings) -> str:
    """The registry a call means: ``location``, else ``ASSETSTORE_REGISTRY_URL``, else
    ``MONGO_URL`` (the original registry's only setting), else the store's location."""
    if location:
        return os.fspath(location)
    return settings.registry_url or settings.mongo_url or settings.store_url or DEFAULT_LOCATION


def open_blobs(location: str, *, settings: Settings | None = None, **options: Any) -> BlobStore:
    """The :class:`BlobStore` for ``location`` (its scheme's entry in
    :data:`~assetstore.schemes.BLOB_STORES`)."""
    settings = settings or Settings.from_env()
    scheme = scheme_of(location)
    entry = schemes.require(schemes.BLOB_STORES, scheme, "blob store")
    blob_class = entry.load(scheme)
    blobs: BlobStore = blob_class.from_url(location, **_with_settings(entry, options, settings))
    return blobs


def open_documents(
    location: str | os.PathLike[str],
    *,
    table: str,
    key_field: str,
    default_file: str,
    scope: dict[str, str] | None = None,
    settings: Settings | None = None,
    **options: Any,
) -> DocumentStore:
    """A document store for ``location``: a TinyDB file (or a directory to hold
    ``default_file``), ``memory://name``, ``mongodb://host/db``, or a registered scheme.
    ``scope`` separates stores that share a collection (MongoDB's global mode)."""
    settings = settings or Settings.from_env()
    text = os.fspath(location)
    scheme = scheme_of(text)
    entry = schemes.lookup(schemes.DOCUMENT_STORES, scheme)
    if entry is None:
        raise InvalidInputError(
            f"metadata location {text!r} is not a TinyDB file, memory:// or mongodb:// URL "
            f"(known: {', '.join(schemes.known_schemes(schemes.DOCUMENT_STORES))})"
        )
    document_class = entry.load(scheme)
    documents: DocumentStore = document_class.from_url(
        text,
        table=table,
        key_field=key_field,
        default_file=default_file,
        scope=scope,
        **_with_settings(entry, options, settings),
    )
    return documents


def open_store(
    location: str | os.PathLike[str] | None = None,
    *,
    metadata: str | os.PathLike[str] | None = None,
    public_url: str | None = None,
    assets_db_id: str | None = None,
    token: str | None = None,
    settings: Settings | None = None,
    mongo_client: Any = None,
    **options: Any,
) -> AssetStore:
    """Open the asset store at ``location`` (see the module docstring for the forms).

    ``token`` is the bearer token of a served store (``http(s)://``); without it,
    ``ASSETSTORE_TOKEN`` is used only if ``location`` is the store ``ASSETSTORE_URL`` names.
    Other keyword ``options`` go to the blob store (``endpoint_url=``, ``create_bucket=``...
    for S3) or to a whole store's factory (``timeout=``, ``verify=`` for HTTP)."""
    settings = settings or Settings.from_env()
    location = store_location(location, settings)
    scheme = scheme_of(location)
    whole = schemes.lookup(schemes.STORES, scheme)
    if whole is not None:
        factory = whole.load(scheme)
        if token is None:
            token = settings.token_for(location)
        return factory(
            location,
            metadata=metadata,
            public_url=public_url,
            assets_db_id=assets_db_id,
            token=token,
            **options,
        )
    if token is not None:
        raise InvalidInputError(f"token= is for http(s):// stores, not {scheme}://")
    metadata = metadata or settings.metadata_url
    if metadata is None:
        if scheme in ("file", "memory"):
            metadata = location  # beside the blobs
        elif settings.mongo_url:
            metadata = settings.mongo_url
        else:
            raise InvalidInputError(
                f"{location} needs metadata=: a mongodb://host/db URL (or MONGO_URL), or a "
                "TinyDB file on a local disk"
            )
    blobs = open_blobs(location, settings=settings, **options)
    extra = {"mongo_client": mongo_client} if mongo_client is not None else {}

    def documents_for(identity: str) -> DocumentStore:
        return open_documents(
            metadata,
            table=ASSETS_TABLE,
            key_field="asset_uri",
            default_file=METADATA_FILE,
            scope={"assets_db_id": identity},
            settings=settings,
            **extra,
        )

    def metadata_in_use() -> bool:
        """Whether the metadata holds records a brand-new store would see (a file of its
        own: any; a collection shared by stores: none, since they are another store's)."""
        probe = documents_for(uuid.uuid4().hex)
        try:
            return probe.count() > 0
        finally:
            probe.close()

    try:
        identity = store_identity(blobs, assets_db_id or settings.db_id, in_use=metadata_in_use)
        documents = documents_for(identity)
    except BaseException:
        blobs.close()
        raise
    return Store(
        blobs,
        documents,
        assets_db_id=identity,
        public_url=public_url or settings.public_url,
    )


def open_federated_store(url: str, policy: AddressPolicy, limits: CallLimits) -> AssetStore:
    """The store a registry entry points at, for a federated search: only ``http(s)://``,
    under ``policy``, within ``limits``, and with no credential (this process's own token is
    never sent to a store someone registered)."""
    scheme = scheme_of(url)
    if scheme not in ("http", "https"):
        raise InvalidInputError("only http:// and https:// stores can be searched")
    return schemes.STORES[scheme].load(scheme)(
        url,
        token=None,
        address_policy=policy,
        timeout=limits.connect_timeout,
        total_timeout=limits.total_timeout,
        max_body=limits.max_body,
    )


def open_registry(
    location: str | os.PathLike[str] | None = None,
    *,
    token: str | None = None,
    address_policy: AddressPolicy | None = None,
    health_limits: CallLimits | None = None,
    federation_limits: CallLimits | None = None,
    settings: Settings | None = None,
    mongo_client: Any = None,
    **options: Any,
) -> Registry:
    """Open the registry of asset stores at ``location``: a directory or ``.json`` file
    (TinyDB), ``memory://name``, ``mongodb://host/db``, or ``http(s)://`` a served registry.

    ``address_policy`` says where health checks and federated searches may connect (public
    addresses only, by default); ``health_limits`` and ``federation_limits`` how long they
    may take and how much they read."""
    settings = settings or Settings.from_env()
    location = registry_location(location, settings)
    scheme = scheme_of(location)
    whole = schemes.lookup(schemes.REGISTRIES, scheme)
    if whole is not None:
        if token is None:
            token = settings.token_for(location)
        return whole.load(scheme)(location, token=token, **options)
    if token is not None:
        raise InvalidInputError(f"token= is for http(s):// registries, not {scheme}://")
    documents = open_documents(
        location,
        table=REGISTRY_TABLE,
        key_field="asset_registry_id",
        default_file=REGISTRY_FILE,
        settings=settings,
        **({"mongo_client": mongo_client} if mongo_client is not None else {}),
        **options,
    )
    return StoreRegistry(
        documents,
        address_policy=address_policy,
        health_limits=health_limits,
        federation_limits=federation_limits,
        store_opener=open_federated_store,
    )


__all__ = [
    "DEFAULT_LOCATION",
    "open_blobs",
    "open_documents",
    "open_federated_store",
    "open_registry",
    "open_store",
    "registry_location",
    "store_location",
]
