"""The texts an asset page offers to copy: the URI, the ``assetstore get`` command and the
Python snippet, each ready to paste (shell- and Python-quoted)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from assetstore.models import AssetObject


@dataclass(frozen=True)
class Snippets:
    """What the copy buttons copy."""

    uri: str
    command: str
    python: str


def snippets_for(asset: AssetObject, service_url: str) -> Snippets:
    """The copy texts of ``asset`` served at ``service_url`` (for an external asset, which
    has no stored file, the command and snippet show its record and URL). The token is never
    in them."""
    opened = f"import assetstore\n\nstore = assetstore.open_store({service_url!r})\n"
    if asset.asset_source == "upload":
        action = ["get", asset.asset_uri, "-o", "."]
        python = f"{opened}store.download({asset.asset_uri!r}, '.')\n"
    else:  # an external asset: its file is at its own URL, the store has only the record
        action = ["info", asset.asset_uri]
        python = f"{opened}store.get({asset.asset_uri!r}).asset_public_url\n"
    command = shlex.join(["assetstore", "--store", service_url, *action])
    return Snippets(uri=asset.asset_uri, command=command, python=python)


__all__ = ["Snippets", "snippets_for"]
