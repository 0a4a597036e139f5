"""``ServiceSettings``: every limit and switch of the HTTP service, in one pydantic model.

Values come from arguments, else from the environment (``ASSETSTORE_`` + the field name in
upper case, e.g. ``ASSETSTORE_TOKEN``, ``ASSETSTORE_MAX_UPLOAD_BYTES``), else the defaults.
Lists are given in the environment as JSON (``["https://a.example"]``) or comma-separated.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from assetstore._health import HealthCheckPolicy
from assetstore._validation import describe
from assetstore.errors import InvalidInputError

ENV_PREFIX = "ASSETSTORE_"
MiB = 1 << 20


class ServiceSettings(BaseModel):
    """How the service behaves; see the README's "HTTP service" section for each field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Bearer token required for writes (POST/PUT/DELETE that change something, admin calls).
    #: None: writes are open (fine on 127.0.0.1, not on a network).
    token: SecretStr | None = None
    #: Also require the token for reads (GET, queries, downloads); /health stays open.
    auth_reads: bool = False
    #: The address clients reach the service at; ``asset_public_url`` of uploads is
    #: ``{public_url}/asset-object/{asset_id}``. None: taken from each request.
    public_url: str | None = None
    #: Largest file ``POST /upload_asset`` accepts (413 beyond, checked from Content-Length
    #: up front and again while streaming).
    max_upload_bytes: int = Field(default=10 * 1024 * MiB, ge=0)
    #: Largest form field (``asset_metadata``) of an upload.
    max_form_field_bytes: int = Field(default=1 * MiB, ge=1024)
    #: Largest JSON body (filters, updates, registrations): 413 before parsing.
    max_query_bytes: int = Field(default=256 * 1024, ge=1024)
    #: Most results one query returns; ``limit`` above it is clamped and paging continues
    #: with ``next_skip``.
    max_results: int = Field(default=1000, ge=1)
    #: Uploads streamed into the store at once (each holds one worker thread).
    upload_workers: int = Field(default=16, ge=1)
    #: Health checks and federated searches may reach loopback and private addresses.
    allow_private_health_checks: bool = False
    #: Networks health checks may reach even though they are not public (CIDR strings).
    health_allowed_networks: list[str] = Field(default_factory=list)
    health_connect_timeout: float = Field(default=2.0, gt=0)
    health_total_timeout: float = Field(default=5.0, gt=0)
    #: ``POST /asset_registry`` checks the store's /health first (as the original service
    #: did) unless the caller passes ``?check_health=false``.
    register_health_check: bool = True
    #: Seconds a federated search waits for each store.
    federation_timeout: float = Field(default=5.0, gt=0)
    #: Browser origins allowed by CORS. Empty: no CORS middleware at all. ``*`` is refused.
    cors_origins: list[str] = Field(default_factory=list)
    #: Serve ``POST /admin/fsck`` and ``POST /admin/gc`` (protected like writes).
    admin_endpoints: bool = True

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

    def health_policy(self) -> HealthCheckPolicy:
        """The address policy for health checks and federated searches."""
        return HealthCheckPolicy(
            allow_private=self.allow_private_health_checks,
            allowed_networks=list(self.health_allowed_networks),
            connect_timeout=self.health_connect_timeout,
            total_timeout=self.health_total_timeout,
        )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> ServiceSettings:
        """Settings from ``ASSETSTORE_*`` variables, with ``overrides`` (None values ignored)
        taking precedence. Raises :class:`InvalidInputError` naming the bad setting."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            raw = environ.get(ENV_PREFIX + name.upper())
            if raw is None:
                continue
            annotation = str(field.annotation)
            if annotation.startswith("list"):
                text = raw.strip()
                values[name] = (
                    _json_list(text)
                    if text.startswith("[")
                    else [part.strip() for part in text.split(",") if part.strip()]
                )
            else:
                values[name] = raw
        values.update({key: value for key, value in overrides.items() if value is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise InvalidInputError(f"invalid service setting: {describe(exc)}") from None


def _json_list(text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidInputError(f"invalid service setting: {text!r} is not JSON ({exc})") from None
