"""assetstore over HTTP: the service of the specification and a client that is itself an
``AssetStore`` / ``Registry``.

* :func:`create_app` (``assetstore.http.app``, needs the ``http`` extra: fastapi, uvicorn,
  python-multipart) builds the FastAPI application; ``assetstore serve`` runs it.
* :class:`HttpAssetStore` and :class:`HttpRegistry` (``assetstore.http.client``, httpx only)
  are what ``open_store("http://...")`` and ``open_registry("http://...")`` return.

Names are imported on first use, so the client never imports the server's dependencies.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "create_app": "assetstore.http.app",
    "ServiceSettings": "assetstore.settings",
    "HttpAssetStore": "assetstore.http.client",
    "HttpRegistry": "assetstore.http.client",
    "open_http_store": "assetstore.http.client",
    "open_http_registry": "assetstore.http.client",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'assetstore.http' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
