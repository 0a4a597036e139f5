"""Conformance suites shipped with assetstore: every backend, ours or a third party's,
subclasses them in its tests so that all stores behave the same.

>>> from assetstore.testing import AssetStoreConformance, RegistryConformance

A blob or document backend alone: :class:`BlobStoreConformance` and
:class:`DocumentStoreConformance` (:mod:`assetstore.testing.ports_suite`).
"""

from assetstore.testing.ports_suite import BlobStoreConformance, DocumentStoreConformance
from assetstore.testing.registry_suite import RegistryConformance
from assetstore.testing.store_suite import AssetStoreConformance

__all__ = [
    "AssetStoreConformance",
    "BlobStoreConformance",
    "DocumentStoreConformance",
    "RegistryConformance",
]
