"""``assetstore serve`` as a newcomer starts it (issue 12): it says where its data is and
what it may reach, fails clearly (exit 1) on a taken port, and honours ``PUBLIC_URL``."""

from __future__ import annotations

import socket
import subprocess
import sys

import httpx
from live_server import run_cli_server

from assetstore import open_store


def serve_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "assetstore.cli", "serve", *args]


def test_serve_on_a_taken_port_fails_clearly_with_the_generic_code(tmp_path):
    """It exited 3, which the README defines as 'not found'."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            serve_command("--port", str(port)),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "already in use" in done.stderr and "--port" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "assetstore-data").exists()  # failed before opening anything


def test_serve_says_where_its_data_is_and_what_it_may_reach(tmp_path):
    with run_cli_server(tmp_path, "--allow-network", "192.168.0.0/16") as server:
        pass
    log = (tmp_path / "server.log").read_text()
    assert f"serving {server.url}" in log
    assert f"store: {tmp_path / 'assetstore-data'}" in log
    assert f"registry: {tmp_path / 'assetstore-data'}" in log
    assert "may reach public addresses and 192.168.0.0/16" in log


def test_serve_honours_public_url_on_the_default_host(tmp_path):
    """PUBLIC_URL (the original service's variable) works wherever ASSETSTORE_PUBLIC_URL
    does, on the default host too."""
    public = "https://assets.example.test"
    with run_cli_server(tmp_path, env={"PUBLIC_URL": public}) as server:
        with open_store(server.url) as client:
            asset = client.upload(b"data", name="m", version="1", tag="a")
        answer = httpx.get(f"{server.url}/asset/m:1-a").json()
    assert asset.asset_public_url == f"{public}/asset-object/{asset.asset_id}"
    assert answer["data"]["asset_public_url"] == asset.asset_public_url
    assert (
        f"download URLs (asset_public_url) start with {public}"
        in (tmp_path / "server.log").read_text()
    )


def test_serve_help_explains_the_network_options():
    done = subprocess.run(
        serve_command("--help"), capture_output=True, text=True, timeout=60, check=True
    )
    assert "--allow-network" in done.stdout and "private" in done.stdout


def test_docs_work_offline(live):
    """/docs loaded Swagger UI from a CDN and was blank offline: every file it needs is
    served by the service itself."""
    import re

    html = httpx.get(f"{live.url}/docs").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert all(a.startswith("/") for a in assets), assets  # nothing from another host
    for asset in assets:
        assert httpx.get(f"{live.url}{asset}").status_code == 200, asset
    bundle = httpx.get(f"{live.url}{next(a for a in assets if a.endswith('.js'))}").text
    assert "SwaggerUIBundle" in bundle
    assert httpx.get(f"{live.url}/openapi.json").json()["info"]["title"] == "assetstore"
