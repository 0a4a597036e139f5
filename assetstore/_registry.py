"""The one :class:`~assetstore.contract.Registry` implementation, over any
:class:`~assetstore.contract.DocumentStore`, with safe health checks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from assetstore._federation import StoreOpener, search_assets
from assetstore._health import check_store_health
from assetstore._outbound import AddressPolicy, CallLimits
from assetstore._records import load_record
from assetstore._revisions import delete_document, update_document
from assetstore._validation import check_json_object, check_tags, check_url_field, describe
from assetstore.contract import Registry
from assetstore.errors import (
    AlreadyExistsError,
    AssetStoreError,
    InvalidInputError,
    ReadOnlyFieldError,
    RegistryNotFoundError,
)
from assetstore.models import (
    REGISTRY_IDENTITY_FIELDS,
    REGISTRY_MUTABLE_FIELDS,
    AssetsDBRegistry,
    Filter,
    HealthReport,
    SearchResult,
    Sort,
    utc_now,
)
from assetstore.ports import DocumentStore

_URL_SCHEMES = ("http", "https")
MAX_NAME_LENGTH = 200
MAX_ID_LENGTH = 128


class StoreRegistry(Registry):
    """A registry of asset stores kept in a document store."""

    def __init__(
        self,
        documents: DocumentStore,
        *,
        address_policy: AddressPolicy | None = None,
        health_limits: CallLimits | None = None,
        federation_limits: CallLimits | None = None,
        store_opener: StoreOpener | None = None,
    ) -> None:
        self._documents = documents
        #: Where health checks and federated searches may connect.
        self.address_policy = address_policy or AddressPolicy()
        self.health_limits = health_limits or CallLimits()
        self.federation_limits = federation_limits or CallLimits(max_body=32 << 20)
        self._store_opener = store_opener

    def __repr__(self) -> str:
        return f"StoreRegistry({self._documents!r})"

    def register(
        self, entry: AssetsDBRegistry | Mapping[str, Any], *, check_health: bool = False
    ) -> AssetsDBRegistry:
        fields = entry.model_dump() if isinstance(entry, AssetsDBRegistry) else entry
        if not isinstance(fields, Mapping):
            raise InvalidInputError("a registry entry must be a JSON object")
        try:
            parsed = AssetsDBRegistry.model_validate(
                {k: v for k, v in fields.items() if k != "asset_registry_id" or v}
            )
        except ValidationError as exc:
            raise InvalidInputError(describe(exc)) from None
        now = utc_now()
        record = parsed.model_copy(
            update={
                "asset_registry_id": _check_id(parsed.asset_registry_id),
                **_checked_fields(parsed.model_dump()),
                "created_at": now,
                "updated_at": now,
                "revision": 1,
            }
        )
        if self._documents.get(record.asset_registry_id) is not None:
            raise AlreadyExistsError(f"registry entry {record.asset_registry_id!r} already exists")
        if check_health:
            report = check_store_health(
                record.asset_registry_id,
                record.asset_registry_public_url,
                self.address_policy,
                self.health_limits,
            )
            if report.status != "healthy":
                remedy = (
                    "the operator may allow its network (ASSETSTORE_HEALTH_ALLOWED_NETWORKS="
                    "private or a CIDR such as 192.168.0.0/16; assetstore serve "
                    "--allow-network CIDR)"
                    if report.status == "refused"
                    else "fix the store"
                )
                raise InvalidInputError(
                    f"{report.url} is not healthy ({report.status}: {report.error}); {remedy}, "
                    "or register it without the check (HTTP: ?check_health=false; Python: "
                    "check_health=False)"
                )
        self._documents.insert(record.to_document())
        return record

    def get(self, registry_id: str) -> AssetsDBRegistry:
        doc = self._documents.get(registry_id) if isinstance(registry_id, str) else None
        if doc is None:
            raise RegistryNotFoundError(f"no registry entry {registry_id!r}")
        return load_record(AssetsDBRegistry, doc, self._documents)

    def update(
        self,
        registry_id: str,
        changes: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
    ) -> AssetsDBRegistry:
        if not isinstance(changes, Mapping):
            raise InvalidInputError("changes must be a JSON object of fields to set")

        def change(current: AssetsDBRegistry) -> dict[str, Any]:
            doc = current.to_document()
            for field, value in changes.items():
                if field in REGISTRY_IDENTITY_FIELDS:
                    if value != doc.get(field):
                        raise ReadOnlyFieldError(f"{field} of a registry entry cannot be changed")
                elif field not in REGISTRY_MUTABLE_FIELDS:
                    raise InvalidInputError(
                        f"unknown field {field!r}; an update may set "
                        f"{sorted(REGISTRY_MUTABLE_FIELDS)}"
                    )
            proposed = {**doc, **{k: v for k, v in changes.items() if k in REGISTRY_MUTABLE_FIELDS}}
            return {**doc, **_checked_fields(proposed)}

        return update_document(
            self._documents,
            registry_id,
            change,
            model=AssetsDBRegistry,
            expected_revision=expected_revision,
            not_found=lambda: RegistryNotFoundError(f"no registry entry {registry_id!r}"),
        )

    def delete(self, registry_id: str) -> None:
        delete_document(
            self._documents,
            registry_id,
            expected_revision=None,
            not_found=lambda: RegistryNotFoundError(f"no registry entry {registry_id!r}"),
        )

    def query(
        self,
        filter: Filter | None = None,
        *,
        sort: Sort | None = None,
        skip: int = 0,
        limit: int | None = None,
    ) -> list[AssetsDBRegistry]:
        docs = self._documents.find(filter, sort=sort, skip=skip, limit=limit)
        return [load_record(AssetsDBRegistry, doc, self._documents) for doc in docs]

    def iter_query(
        self, filter: Filter | None = None, *, sort: Sort | None = None
    ) -> Iterator[AssetsDBRegistry]:
        docs = self._documents.iter_find(filter, sort=sort)
        return (AssetsDBRegistry.model_validate(doc) for doc in docs)

    def count(self, filter: Filter | None = None) -> int:
        return self._documents.count(filter)

    def check_health(self, registry_id: str) -> HealthReport:
        entry = self.get(registry_id)
        return check_store_health(
            entry.asset_registry_id,
            entry.asset_registry_public_url,
            self.address_policy,
            self.health_limits,
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
        if self._store_opener is None:
            raise AssetStoreError(
                "this registry cannot search stores: it was made without a store opener "
                "(open it with assetstore.open_registry)"
            )
        limits = self.federation_limits
        if timeout is not None:
            limits = replace(limits, total_timeout=timeout)
        return search_assets(
            self,
            filter,
            registries,
            sort=sort,
            limit=limit,
            opener=self._store_opener,
            policy=self.address_policy,
            limits=limits,
        )

    def close(self) -> None:
        self._documents.close()


def _check_id(registry_id: str) -> str:
    if (
        not registry_id
        or len(registry_id) > MAX_ID_LENGTH
        or not all(char.isalnum() or char in "-_." for char in registry_id)
        # "." and ".." are dot segments: URL normalisation turns /asset_registry/.. into /
        or registry_id in (".", "..")
    ):
        raise InvalidInputError(
            f"asset_registry_id {registry_id!r} must be 1-{MAX_ID_LENGTH} letters, digits, "
            "'-', '_' or '.' (and not '.' or '..')"
        )
    return registry_id


def _checked_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    name = fields.get("asset_registry_name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(f"asset_registry_name is required (1-{MAX_NAME_LENGTH} characters)")
    return {
        "asset_registry_name": name,
        "asset_registry_metadata": check_json_object(
            fields.get("asset_registry_metadata"), "asset_registry_metadata"
        ),
        "asset_registry_tags": check_tags(fields.get("asset_registry_tags"), "asset_registry_tags"),
        "asset_registry_public_url": check_url_field(
            fields.get("asset_registry_public_url"),
            "asset_registry_public_url",
            required=True,
            schemes=_URL_SCHEMES,
        ),
    }
