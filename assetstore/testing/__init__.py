"""Conformance suites shipped with assetstore: every backend, ours or a third party's,
subclasses them in its tests so that all stores behave the same.

>>> from assetstore.testing import AssetStoreConformance, RegistryConformance
"""

from assetstore.testing.registry_suite import RegistryConformance
from assetstore.testing.store_suite import AssetStoreConformance

__all__ = ["AssetStoreConformance", "RegistryConformance"]
