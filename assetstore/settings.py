"""Every setting assetstore reads from the environment, in one place.

This is the only module that reads environment variables. Only the composition root
(:mod:`assetstore.open`), the command line and the HTTP service consult it; backends take
plain constructor arguments, so a library user who passes everything explicitly is never
surprised by the environment.

* :class:`Settings`: where the store, its metadata and the registry are, and the
  backends' options (the original service's ``MONGO_URL``, ``S3_*``, ``AWS_*`` and
  ``PUBLIC_URL`` included).
* :class:`ServiceSettings`: the limits and switches of ``assetstore serve``
  (``ASSETSTORE_<FIELD>``).

The README's configuration tables list every variable; a test holds them to the fields here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from assetstore._outbound import AddressPolicy, CallLimits
from assetstore._validation import describe
from assetstore.errors import InvalidInputError

ENV_PREFIX = "ASSETSTORE_"
MiB = 1 << 20
#: What ``private`` stands for in ``health_allowed_networks``: the RFC 1918 networks and
#: IPv6 unique local addresses, where clusters run; never loopback, link-local (cloud
#: metadata, 169.254.169.254) or any other special range.
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")


def _env(*names: str) -> dict[str, Any]:
    """The environment variables a field is read from, first found wins."""
    return {"env": list(names)}


def env_names(model: type[BaseModel], field: str) -> list[str]:
    """The variables ``field`` of ``model`` is read from (default ``ASSETSTORE_<FIELD>``)."""
    extra = model.model_fields[field].json_schema_extra
    names = extra.get("env") if isinstance(extra, dict) else None
    return [str(n) for n in names] if isinstance(names, list) else [ENV_PREFIX + field.upper()]


def _from_env(
    model: type[BaseModel], environ: Mapping[str, str] | None, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        raw = next((environ[v] for v in env_names(model, name) if environ.get(v)), None)
        if raw is None:
            continue
        if str(field.annotation).startswith("list"):
            text = raw.strip()
            values[name] = (
                _json_list(text)
                if text.startswith("[")
                else [part.strip() for part in text.split(",") if part.strip()]
            )
        else:
            values[name] = raw
    values.update({key: value for key, value in overrides.items() if value is not None})
    return values


def _json_list(text: str) -> Any:
    try:
        return orjson.loads(text)
    except ValueError as exc:
        raise InvalidInputError(f"invalid setting: {text!r} is not JSON ({exc})") from exc


class Settings(BaseModel):
    """Where things are, and the backends' options; see the README's "Configuration"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    store_url: str | None = Field(
        None,
        description="store location (default ./assetstore-data)",
        json_schema_extra=_env("ASSETSTORE_URL"),
    )
    metadata_url: str | None = Field(
        None,
        description="where the store's metadata lives, if not beside it",
        json_schema_extra=_env("ASSETSTORE_METADATA_URL"),
    )
    registry_url: str | None = Field(
        None,
        description="registry location (default: MONGO_URL, else the store's)",
        json_schema_extra=_env("ASSETSTORE_REGISTRY_URL"),
    )
    public_url: str | None = Field(
        None,
        description="the address clients download from (asset_public_url)",
        json_schema_extra=_env("ASSETSTORE_PUBLIC_URL", "PUBLIC_URL"),
    )
    db_id: str | None = Field(
        None,
        description="the store's assets_db_id (default: generated once, kept in store.json)",
        json_schema_extra=_env("ASSETSTORE_DB_ID"),
    )
    token: SecretStr | None = Field(
        None,
        description="bearer token: the served store's (serve), or the one of the store at "
        "ASSETSTORE_URL (client); never sent anywhere else",
        json_schema_extra=_env("ASSETSTORE_TOKEN"),
    )
    checkpoint_bytes: int | None = Field(
        None,
        ge=0,
        description="TinyDB journal size that triggers a checkpoint (0: after every change)",
        json_schema_extra=_env("ASSETSTORE_CHECKPOINT_BYTES"),
    )
    mongo_max_time_ms: int | None = Field(
        None,
        ge=1,
        description="server-side time limit of every MongoDB query (default 10000)",
        json_schema_extra=_env("ASSETSTORE_MONGO_MAX_TIME_MS"),
    )
    mongo_url: str | None = Field(
        None,
        description="MongoDB for an s3:// store's metadata and for the registry",
        json_schema_extra=_env("MONGO_URL"),
    )
    s3_bucket_name: str | None = Field(
        None,
        description="with no store location: the store is s3://<bucket>",
        json_schema_extra=_env("S3_BUCKET_NAME"),
    )
    s3_endpoint_url: str | None = Field(
        None,
        description="S3-compatible endpoint (MinIO, Ceph...)",
        json_schema_extra=_env("S3_ENDPOINT_URL"),
    )
    s3_create_bucket: bool | None = Field(
        None,
        description="create a missing bucket",
        json_schema_extra=_env("ASSETSTORE_S3_CREATE_BUCKET"),
    )
    s3_checksums: str | None = Field(
        None,
        description="botocore's request_checksum_calculation: when_required (default) or "
        "when_supported",
        json_schema_extra=_env("ASSETSTORE_S3_CHECKSUMS"),
    )
    aws_access_key_id: str | None = Field(
        None, description="S3 access key", json_schema_extra=_env("AWS_ACCESS_KEY_ID")
    )
    aws_secret_access_key: SecretStr | None = Field(
        None, description="S3 secret key", json_schema_extra=_env("AWS_SECRET_ACCESS_KEY")
    )
    aws_region: str | None = Field(
        None, description="S3 region", json_schema_extra=_env("AWS_REGION", "AWS_DEFAULT_REGION")
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from the environment, with ``overrides`` (None values ignored) first.
        Raises :class:`InvalidInputError` naming the bad setting."""
        try:
            return cls.model_validate(_from_env(cls, environ, overrides))
        except ValidationError as exc:
            raise InvalidInputError(f"invalid setting: {describe(exc)}") from exc

    def token_for(self, location: str) -> str | None:
        """``ASSETSTORE_TOKEN`` if ``location`` is the store ``ASSETSTORE_URL`` names (same
        scheme, host and port), else None: a credential from the environment is bound to
        the store it was configured for and never sent to another."""
        if self.token is None or not self.store_url:
            return None
        if _origin(location) != _origin(self.store_url):
            return None
        return self.token.get_secret_value()


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None


class ServiceSettings(BaseModel):
    """How ``assetstore serve`` behaves; see the README's "HTTP service" for each field.

    Values come from arguments, else from ``ASSETSTORE_<FIELD>`` (``PUBLIC_URL`` too, for
    ``public_url``), else the defaults. Lists are JSON (``["https://a.example"]``) or
    comma-separated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Bearer token required for writes (POST/PUT/DELETE that change something, admin calls).
    #: None: writes are open (fine on 127.0.0.1, not on a network).
    token: SecretStr | None = None
    #: Also require the token for reads (GET, queries, downloads); /health stays open.
    auth_reads: bool = False
    #: The address clients reach the service at; ``asset_public_url`` of uploads is
    #: ``{public_url}/asset-object/{asset_id}``. None: taken from each request.
    public_url: str | None = Field(
        None, json_schema_extra=_env("ASSETSTORE_PUBLIC_URL", "PUBLIC_URL")
    )
    #: Largest file ``POST /upload_asset`` accepts (413 beyond, checked from Content-Length
    #: up front and again while streaming).
    max_upload_bytes: int = Field(default=10 * 1024 * MiB, ge=0)
    #: Largest form field (``asset_metadata``) of an upload.
    max_form_field_bytes: int = Field(default=1 * MiB, ge=1024)
    #: Largest JSON body (filters, updates, registrations): 413 before parsing.
    max_query_bytes: int = Field(default=256 * 1024, ge=1024)
    #: Most assets in one batch request (``POST /batch/upload``, ``/batch/register``,
    #: ``/batch/import``); their files together stay within ``max_upload_bytes``.
    max_batch_items: int = Field(default=10_000, ge=1)
    #: Largest list of records of one batch request (its ``manifest``, or the JSON body of
    #: ``/batch/register``), parsed whole: it bounds the memory one batch takes.
    max_batch_manifest_bytes: int = Field(default=32 * MiB, ge=1024)
    #: A hard cap on the results of one answer of ``POST /assets`` and ``POST
    #: /asset_registries``. None (the default): a query without ``limit`` gets every match,
    #: streamed. A request for more (a larger ``limit``, or no ``limit`` with more matches)
    #: is refused with a ``TooManyResultsError`` that says how to page; never cut short.
    max_results: int | None = Field(default=None, ge=1)
    #: Results of a federated search when the request gives no ``limit`` (also its
    #: largest ``limit``: more is refused, not cut short).
    federation_max_results: int = Field(default=1000, ge=1)
    #: Uploads streamed into the store at once (each holds one worker thread); one more
    #: is answered 503 with Retry-After.
    upload_workers: int = Field(default=16, ge=1)
    #: Seconds an upload holding a worker may go without delivering its next 1 MiB (or the
    #: end of its file), and without sending a byte at all: then 408, and nothing is kept.
    upload_idle_timeout: float = Field(default=60.0, gt=0)
    #: File bytes all uploads together may hold in memory (received, not yet written); a
    #: new upload that would go over is answered 503 with Retry-After.
    upload_buffer_bytes: int = Field(default=128 * MiB, ge=8 * MiB)
    #: Seconds a query (POST /assets, POST /asset_registries) may spend evaluating, as
    #: MongoDB's maxTimeMS counts (not waiting for a turn or for the client); over it, 400
    #: QueryTimeoutError (MongoDB itself has ASSETSTORE_MONGO_MAX_TIME_MS).
    query_time_limit: float = Field(default=10.0, gt=0)
    #: Queries evaluated at once; more wait (see queue_timeout).
    query_workers: int = Field(default=4, ge=1)
    #: Health checks and federated searches running at once; more wait (see queue_timeout).
    outbound_workers: int = Field(default=8, ge=1)
    #: Seconds a query, health check or search waits for its turn before a 503 with
    #: Retry-After; the rest of the service (/health, reads, writes) never waits for them.
    queue_timeout: float = Field(default=10.0, ge=0)
    #: Host names (``Host`` header) the service answers to, besides localhost, the address
    #: a request came in on and the public URL's host: a browser tricked by DNS rebinding
    #: sends the attacker's name. ``.example.com`` also allows its subdomains; ``*`` allows
    #: any (only behind a proxy that checks Host itself).
    allowed_hosts: list[str] = Field(default_factory=list)
    #: Health checks and federated searches may reach loopback and private addresses.
    allow_private_health_checks: bool = False
    #: Networks health checks and federated searches may reach even though they are not
    #: public: CIDR strings, or ``private`` for 10/8, 172.16/12, 192.168/16 and fc00::/7
    #: (``ASSETSTORE_HEALTH_ALLOWED_NETWORKS=private``; ``serve --allow-network``).
    health_allowed_networks: list[str] = Field(default_factory=list)
    health_connect_timeout: float = Field(default=2.0, gt=0)
    health_total_timeout: float = Field(default=5.0, gt=0)
    #: ``POST /asset_registry`` checks the store's /health first (as the original service
    #: did) unless the caller passes ``?check_health=false``.
    register_health_check: bool = True
    #: Seconds a federated search waits for each store (the whole call).
    federation_timeout: float = Field(default=5.0, gt=0)
    #: Largest answer a federated search reads from one store.
    federation_max_bytes: int = Field(default=32 * MiB, ge=1024)
    #: Browser origins allowed by CORS. Empty: no CORS middleware at all. ``*`` is refused.
    cors_origins: list[str] = Field(default_factory=list)
    #: Serve ``POST /admin/fsck`` and ``POST /admin/gc`` (protected like writes).
    admin_endpoints: bool = True
    #: ``spec``: answers show records with exactly the specification's fields (for clients
    #: that build its dataclasses with ``AssetObject(**data)``); ``full`` (the default) adds
    #: ``asset_source``, timestamps and ``revision``. A request's ``?fields=`` wins.
    response_fields: Literal["full", "spec"] = "full"
    #: Serve the web interface at ``/ui`` (and redirect ``/`` there).
    ui: bool = True

    @field_validator("cors_origins")
    @classmethod
    def _explicit_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin.strip() in ("*", "null") or not origin.startswith(("http://", "https://")):
                raise ValueError(
                    f"CORS origin {origin!r} is not an explicit http(s) origin; "
                    "list each allowed origin, e.g. https://app.example.com"
                )
        return [origin.rstrip("/") for origin in origins]

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, hosts: list[str]) -> list[str]:
        names = []
        for host in hosts:
            name = host.strip().lower().rstrip(".")
            if not name or any(c in name for c in "/@?#\\ ") or "://" in name:
                raise ValueError(
                    f"allowed host {host!r} is not a host name (e.g. assets.example.com, "
                    ".example.com or 10.0.0.5)"
                )
            names.append(name)
        return names

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is None or url == "":
            return None
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"public_url {url!r} must be an http:// or https:// URL")
        return url.rstrip("/")

    @field_validator("token")
    @classmethod
    def _non_empty_token(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and not token.get_secret_value():
            return None
        return token

    @field_validator("health_allowed_networks")
    @classmethod
    def _networks(cls, networks: list[str]) -> list[str]:
        expanded: list[str] = []
        for network in networks:
            word = network.strip().lower()
            expanded.extend(PRIVATE_NETWORKS if word == "private" else [network.strip()])
        AddressPolicy(allowed_networks=tuple(expanded))  # refuses what is not a CIDR
        return list(dict.fromkeys(expanded))

    def address_policy(self) -> AddressPolicy:
        """Where health checks and federated searches may connect."""
        return AddressPolicy(
            allow_private=self.allow_private_health_checks,
            allowed_networks=tuple(self.health_allowed_networks),
        )

    def health_limits(self) -> CallLimits:
        """How long a health check may take and how much of the answer it reads."""
        return CallLimits(
            connect_timeout=self.health_connect_timeout,
            total_timeout=self.health_total_timeout,
        )

    def federation_limits(self) -> CallLimits:
        """How long a federated search may wait for one store and how much it reads."""
        return CallLimits(
            connect_timeout=min(self.health_connect_timeout, self.federation_timeout),
            total_timeout=self.federation_timeout,
            max_body=self.federation_max_bytes,
        )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> ServiceSettings:
        """Settings from ``ASSETSTORE_*`` variables, with ``overrides`` (None values ignored)
        taking precedence. Raises :class:`InvalidInputError` naming the bad setting."""
        try:
            return cls.model_validate(_from_env(cls, environ, overrides))
        except ValidationError as exc:
            raise InvalidInputError(f"invalid service setting: {describe(exc)}") from exc
        except InvalidInputError as exc:
            raise InvalidInputError(f"invalid service setting: {exc}") from exc


def documented_variables() -> dict[str, str]:
    """Every environment variable assetstore reads, with what it sets (for the README)."""
    found: dict[str, str] = {}
    for model in (Settings, ServiceSettings):
        for name, field in model.model_fields.items():
            for variable in env_names(model, name):
                found.setdefault(variable, field.description or name)
    return found


def markdown_table() -> str:
    """The README's table of :class:`Settings` (``python -m assetstore.settings`` prints it;
    a test keeps the README's copy equal to it)."""
    rows = ["| environment | what it sets |", "|---|---|"]
    for name, field in Settings.model_fields.items():
        variables = " or ".join(f"`{v}`" for v in env_names(Settings, name))
        rows.append(f"| {variables} | {field.description} |")
    return "\n".join(rows)


__all__ = [
    "ServiceSettings",
    "Settings",
    "documented_variables",
    "env_names",
    "markdown_table",
]


if __name__ == "__main__":
    print(markdown_table())
