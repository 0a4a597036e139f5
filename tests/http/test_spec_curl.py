"""Every cURL command of the specification, run against a real ``assetstore serve``
subprocess, with the documented result.

The commands are the project's own test data (``data/spec_commands.txt``, read by
``spec_data.py``), recorded from the specification: this test reads nothing outside the
repository. They run unchanged except for what the specification leaves to the reader:
``<server-url>`` / ``<api-url>`` become the server's address, ``/path/to/your/file.png`` a real
file and ``<asset_id>`` a real id.

The real ``curl`` binary runs when it is installed (it is on the CI image); otherwise the
same request is rebuilt with httpx (`_httpx_curl`). The server runs with
``--no-register-health-check``: the specification registers https://example.com, which cannot
be reached from a test machine. The PUT registry example is not valid JSON
(``"framework": "TensorFlow" models,``); it must get a clear 422, not a 500.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from spec_data import spec_commands as recorded_commands

from assetstore import open_registry, open_store

REGISTRY_ID = "123e4567-e89b-12d3-a456-426614174000"
CURL = shutil.which("curl")


def spec_commands() -> list[str]:
    """The cURL commands of the specification, in order, as one string each."""
    return [command.command for command in recorded_commands()]


def argv(command: str, url: str, file: Path, asset_id: str) -> list[str]:
    command = (
        command.replace("http://<server-url>", url)
        .replace("http://<api-url>", url)
        .replace("/path/to/your/file.png", str(file))
        .replace("<asset_id>", asset_id)
    )
    return shlex.split(command.replace("\\\n", " "))


def _httpx_curl(args: list[str], cwd: Path) -> tuple[int, bytes]:
    """The request a curl command line would send (the options the spec uses)."""
    method, headers, data, form, output, target = "GET", {}, None, [], None, None
    items = iter(args[1:])
    for arg in items:
        if arg == "-X":
            method = next(items)
        elif arg == "-H":
            name, _, value = next(items).partition(":")
            headers[name.strip()] = value.strip()
        elif arg == "-d":
            data = next(items).encode()
            method = "POST" if method == "GET" else method
        elif arg == "-F":
            form.append(next(items))
        elif arg == "-o":
            output = cwd / next(items)
        else:
            target = arg
    files, fields = {}, {}
    for item in form:
        name, _, value = item.partition("=")
        if value.startswith("@"):
            path = Path(value[1:])
            files[name] = (path.name, path.read_bytes())
        else:
            fields[name] = value
    if files:
        headers.pop("Content-Type", None)  # curl -F sets the boundary itself
        response = httpx.request(method, target, headers=headers, files=files, data=fields)
    else:
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        response = httpx.request(method, target, headers=headers, content=data)
    if output is not None:
        output.write_bytes(response.content)
        return response.status_code, b""
    return response.status_code, response.content


def run(args: list[str], cwd: Path) -> tuple[int, Any]:
    """Run one command; (status, parsed JSON body or None)."""
    if CURL:
        done = subprocess.run(
            [CURL, "-sS", "-w", "\n%{http_code}", *args[1:]],
            cwd=cwd,
            capture_output=True,
            check=True,
            timeout=30,
        )
        body, _, status = done.stdout.rpartition(b"\n")
        code = int(status)
    else:
        code, body = _httpx_curl(args, cwd)
    return code, json.loads(body) if body.strip() else None


def test_the_recorded_commands_are_the_spec_endpoints():
    """Each recorded command calls the endpoint its header names, and every endpoint of the
    specification is there, in the specification's order."""
    commands = recorded_commands()
    assert [f"{c.method} {c.path}" for c in commands] == [
        "POST /upload_asset",
        "GET /asset/{asset_uri}",
        "PUT /asset/{asset_uri}",
        "DELETE /asset/{asset_uri}",
        "POST /assets",
        "POST /assets",
        "GET /asset-object/{asset_id}",
        "POST /asset",
        "GET /health",
        "POST /asset_registry",
        "GET /asset_registry/{id}",
        "PUT /asset_registry/{id}",
        "DELETE /asset_registry/{id}",
        "POST /asset_registries",
        "GET /check_health/{id}",
    ]
    for command in commands:
        args = shlex.split(command.command.replace("\\\n", " "))
        assert args[0] == "curl" and args[args.index("-X") + 1] == command.method
        target = next(a for a in args if "://" in a)
        route = "/" + target.split("/", 3)[3]
        prefix = command.path.split("{")[0]
        assert route.startswith(prefix), (route, command.path)


@pytest.fixture(scope="module")
def seeded(cli_server):
    """What the spec's later commands refer to: an image asset for the two queries and the
    download, and registry entries with the spec's fixed ids."""
    with open_store(cli_server.url) as client:
        image = client.upload(
            b"\x89PNG fake image bytes",
            name="ImageAsset",
            version="1.0",
            tag="initial",
            metadata={"type": "image"},
            tags=["sample"],
            filename="image.png",
        )
    with open_registry(cli_server.url) as registry:
        for registry_id in (REGISTRY_ID, f"tes-{REGISTRY_ID}"):
            registry.register(
                {
                    "asset_registry_id": registry_id,
                    "asset_registry_name": "Seeded registry",
                    "asset_registry_public_url": "https://example.com/models/resnet-models-registry",
                }
            )
    return image


def test_every_spec_command_gives_the_documented_result(cli_server, seeded, tmp_path):
    url, work = cli_server.url, tmp_path
    file = work / "file.png"
    file.write_bytes(b"\x89PNG sample asset upload")
    commands = iter(spec_commands())

    def next_command() -> tuple[int, Any]:
        return run(argv(next(commands), url, file, seeded.asset_id), work)

    # 1. upload: the original's top-level fields, the whole object under data, the real id
    code, body = next_command()
    assert code == 201, body
    assert body["success"] is True
    assert body["asset_uri"] == "SampleAsset:1.0-initial"
    assert body["data"]["asset_id"] == body["asset_id"] != ""
    assert body["public_url"] == f"{url}/asset-object/{body['asset_id']}"
    assert body["data"]["asset_file_info"]["filename"] == "file.png"
    assert body["data"]["asset_file_info"]["file_size"] == file.stat().st_size
    assert body["data"]["asset_tags"] == ["image", "sample"]
    assert httpx.get(body["public_url"]).content == file.read_bytes()

    # 2. get
    code, body = next_command()
    assert code == 200
    assert body["data"]["asset_metadata"] == {"description": "Sample asset upload"}

    # 3. update
    code, body = next_command()
    assert code == 200
    assert body["data"]["asset_metadata"] == {"description": "Updated asset description"}
    assert body["data"]["asset_tags"] == ["updated", "sample"]
    assert body["data"]["revision"] == 2

    # 4. delete
    code, body = next_command()
    assert code == 200 and body["success"] is True
    assert httpx.get(f"{url}/asset/SampleAsset:1.0-initial").status_code == 404

    # 5. and 6. the two queries find the image asset
    for _ in range(2):
        code, body = next_command()
        assert code == 200
        assert [a["asset_uri"] for a in body["data"]] == ["ImageAsset:1.0-initial"]
        assert body["total"] == 1 and body["next_skip"] is None

    # 7. download into ./downloaded_asset
    code, _ = next_command()
    assert code == 200
    assert (work / "downloaded_asset").read_bytes() == b"\x89PNG fake image bytes"

    # 8. external asset without a URL
    code, body = next_command()
    assert code == 201
    assert body["asset_uri"] == "Sample Asset:1.0-initial"
    assert body["data"]["asset_id"] == body["asset_id"] != ""
    assert body["data"]["asset_public_url"] == ""
    assert body["data"]["asset_source"] == "external"

    # 9. health
    code, body = next_command()
    assert code == 200 and body["success"] is True
    assert body["data"]["assets_db_id"]

    # 10. register a store: its real id comes back
    code, body = next_command()
    assert code == 201, body
    created = body["asset_registry_id"]
    assert len(created) == 36 and body["data"]["asset_registry_id"] == created
    assert (
        httpx.get(f"{url}/asset_registry/{created}").json()["data"]["asset_registry_name"]
        == "ResNet Models registry"
    )

    # 11. get by the spec's id
    code, body = next_command()
    assert code == 200
    assert body["data"]["asset_registry_id"] == REGISTRY_ID

    # 12. the spec's update body is not JSON: a clear 422, nothing changed
    code, body = next_command()
    assert code == 422
    assert body["success"] is False
    assert "not valid JSON" in body["error"]
    assert "\n" not in body["error"] and "Traceback" not in body["error"]
    assert httpx.get(f"{url}/asset_registry/{REGISTRY_ID}").json()["data"]["revision"] == 1

    # 13. delete
    code, body = next_command()
    assert code == 200 and body["success"] is True
    assert httpx.get(f"{url}/asset_registry/{REGISTRY_ID}").status_code == 404

    # 14. query registries: the entry made by command 10
    code, body = next_command()
    assert code == 200
    assert [e["asset_registry_id"] for e in body["data"]] == [created]

    # 15. health of a registered store: example.com is out of reach here, so the answer is
    # a 503 with success false (as the original's 500 for a dead store), the report in data
    code, body = next_command()
    assert code == 503 and body["success"] is False
    assert body["data"]["asset_registry_id"] == f"tes-{REGISTRY_ID}"
    assert body["data"]["status"] in ("unhealthy", "unreachable", "refused")
    assert next(commands, None) is None


def test_the_spec_update_with_fixed_json_works(cli_server, seeded):
    """The PUT example with its typo fixed does what the spec says."""
    with open_registry(cli_server.url) as registry:
        entry = registry.register(
            {"asset_registry_name": "tf", "asset_registry_public_url": "https://example.com/tf"}
        )
    response = httpx.put(
        f"{cli_server.url}/asset_registry/{entry.asset_registry_id}",
        json={
            "asset_registry_metadata": {"framework": "TensorFlow", "version": "2.0"},
            "asset_registry_tags": ["neural-network", "tensorflow"],
        },
    )
    assert response.status_code == 200
    assert response.json()["data"]["asset_registry_tags"] == ["neural-network", "tensorflow"]
