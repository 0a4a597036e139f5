"""The references the sync section measures the service against, served the way
``assetstore serve`` is (uvicorn, h11, its default event loop, in its own process):

* ``GET /asset/{uri}``: a bare Starlette JSON endpoint answering a fixed asset record, the
  reference for the service's ``GET /asset/{uri}`` under the same load generator;
* ``PUT /files/{name}`` and ``GET /files/{name}``: a plain streaming upload (the request
  body written to a file as it arrives) and download (Starlette's ``FileResponse``): no
  hashing, no metadata, no fsync. The reference for moving large files over HTTP.

    python -m benchmarks.bare_server PORT DIRECTORY
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

RECORD = {
    "asset_uri": "org0/model0:1.0.0-stable",
    "asset_name": "org0/model0",
    "asset_id": "0123456789abcdef0123456789abcdef",
    "assets_db_id": "fedcba9876543210fedcba9876543210",
    "asset_version": {"version": "1.0.0", "tag": "stable"},
    "asset_metadata": {"framework": "pytorch", "params": 1000, "description": "a benchmark asset"},
    "asset_public_url": "https://models.example.com/m0.pt",
    "asset_file_info": {"file_size": 1234, "file_type": "application/octet-stream"},
    "asset_tags": ["bench", "group0"],
    "asset_source": "external",
    "created_at": "2026-01-01T00:00:00.000000Z",
    "updated_at": "2026-01-01T00:00:00.000000Z",
    "revision": 1,
    "asset_origin": {},
}


def app(directory: Path):
    """The reference application, keeping uploaded files in ``directory``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Route

    async def get_asset(request: Request) -> Response:
        return JSONResponse({"success": True, "data": RECORD})

    async def put_file(request: Request) -> Response:
        path = directory / os.path.basename(request.path_params["name"])
        with open(path, "wb") as out:
            async for chunk in request.stream():
                out.write(chunk)
        return JSONResponse({"success": True})

    async def get_file(request: Request) -> Response:
        return FileResponse(directory / os.path.basename(request.path_params["name"]))

    return Starlette(
        routes=[
            Route("/asset/{uri:path}", get_asset),
            Route("/files/{name}", put_file, methods=["PUT"]),
            Route("/files/{name}", get_file, methods=["GET"]),
            Route("/health", get_asset),
        ]
    )


@contextlib.contextmanager
def bare_server(directory: Path) -> Iterator[str]:
    """This module's server in its own process; yields its URL."""
    from .servers import free_port, process_server

    port = free_port()
    argv = [sys.executable, "-m", "benchmarks.bare_server", str(port), str(directory)]
    with process_server(argv, port, what="the bare server") as (url, _):
        yield url


def main(argv: list[str]) -> None:
    import uvicorn

    port, directory = int(argv[0]), Path(argv[1])
    directory.mkdir(parents=True, exist_ok=True)
    config = uvicorn.Config(
        app(directory),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        server_header=False,
        proxy_headers=False,
        http="h11",
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main(sys.argv[1:])
