"""The original service's real clients, replayed against ``assetstore serve`` (a real
subprocess), asserting what each of them reads. docs/COMPATIBILITY.md has the table.

The clients, as the issue's side-by-side replay used them, written the way they are
written: ``requests`` with its own multipart encoding, ``requests.get(stream=True)``, reads
of ``response.json()["..."]`` and of the status code, and the spec's dataclasses built with
``AssetObject(**data)``:

* the policy-system docs: upload a policy zip, read the returned ``public_url``;
* the policy sandbox: download that URL with ``requests.get(stream=True)`` and unpack it;
* the cluster onboarding docs: register a store at a LAN address and check its health;
* the original registry's health checker: ``GET {store}/health``, status and ``message``;
* clients of the query and error answers (every match, ``message`` on errors).
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import dataclass, field

import pytest
import requests
from live_server import run_cli_server

from assetstore import open_registry


# The specification's dataclasses, as a client of the original service declares them.
@dataclass
class AssetObject:
    asset_uri: str = ""
    asset_name: str = ""
    asset_id: str = ""
    assets_db_id: str = ""
    asset_version: dict[str, str] = field(default_factory=lambda: {"version": "", "tag": ""})
    asset_metadata: dict[str, str] = field(default_factory=dict)
    asset_public_url: str = ""
    asset_file_info: dict[str, str] = field(default_factory=dict)
    asset_tags: list[str] = field(default_factory=list)


@dataclass
class AssetsDBRegistry:
    asset_registry_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    asset_registry_name: str = ""
    asset_registry_metadata: dict[str, str] = field(default_factory=dict)
    asset_registry_tags: list[str] = field(default_factory=list)
    asset_registry_public_url: str = ""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``assetstore serve`` as an AIOS cluster operator runs it: the private ranges allowed
    for health checks (one setting), everything else default."""
    workdir = tmp_path_factory.mktemp("original-clients")
    env = {"ASSETSTORE_HEALTH_ALLOWED_NETWORKS": "private,127.0.0.0/8"}
    with run_cli_server(workdir, env=env) as running:
        yield running.url


def policy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("policy/main.rego", "package aios\ndefault allow = false\n")
        archive.writestr("policy/data.json", '{"roles": ["admin"]}')
    return buffer.getvalue()


def test_policy_system_upload_then_sandbox_download(server, tmp_path):
    """The policy system uploads a zip (requests' own multipart) and keeps ``public_url``;
    the sandbox downloads it with ``requests.get(stream=True)`` and unpacks it."""
    metadata = {
        "asset_name": "policies/access-control",
        "asset_version": {"version": "1.0", "tag": "prod"},
        "asset_metadata": {"description": "access control policy"},
        "asset_tags": ["policy"],
    }
    response = requests.post(
        f"{server}/upload_asset",
        files={"asset": ("policy.zip", policy_zip(), "application/zip")},
        data={"asset_metadata": json.dumps(metadata)},
        timeout=30,
    )
    assert response.ok, response.text
    body = response.json()
    assert body["success"] is True
    public_url = body["public_url"]
    assert body["asset_uri"] == "policies/access-control:1.0-prod"
    assert public_url == f"{server}/asset-object/{body['asset_id']}"

    # the sandbox
    with requests.get(public_url, stream=True, timeout=30) as download:
        download.raise_for_status()
        target = tmp_path / "policy.zip"
        with open(target, "wb") as out:
            for chunk in download.iter_content(chunk_size=8192):
                out.write(chunk)
    with zipfile.ZipFile(target) as archive:
        archive.extractall(tmp_path / "unpacked")
    assert (tmp_path / "unpacked/policy/main.rego").read_text().startswith("package aios")


def test_the_spec_dataclass_builds_from_the_spec_view(server):
    """``AssetObject(**data)`` raised TypeError on our extra fields; ``?fields=spec`` gives
    exactly the spec's fields (the operator may make it the default)."""
    requests.post(
        f"{server}/asset",
        json={"asset_name": "ext", "asset_version": {"version": "1", "tag": "a"}},
        timeout=30,
    ).raise_for_status()
    data = requests.get(f"{server}/asset/ext:1-a", timeout=30).json()["data"]
    with pytest.raises(TypeError):
        AssetObject(**data)  # the rich default: revision and timestamps beside the spec's
    spec = requests.get(f"{server}/asset/ext:1-a?fields=spec", timeout=30).json()["data"]
    assert AssetObject(**spec).asset_uri == "ext:1-a"
    found = requests.post(f"{server}/assets?fields=spec", json={}, timeout=30).json()["data"]
    assert all(isinstance(AssetObject(**doc), AssetObject) for doc in found)
    entry = requests.post(
        f"{server}/asset_registry?check_health=false&fields=spec",
        json={"asset_registry_name": "r", "asset_registry_public_url": "https://r.example"},
        timeout=30,
    ).json()["data"]
    assert AssetsDBRegistry(**entry).asset_registry_name == "r"


def test_registry_health_checker_reads_healthy(server):
    """The original registry's checker calls a store's /health and reads the status code
    and ``message``."""
    response = requests.get(f"{server}/health", timeout=5)
    assert response.status_code == 200
    assert response.json()["message"] == "healthy"
    assert response.json()["success"] is True


def test_cluster_onboarding_registers_a_store_on_the_cluster_network(server):
    """The onboarding docs register a store at a LAN address (``http://192.168.0.106:31700``
    there). With the private ranges allowed by one setting, registration checks its
    /health and succeeds; here the store is this very server (a loopback address, allowed
    for the test in the same setting), since no test may reach a real LAN host."""
    response = requests.post(
        f"{server}/asset_registry",
        json={
            "asset_registry_name": "cluster-1 assets",
            "asset_registry_metadata": {"cluster": "cluster-1"},
            "asset_registry_tags": ["aios"],
            "asset_registry_public_url": server,
        },
        timeout=30,
    )
    assert response.status_code == 201, response.text
    registry_id = response.json()["asset_registry_id"]
    health = requests.get(f"{server}/check_health/{registry_id}", timeout=30)
    assert health.status_code == 200 and health.json()["success"] is True
    assert health.json()["data"]["message"] == "healthy"  # the store's own /health answer


def test_a_dead_store_is_not_reported_healthy(server):
    from live_server import free_port

    with open_registry(server) as registry:
        entry = registry.register(
            {
                "asset_registry_name": "dead",
                "asset_registry_public_url": f"http://127.0.0.1:{free_port()}",
            }
        )
    response = requests.get(f"{server}/check_health/{entry.asset_registry_id}", timeout=30)
    assert not response.ok and response.status_code == 503
    assert response.json()["success"] is False


def test_errors_carry_message_and_a_missing_file_part_is_400(server):
    response = requests.post(
        f"{server}/upload_asset",
        data={"asset_metadata": json.dumps({"asset_name": "x"})},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("No file part")
    missing = requests.get(f"{server}/asset/no-such:1-a", timeout=30)
    assert missing.status_code == 404 and missing.json()["message"]


def test_a_query_returns_every_match(server):
    """The original returned every match; so do we (no silent cut at 1,000)."""
    for i in range(1005):
        requests.post(
            f"{server}/asset",
            json={"asset_name": f"many/{i}", "asset_version": {"version": "1", "tag": "a"}},
            timeout=30,
        ).raise_for_status()
    found = requests.post(f"{server}/assets", json={"asset_name": {"$regex": "^many/"}}, timeout=60)
    assert found.status_code == 200
    assert len(found.json()["data"]) == 1005
