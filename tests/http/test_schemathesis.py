"""A bounded property-based run of schemathesis against the app's own OpenAPI schema
(in-process ASGI): whatever it sends, the service answers without a server error."""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from assetstore import open_registry, open_store
from assetstore.http.app import create_app
from assetstore.settings import ServiceSettings

# No token (so the writes are exercised too), no outbound health checks at registration,
# and short timeouts: a fuzzed registry entry may point anywhere.
SETTINGS = ServiceSettings(
    register_health_check=False,
    health_connect_timeout=0.2,
    health_total_timeout=0.5,
    federation_timeout=0.5,
    max_upload_bytes=1 << 20,
)
APP = create_app(
    open_store(f"memory://fuzz-{uuid.uuid4().hex}"),
    open_registry(f"memory://fuzz-{uuid.uuid4().hex}"),
    SETTINGS,
)
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(autouse=True)
def _seed_a_little_data():
    store = APP.state.store
    if store.count() == 0:
        store.upload(
            b"seed",
            name="SampleAsset",
            version="1.0",
            tag="initial",
            tags=["sample"],
            metadata={"type": "image"},
        )


@SCHEMA.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_server_errors(case):
    response = case.call()
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    )
    content_type = response.headers.get("content-type") or [""]
    if isinstance(content_type, list):
        content_type = content_type[0]
    if content_type.startswith("application/json"):
        body = response.json()
        assert isinstance(body, dict) and "success" in body
