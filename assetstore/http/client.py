"""``HttpAssetStore`` and ``HttpRegistry``: a remote ``assetstore serve`` behind the same
``AssetStore`` / ``Registry`` API as a local store (``open_store("http://host:8000")``).

* Errors are the in-process store's: the server names the exception class in
  ``error_type`` and the status code is the fallback, so ``except AssetNotFoundError``
  works the same against a local or a remote store. An unreachable server is a
  :class:`BackendUnavailableError`.
* Uploads stream: the multipart body is generated chunk by chunk from the source (metadata
  first, so the server can refuse a bad name before any byte of the file is stored).
* ``upload_many``, ``register_many`` and ``import_assets`` use the batch endpoints: one
  request per ``max_batch_items`` assets (and ``max_upload_bytes`` of files), each all or
  nothing on the server; if a later request fails, the assets the earlier ones published
  are deleted before the error is raised. ``iter_query`` (and ``query`` without paging)
  read the streamed NDJSON export. A service without them gets the one-by-one calls.
* Downloads stream and are verified: ``open(uri)`` (whole file), ``read_bytes`` and
  ``download`` check size and sha256 before handing over the last byte; ``download``
  writes a temporary file beside the target and renames it. ``open(uri, start, end)``
  sends a ``Range``.
* ``fsck`` and ``gc`` run on the server (``POST /admin/fsck``, ``/admin/gc``), which needs
  the token if the server has one.
* The token is ``token=`` only: the client reads nothing from the environment
  (``open_store`` passes ``ASSETSTORE_TOKEN`` for the store ``ASSETSTORE_URL`` names).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO

import orjson

from assetstore._base_store import BaseAssetStore, require_stored_file
from assetstore._outbound import AddressPolicy, Connection, error_for, json_body
from assetstore._streams import VerifyingReader, check_range, open_source
from assetstore.contract import Registry
from assetstore.errors import (
    AssetNotFoundError,
    AssetStoreError,
    InvalidInputError,
    NotFoundError,
    RegistryNotFoundError,
    TooManyResultsError,
)
from assetstore.http._client_batch import (
    BatchLimits,
    FilePart,
    FramedFiles,
    batches,
    form,
    ndjson_records,
    post_streamed,
)
from assetstore.http._client_streams import (
    ResponseReader,
    multipart_body,
    source_size,
)
from assetstore.http._requests import (
    DEFAULT_TIMEOUT,
    PageSize,
    if_match,
    pages,
    sort_param,
    url_path,
    url_segment,
)
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
    Upload,
)
from assetstore.uri import build_uri


class _Remote:
    """What both clients hold: one connection to the service."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        total_timeout: float | None = None,
        address_policy: AddressPolicy | None = None,
        verify: bool = True,
        max_body: int | None = None,
    ) -> None:
        self._http = Connection(
            base_url,
            token=token,
            timeout=timeout,
            total_timeout=total_timeout,
            policy=address_policy,
            verify=verify,
            max_body=max_body,
            user_agent="assetstore-client/1",
        )
        self._page_size = PageSize(self._http)

    def close(self) -> None:
        self._http.close()


class HttpAssetStore(_Remote, BaseAssetStore):
    """An asset store served by ``assetstore serve`` at ``base_url``."""

    _health_data: dict[str, Any] | None = None
    _export_supported: bool = True

    def __repr__(self) -> str:
        return f"HttpAssetStore({self._http.base_url!r})"

    @property
    def base_url(self) -> str:
        """The service's address."""
        return self._http.base_url

    def _health(self) -> dict[str, Any]:
        """The service's ``/health`` data (fetched once)."""
        if self._health_data is None:
            data = self._http.json("GET", "/health").get("data")
            self._health_data = data if isinstance(data, dict) else {}
        return self._health_data

    @property
    def assets_db_id(self) -> str:  # type: ignore[override]  # fetched on first use
        """The served store's id, as its ``/health`` reports it (fetched once)."""
        found = self._health().get("assets_db_id")
        if not found:
            raise InvalidInputError(f"{self.base_url} serves no asset store")
        return str(found)

    def _batch_limits(self) -> BatchLimits | None:
        """What one batch request may hold; None if the service has no batch endpoints."""
        limits = self._health().get("limits") or {}
        values: list[int] = []
        for name in ("max_batch_items", "max_batch_manifest_bytes", "max_upload_bytes"):
            value = limits.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                return None
            values.append(value)
        return BatchLimits(*values)

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
        build_uri(name, version, tag)  # a bad name fails here, before any byte is sent
        if tags is not None and not isinstance(tags, (str, bytes, Mapping)):
            tags = list(tags)
        fields = json_body(
            {
                "asset_name": name,
                "asset_version": {"version": version, "tag": tag},
                "asset_metadata": metadata,
                "asset_tags": tags,
            },
            "asset_metadata",
        )
        size = source_size(source)
        with open_source(source) as (chunks, source_name):
            headers, body = multipart_body(
                fields,
                os.path.basename(filename or source_name or ""),
                content_type,
                chunks,
                size,
                progress,
            )
            response = self._http.json("POST", "/upload_asset", content=body, headers=headers)
        return AssetObject.model_validate(response["data"])

    def upload_many(
        self, items: Iterable[Upload | Mapping[str, Any]], *, progress: Progress | None = None
    ) -> list[AssetObject]:
        """In batches (``POST /batch/upload``), all or nothing; see the module docstring."""
        requests = [Upload.fields_of(item) for item in items]
        limits = self._batch_limits()
        if limits is None:
            return super().upload_many(requests, progress=progress)
        entries: list[bytes] = []
        parts: list[FilePart | None] = []
        for fields in requests:
            build_uri(fields["name"], fields["version"], fields["tag"])  # before any byte
            tags = fields.get("tags")
            if tags is not None and not isinstance(tags, (str, bytes, Mapping)):
                tags = list(tags)
            filename = os.path.basename(fields.get("filename") or _source_name(fields["source"]))
            content_type = fields.get("content_type")
            entries.append(
                json_body(
                    {
                        "asset_name": fields["name"],
                        "asset_version": {"version": fields["version"], "tag": fields["tag"]},
                        "asset_metadata": fields.get("metadata"),
                        "asset_tags": tags,
                        "filename": filename,
                        "content_type": content_type,
                    },
                    "asset_metadata",
                )
            )
            source = fields["source"]
            parts.append(FilePart(source, source_size(source)))
        return self._send_batches("/batch/upload", entries, parts, limits, progress)

    def register_many(self, assets: Iterable[AssetObject | Mapping[str, Any]]) -> list[AssetObject]:
        """In batches (``POST /batch/register``), all or nothing; see the module docstring."""
        records = [_record_fields(asset) for asset in assets]
        limits = self._batch_limits()
        if limits is None:
            return super().register_many(records)
        entries = [json_body(record, "the asset") for record in records]
        return self._send_batches("/batch/register", entries, [None] * len(entries), limits)

    def import_assets(
        self, items: Iterable[ImportItem], *, progress: Progress | None = None
    ) -> list[AssetObject]:
        """In batches (``POST /batch/import``), all or nothing; see the module docstring."""
        entries: list[bytes] = []
        parts: list[FilePart | None] = []
        for item in items:
            if not isinstance(item, ImportItem):
                raise InvalidInputError("each item of an import must be an ImportItem")
            record = _record_fields(item.record)
            entries.append(json_body(record, "the record"))
            if item.source is None:
                parts.append(None)
                continue
            info = record.get("asset_file_info") or {}
            size = info.get("file_size")
            known = isinstance(size, int) and not isinstance(size, bool)
            parts.append(FilePart(item.source, size if known else None))
        limits = self._batch_limits()
        if limits is None:
            return super().import_assets([])  # NotSupportedError: the service cannot
        return self._send_batches("/batch/import", entries, parts, limits, progress)

    def _send_batches(
        self,
        path: str,
        entries: list[bytes],
        parts: list[FilePart | None],
        limits: BatchLimits,
        progress: Progress | None = None,
    ) -> list[AssetObject]:
        """One request per batch within ``limits``; if one fails, what the earlier ones
        published is deleted before the error is raised."""
        done: list[AssetObject] = []
        sizes = [part.size if part is not None else 0 for part in parts]
        try:
            for span in batches(entries, sizes, limits):
                files = [part for part in (parts[i] for i in span) if part is not None]
                if path == "/batch/register":
                    body = b"[" + b",".join(entries[i] for i in span) + b"]"
                    response = self._http.json(
                        "POST", path, content=body, headers={"Content-Type": "application/json"}
                    )
                else:
                    headers, stream = form([entries[i] for i in span], files, progress)
                    response = self._http.json("POST", path, content=stream, headers=headers)
                done.extend(AssetObject.model_validate(doc) for doc in response["data"])
        except BaseException:
            for asset in reversed(done):
                with contextlib.suppress(AssetStoreError):
                    self.delete(asset.asset_uri, expected_revision=asset.revision)
            raise
        return done

    def register(self, asset: AssetObject | Mapping[str, Any]) -> AssetObject:
        fields = asset.model_dump(mode="json") if isinstance(asset, AssetObject) else asset
        if not isinstance(fields, Mapping):
            raise InvalidInputError("an asset must be an AssetObject or a JSON object")
        response = self._http.json("POST", "/asset", body=dict(fields), what="the asset")
        return AssetObject.model_validate(response["data"])

    # ------------------------------------------------------------------- read
    @staticmethod
    def _asset_path(uri: str) -> str:
        if not isinstance(uri, str) or not uri:
            raise AssetNotFoundError(f"no asset {uri!r}")
        return f"/asset/{url_path(uri)}"

    def get(self, uri: str) -> AssetObject:
        response = self._http.json("GET", self._asset_path(uri), not_found=AssetNotFoundError)
        return AssetObject.model_validate(response["data"])

    def get_by_id(self, asset_id: str) -> AssetObject:
        found = self.query({"asset_id": asset_id}, limit=1) if isinstance(asset_id, str) else []
        if not found:
            raise AssetNotFoundError(f"no asset with asset_id {asset_id!r}")
        return found[0]

    def query(
        self,
        filter: Filter | None = None,
        *,
        sort: Sort | None = None,
        skip: int = 0,
        limit: int | None = None,
        all_stores: bool = False,
    ) -> list[AssetObject]:
        if not skip and limit is None:
            return list(self.iter_query(filter, sort=sort, all_stores=all_stores))
        return list(self._assets(filter, sort, skip, limit, all_stores))

    def iter_query(
        self,
        filter: Filter | None = None,
        *,
        sort: Sort | None = None,
        all_stores: bool = False,
    ) -> Iterator[AssetObject]:
        """The NDJSON export (``POST /assets/export``), read as it arrives; pages of
        ``POST /assets`` from a service without it or with ``max_results`` set."""
        docs = self._exported(filter, sort, all_stores)
        if docs is not None:
            return (AssetObject.model_validate(doc) for doc in docs)
        results = self._assets(filter, sort, 0, None, all_stores)
        first = next(results, None)  # the service checks the filter on the first page
        return results if first is None else itertools.chain([first], results)

    def iter_documents(
        self, filter: Filter | None = None, *, sort: Sort | None = None
    ) -> Iterator[dict[str, Any]]:
        """The export's lines as they are (no model built for each)."""
        docs = self._exported(filter, sort, False)
        if docs is not None:
            return docs
        return super().iter_documents(filter, sort=sort)

    def _exported(
        self, filter: Filter | None, sort: Sort | None, all_stores: bool
    ) -> Iterator[dict[str, Any]] | None:
        """The records of ``POST /assets/export``, the filter already checked by the
        service; None where the service has no export or caps its answers, and on a
        capped connection (a registered store in a federated search: bounded pages only)."""
        if not self._export_supported or self._http.capped:
            return None
        params: dict[str, Any] = {}
        if sort is not None and (text := sort_param(sort)):
            params["sort"] = text
        if all_stores:
            params["all_stores"] = "true"
        body = json_body({} if filter is None else filter, "the filter")
        docs = ndjson_records(self._http, "/assets/export", body, params)
        try:
            first = next(docs, None)  # the service checks the filter before it answers
        except NotFoundError:
            self._export_supported = False  # an older service
            return None
        except TooManyResultsError:
            return None  # the service caps its answers: pages stay within the cap
        return iter(()) if first is None else itertools.chain([first], docs)

    def _assets(
        self,
        filter: Filter | None,
        sort: Sort | None,
        skip: int,
        limit: int | None,
        all_stores: bool,
    ) -> Iterator[AssetObject]:
        docs = pages(
            self._http,
            "/assets",
            filter,
            sort=sort,
            skip=skip,
            limit=limit,
            identity=lambda doc: (doc.get("asset_uri"), doc.get("assets_db_id")),
            page_size=self._page_size,
            params={"all_stores": "true"} if all_stores else None,
        )
        return (AssetObject.model_validate(doc) for doc in docs)

    def count(self, filter: Filter | None = None, *, all_stores: bool = False) -> int:
        page = self._http.json(
            "POST",
            "/assets",
            body={} if filter is None else filter,
            what="the filter",
            params={"limit": 0, **({"all_stores": "true"} if all_stores else {})},
        )
        return int(page["total"])

    def resolve(self, name: str, spec: str = "latest", *, tag: str | None = None) -> AssetObject:
        if not isinstance(name, str) or not name:
            raise AssetNotFoundError(f"no asset named {name!r}")
        params = {"spec": spec} if tag is None else {"spec": spec, "tag": tag}
        response = self._http.json(
            "GET", f"/resolve/{url_path(name)}", params=params, not_found=AssetNotFoundError
        )
        return AssetObject.model_validate(response["data"])

    # ------------------------------------------------------------------ files
    def open(self, uri: str, *, start: int = 0, end: int | None = None) -> BinaryIO:
        return self.open_asset(self.get(uri), start=start, end=end)

    def open_asset(self, asset: AssetObject, *, start: int = 0, end: int | None = None) -> BinaryIO:
        require_stored_file(asset)
        uri = asset.asset_uri
        size = int(asset.file_size or 0)
        end = check_range(start, end, size)
        whole = start == 0 and end == size
        if start == end and not whole:
            return io.BytesIO(b"")
        headers = {"Accept-Encoding": "identity", "Accept": "*/*"}
        if not whole:
            headers["Range"] = f"bytes={start}-{end - 1}"
        status, body = self._http.download(
            f"/asset-object/{url_segment(asset.asset_id)}", headers, not_found=AssetNotFoundError
        )
        if status != (200 if whole else 206):
            body.close()
            raise AssetStoreError(f"{self.base_url} answered HTTP {status} to a download of {uri}")
        if whole:
            return VerifyingReader(
                ResponseReader(body, uri, size),  # type: ignore[return-value]
                size=size,
                sha256=asset.sha256 or "",
                label=uri,
            )
        return ResponseReader(body, uri, end - start, exact=True)  # type: ignore[return-value]

    def open_many(self, assets: Iterable[AssetObject]) -> Iterator[BinaryIO]:
        """One ``POST /batch/download`` per ``max_batch_items`` files; each file verified
        against its record's size and sha256 as it is read."""
        wanted = list(assets)
        for asset in wanted:
            require_stored_file(asset)
        limits = self._batch_limits()
        if limits is None:
            yield from super().open_many(wanted)
            return
        for start in range(0, len(wanted), limits.items):
            span = wanted[start : start + limits.items]
            body = orjson.dumps([asset.asset_id for asset in span])
            response = post_streamed(self._http, "/batch/download", body, {}, "*/*")
            frames = FramedFiles(response, self.base_url)
            try:
                for asset in span:
                    size = int(asset.file_size or 0)
                    reader = frames.next_file(asset.asset_id, size)
                    yield VerifyingReader(  # type: ignore[misc]
                        reader, size=size, sha256=asset.sha256 or "", label=asset.asset_uri
                    )
                    reader.drain()
                frames.finish()
            finally:
                frames.close()

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
        response = self._http.json(
            "PUT",
            self._asset_path(uri),
            body=dict(changes),
            what="the changes",
            headers=if_match(expected_revision),
            not_found=AssetNotFoundError,
        )
        return AssetObject.model_validate(response["data"])

    def delete(self, uri: str, *, expected_revision: int | None = None) -> None:
        self._http.json(
            "DELETE",
            self._asset_path(uri),
            headers=if_match(expected_revision),
            not_found=AssetNotFoundError,
        )

    # ------------------------------------------------------------ maintenance
    def fsck(self, *, verify_checksums: bool = True) -> FsckReport:
        response = self._http.json(
            "POST", "/admin/fsck", params={"verify_checksums": str(verify_checksums).lower()}
        )
        return FsckReport.model_validate(response["data"])

    def gc(self, *, older_than: float = 3600.0, quarantine: bool = False) -> GcReport:
        params: dict[str, Any] = {"older_than": older_than}
        if quarantine:
            params["quarantine"] = "true"
        response = self._http.json("POST", "/admin/gc", params=params)
        return GcReport.model_validate(response["data"])

    def create_index(self, field: str) -> None:
        self._http.json("POST", "/admin/index", params={"field": field})


class HttpRegistry(_Remote, Registry):
    """A registry of asset stores served by ``assetstore serve`` at ``base_url``."""

    def __repr__(self) -> str:
        return f"HttpRegistry({self._http.base_url!r})"

    def register(
        self, entry: AssetsDBRegistry | Mapping[str, Any], *, check_health: bool = False
    ) -> AssetsDBRegistry:
        fields = entry.model_dump(mode="json") if isinstance(entry, AssetsDBRegistry) else entry
        if not isinstance(fields, Mapping):
            raise InvalidInputError("a registry entry must be a JSON object")
        response = self._http.json(
            "POST",
            "/asset_registry",
            body=dict(fields),
            what="the registry entry",
            params={"check_health": str(bool(check_health)).lower()},
        )
        return AssetsDBRegistry.model_validate(response["data"])

    @staticmethod
    def _entry_path(registry_id: str, route: str = "/asset_registry") -> str:
        if not isinstance(registry_id, str) or not registry_id:
            raise RegistryNotFoundError(f"no registry entry {registry_id!r}")
        return f"{route}/{url_segment(registry_id)}"

    def get(self, registry_id: str) -> AssetsDBRegistry:
        response = self._http.json(
            "GET", self._entry_path(registry_id), not_found=RegistryNotFoundError
        )
        return AssetsDBRegistry.model_validate(response["data"])

    def update(
        self,
        registry_id: str,
        changes: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
    ) -> AssetsDBRegistry:
        if not isinstance(changes, Mapping):
            raise InvalidInputError("changes must be a JSON object of fields to set")
        response = self._http.json(
            "PUT",
            self._entry_path(registry_id),
            body=dict(changes),
            what="the changes",
            headers=if_match(expected_revision),
            not_found=RegistryNotFoundError,
        )
        return AssetsDBRegistry.model_validate(response["data"])

    def delete(self, registry_id: str) -> None:
        self._http.json("DELETE", self._entry_path(registry_id), not_found=RegistryNotFoundError)

    def query(
        self,
        filter: Filter | None = None,
        *,
        sort: Sort | None = None,
        skip: int = 0,
        limit: int | None = None,
    ) -> list[AssetsDBRegistry]:
        return list(self._entries(filter, sort, skip, limit))

    def iter_query(
        self, filter: Filter | None = None, *, sort: Sort | None = None
    ) -> Iterator[AssetsDBRegistry]:
        results = self._entries(filter, sort, 0, None)
        first = next(results, None)  # the service checks the filter on the first page
        return results if first is None else itertools.chain([first], results)

    def _entries(
        self, filter: Filter | None, sort: Sort | None, skip: int, limit: int | None
    ) -> Iterator[AssetsDBRegistry]:
        docs = pages(
            self._http,
            "/asset_registries",
            filter,
            sort=sort,
            skip=skip,
            limit=limit,
            identity=lambda doc: doc.get("asset_registry_id"),
            page_size=self._page_size,
        )
        return (AssetsDBRegistry.model_validate(doc) for doc in docs)

    def count(self, filter: Filter | None = None) -> int:
        page = self._http.json(
            "POST",
            "/asset_registries",
            body={} if filter is None else filter,
            what="the filter",
            params={"limit": 0},
        )
        return int(page["total"])

    def check_health(self, registry_id: str) -> HealthReport:
        """The report, whatever the store's health: the service answers 503 (with the
        report) for a store that is not healthy."""
        path = self._entry_path(registry_id, "/check_health")
        reply = self._http.request("GET", path)
        body = _json_object(reply.content)
        report = body.get("report", body.get("data") if reply.status_code == 200 else None)
        if reply.status_code in (200, 503) and isinstance(report, dict) and "status" in report:
            return HealthReport.model_validate(report)
        raise error_for(
            reply.status_code, reply.content, "GET", reply.url, None, RegistryNotFoundError
        )

    def search_assets(
        self,
        filter: Filter | None,
        registries: Filter | Sequence[str] | None = None,
        *,
        sort: Sort | None = None,
        limit: int | None = None,
        timeout: float | None = None,
    ) -> SearchResult:
        """The server runs the search (``POST /asset_registries/search``) with its own
        address policy and timeout; ``timeout`` is ignored here."""
        if isinstance(sort, Mapping):
            sort = list(sort.items())
        body = {"filter": filter or {}, "registries": registries, "sort": sort, "limit": limit}
        response = self._http.json("POST", "/asset_registries/search", body=body, what="the search")
        return SearchResult.model_validate(response["data"])


def _record_fields(asset: AssetObject | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(asset, AssetObject):
        return asset.model_dump(mode="json")
    if not isinstance(asset, Mapping):
        raise InvalidInputError("an asset must be an AssetObject or a JSON object")
    return dict(asset)


def _source_name(source: Any) -> str:
    """The file name a source stands for, if any (a path's, or a file object's ``name``)."""
    if isinstance(source, (str, os.PathLike)):
        return os.path.basename(os.fspath(source))
    name = getattr(source, "name", "")
    return os.path.basename(name) if isinstance(name, str) else ""


def _json_object(content: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(content)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def open_http_store(
    location: str,
    *,
    metadata: str | None = None,
    public_url: str | None = None,
    assets_db_id: str | None = None,
    token: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    total_timeout: float | None = None,
    address_policy: AddressPolicy | None = None,
    verify: bool = True,
    max_body: int | None = None,
    **options: Any,
) -> HttpAssetStore:
    """The store served at ``location`` (``http(s)://host:port[/prefix]``).

    ``metadata``, ``public_url`` and ``assets_db_id`` are accepted because ``open_store``
    passes them to every whole store, and ignored: the server owns its metadata, its public
    URL and its id (read from its ``/health``). ``timeout`` bounds each wait,
    ``total_timeout`` each whole call but downloads; ``address_policy`` restricts where the
    client may connect and ``max_body`` how large an answer it reads (federated search uses
    both)."""
    if options:
        raise InvalidInputError(f"unknown options for an http:// store: {sorted(options)}")
    return HttpAssetStore(
        location,
        token=token,
        timeout=timeout,
        total_timeout=total_timeout,
        address_policy=address_policy,
        verify=verify,
        max_body=max_body,
    )


def open_http_registry(
    location: str,
    *,
    token: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    total_timeout: float | None = None,
    address_policy: AddressPolicy | None = None,
    verify: bool = True,
    max_body: int | None = None,
    **options: Any,
) -> HttpRegistry:
    """The registry served at ``location`` (``http(s)://host:port[/prefix]``)."""
    if options:
        raise InvalidInputError(f"unknown options for an http:// registry: {sorted(options)}")
    return HttpRegistry(
        location,
        token=token,
        timeout=timeout,
        total_timeout=total_timeout,
        address_policy=address_policy,
        verify=verify,
        max_body=max_body,
    )


__all__ = ["HttpAssetStore", "HttpRegistry", "open_http_registry", "open_http_store"]
