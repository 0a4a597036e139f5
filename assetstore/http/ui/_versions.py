"""The other versions of an asset's name, in version order, with the latest per tag marked."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from assetstore.contract import AssetStore
from assetstore.models import AssetObject
from assetstore.versions import select, version_key

#: Versions of one name an asset page lists at most (the newest ones; the page says so).
MAX_VERSIONS = 500


@dataclass(frozen=True)
class VersionRow:
    """One version of the name, and whether it is the latest of its tag."""

    asset: AssetObject
    latest_of_tag: bool


@dataclass(frozen=True)
class Versions:
    """The versions of a name shown on an asset page."""

    rows: list[VersionRow]
    total: int

    @property
    def truncated(self) -> bool:
        """True when the name has more versions than are listed."""
        return self.total > len(self.rows)


def latest_per_tag(assets: list[AssetObject]) -> set[str]:
    """The URIs of the latest version of each tag (as ``resolve`` picks it: the highest
    stable version, else the highest prerelease)."""
    by_tag: dict[str, list[AssetObject]] = defaultdict(list)
    for asset in assets:
        by_tag[asset.tag].append(asset)
    latest: set[str] = set()
    for tagged in by_tag.values():
        version = select([a.version for a in tagged], "latest")
        latest.update(a.asset_uri for a in tagged if a.version == version)
    return latest


def versions_of(store: AssetStore, name: str, *, most: int = MAX_VERSIONS) -> Versions:
    """The newest ``most`` versions of ``name``, highest version first; one query (plus a
    count when there are more)."""
    found = store.query({"asset_name": name}, sort=[("created_at", -1)], limit=most)
    total = len(found) if len(found) < most else store.count({"asset_name": name})
    latest = latest_per_tag(found)
    ordered = sorted(found, key=lambda a: (version_key(a.version), a.tag), reverse=True)
    return Versions(
        rows=[VersionRow(asset=a, latest_of_tag=a.asset_uri in latest) for a in ordered],
        total=total,
    )


__all__ = ["MAX_VERSIONS", "VersionRow", "Versions", "latest_per_tag", "versions_of"]
