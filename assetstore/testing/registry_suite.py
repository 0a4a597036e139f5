"""The behaviour every :class:`~assetstore.contract.Registry` must show.

Subclass :class:`RegistryConformance` and provide a ``registry`` fixture returning a new,
empty registry whose health checks are refused for loopback addresses (the default policy).
"""

from __future__ import annotations

from typing import Any

import pytest

from assetstore.contract import Registry
from assetstore.errors import (
    AlreadyExistsError,
    InvalidInputError,
    InvalidQueryError,
    ReadOnlyFieldError,
    RegistryNotFoundError,
    RevisionMismatchError,
)

RESNET = {
    "asset_registry_name": "ResNet Models registry",
    "asset_registry_metadata": {
        "framework": "PyTorch",
        "version": "1.0",
        "author": "OpenAI",
        "license": "Apache-2.0",
    },
    "asset_registry_tags": ["image-classification", "deep-learning", "pytorch"],
    "asset_registry_public_url": "https://example.com/models/resnet-models-registry",
}


class RegistryConformance:
    """Behaviour shared by every registry. Subclasses provide the ``registry`` fixture."""

    @pytest.fixture
    def registry(self) -> Registry:
        raise NotImplementedError("provide a `registry` fixture returning an empty Registry")

    def test_register_get_like_the_specification(self, registry: Registry) -> None:
        entry = registry.register(RESNET)
        assert len(entry.asset_registry_id) == 36
        assert entry.revision == 1
        fetched = registry.get(entry.asset_registry_id)
        assert fetched == entry
        assert fetched.asset_registry_metadata["framework"] == "PyTorch"

    def test_register_with_own_id_and_duplicates(self, registry: Registry) -> None:
        entry = registry.register({**RESNET, "asset_registry_id": "tes-123e4567"})
        assert entry.asset_registry_id == "tes-123e4567"
        with pytest.raises(AlreadyExistsError):
            registry.register({**RESNET, "asset_registry_id": "tes-123e4567"})

    @pytest.mark.parametrize(
        "fields",
        [
            {"asset_registry_public_url": "https://x.example"},
            {"asset_registry_name": "no url"},
            {"asset_registry_name": "bad url", "asset_registry_public_url": "file:///etc/passwd"},
            {"asset_registry_name": "bad url", "asset_registry_public_url": "gopher://x:70/"},
            {**RESNET, "asset_registry_tags": "pytorch"},
            {**RESNET, "asset_registry_id": "../../etc"},
        ],
    )
    def test_register_refuses_bad_entries(self, registry: Registry, fields: dict[str, Any]) -> None:
        with pytest.raises(InvalidInputError):
            registry.register(fields)
        assert registry.query() == []

    def test_update_like_the_specification(self, registry: Registry) -> None:
        entry = registry.register(RESNET)
        updated = registry.update(
            entry.asset_registry_id,
            {
                "asset_registry_metadata": {"framework": "TensorFlow", "version": "2.0"},
                "asset_registry_tags": ["neural-network", "tensorflow"],
            },
        )
        assert updated.asset_registry_metadata == {"framework": "TensorFlow", "version": "2.0"}
        assert updated.asset_registry_tags == ["neural-network", "tensorflow"]
        assert updated.asset_registry_name == RESNET["asset_registry_name"]
        assert updated.revision == 2
        assert registry.get(entry.asset_registry_id) == updated

    def test_update_rules(self, registry: Registry) -> None:
        entry = registry.register(RESNET)
        with pytest.raises(ReadOnlyFieldError):
            registry.update(entry.asset_registry_id, {"asset_registry_id": "other"})
        with pytest.raises(InvalidInputError):
            registry.update(entry.asset_registry_id, {"unknown": 1})
        with pytest.raises(InvalidInputError):
            registry.update(entry.asset_registry_id, {"asset_registry_public_url": "nope"})
        with pytest.raises(RevisionMismatchError):
            registry.update(
                entry.asset_registry_id, {"asset_registry_tags": []}, expected_revision=5
            )
        with pytest.raises(RegistryNotFoundError):
            registry.update("missing", {"asset_registry_tags": []})
        assert registry.update(entry.asset_registry_id, {}).revision == 1
        assert registry.get(entry.asset_registry_id) == entry

    def test_delete(self, registry: Registry) -> None:
        entry = registry.register(RESNET)
        registry.delete(entry.asset_registry_id)
        with pytest.raises(RegistryNotFoundError) as caught:
            registry.get(entry.asset_registry_id)
        assert isinstance(caught.value, LookupError)
        with pytest.raises(RegistryNotFoundError):
            registry.delete(entry.asset_registry_id)

    def test_query_like_the_specification(self, registry: Registry) -> None:
        resnet = registry.register(RESNET)
        registry.register(
            {
                **RESNET,
                "asset_registry_name": "TF models",
                "asset_registry_metadata": {"framework": "TensorFlow"},
                "asset_registry_tags": ["deep-learning"],
            }
        )
        registry.register(
            {
                **RESNET,
                "asset_registry_name": "Policies",
                "asset_registry_metadata": {},
                "asset_registry_tags": ["policy"],
            }
        )
        found = registry.query(
            {
                "$and": [
                    {"asset_registry_tags": {"$in": ["deep-learning"]}},
                    {"asset_registry_metadata.framework": "PyTorch"},
                ]
            }
        )
        assert [e.asset_registry_id for e in found] == [resnet.asset_registry_id]
        names = [
            e.asset_registry_name
            for e in registry.query(sort=[("asset_registry_name", 1)], limit=2)
        ]
        assert names == ["Policies", "ResNet Models registry"]
        with pytest.raises(InvalidQueryError):
            registry.query({"$where": "1"})
        assert registry.count() == 3
        assert registry.count({"asset_registry_tags": "deep-learning"}) == 2
        with pytest.raises(InvalidQueryError):
            registry.count({"$where": "1"})

    def test_health_check_refuses_loopback_by_default(self, registry: Registry) -> None:
        entry = registry.register({**RESNET, "asset_registry_public_url": "http://127.0.0.1:9"})
        report = registry.check_health(entry.asset_registry_id)
        assert report.status == "refused"
        assert report.asset_registry_id == entry.asset_registry_id
        with pytest.raises(RegistryNotFoundError):
            registry.check_health("missing")


__all__ = ["RegistryConformance"]
